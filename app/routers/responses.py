"""The error responses of the routes, documented once: each route lists the codes it can answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    """Every error: what was wrong and how to fix it."""

    detail: str | list[dict[str, Any]] = Field(
        description="a sentence; or, for a request that cannot work, one entry per problem: "
                    "FastAPI's {loc, msg, type} or a spec's {path, field, message}")


WHY = {
    400: "The body cannot be read: not UTF-8 JSON, or not valid multipart/form-data",
    403: "Not allowed: a teacher's route asked by a student, or a change the class's locks forbid",
    404: "No such network, run, dataset, preset, lesson or kind of exercise",
    409: "Not in the resource's present state: a network that is training, a run that has finished, "
         "a name that is taken, a built-in or busy dataset",
    413: "Too large: the body, or what the request would build or compute, is over one of the server's limits",
    422: "The request cannot work: the detail names each field (or spec layer path) and why",
    429: "Busy: the run queue is full, or too many clients follow a run; try again later",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route decorator: the listed error codes, each with ErrorDetail."""
    return {code: {"model": ErrorDetail, "description": WHY[code]} for code in codes}
