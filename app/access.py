"""Who is asking, and what they may see: the one place that decides.

Every request has a principal, set by the security middleware (app/security.py) before any
route runs: the owner (the teacher, or the single user of a playground without classes), a
student (by the cookie the join gave, or a bearer token), or no one yet (off loopback,
without credentials: only the page, its files and joining are open). Services ask here:
`visible(row's student_id)` for a record (a student sees only their own, the owner every
one; whatever a student may not see answers 404, as if it did not exist), `mine()` for the
student id new records get, and `require_teacher()` for the teacher's routes (403).
Outside a request (workers, the command line, tests calling services) it is the owner.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from .errors import Forbidden


@dataclass(frozen=True)
class Principal:
    kind: str  # "owner", "student" or "anonymous"
    student_id: str | None = None
    class_id: str | None = None
    name: str | None = None

    @property
    def is_student(self) -> bool:
        return self.kind == "student"

    @property
    def is_owner(self) -> bool:
        return self.kind == "owner"


OWNER = Principal("owner")
ANONYMOUS = Principal("anonymous")

_current: ContextVar[Principal] = ContextVar("principal", default=OWNER)


def current() -> Principal:
    return _current.get()


def acting_as(principal: Principal):
    """Set the principal for what follows in this context; returns the token to reset it with."""
    return _current.set(principal)


def reset(token) -> None:
    _current.reset(token)


def mine() -> str | None:
    """The student id a new record is made for (None: the owner's)."""
    return current().student_id


def visible(owner_student_id: str | None) -> bool:
    """Whether the principal may see a record made by `owner_student_id` (None: the owner's)."""
    p = current()
    return p.is_owner or (p.is_student and owner_student_id == p.student_id)


def shared_or_mine(owner_student_id: str | None) -> bool:
    """For what a teacher shares with the class (an uploaded dataset): the owner's is everyone's."""
    return owner_student_id is None or visible(owner_student_id)


def require_teacher(what: str) -> None:
    if not current().is_owner:
        raise Forbidden(f"only the teacher can {what}")


class OpenPolicy:
    """What services check before a student's action, with no class and so no locks: everything
    passes. The classroom's ClassPolicy (app/classroom/policy.py) is the one that refuses."""

    def view(self, view: str) -> None:
        pass

    def spec_change(self, spec: dict | None, what: str) -> None:
        pass

    def run(self, config: dict, dataset: str) -> None:
        pass
