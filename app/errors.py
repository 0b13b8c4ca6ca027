"""Domain errors the services raise; main.py maps each to its HTTP status."""

from __future__ import annotations


class AppError(Exception):
    status = 400

    def __init__(self, detail):
        self.detail = detail
        super().__init__(detail if isinstance(detail, str) else repr(detail))


class NotFound(AppError):
    status = 404


class Forbidden(AppError):
    """Known, but not allowed: a student at a teacher's route, or past a lock the teacher set (403)."""

    status = 403


class Conflict(AppError):
    status = 409


class Invalid(AppError):
    """The request is well-formed but its content cannot work (422)."""

    status = 422


class TooLarge(AppError):
    status = 413


class Busy(AppError):
    """The run queue is full (429)."""

    status = 429


class Unavailable(AppError):
    """An optional part this installation lacks (501); the detail says how to install it."""

    status = 501
