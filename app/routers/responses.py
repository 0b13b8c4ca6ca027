"""The error responses of the routes, documented once: each route lists the codes it can answer."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    """One problem, with where it is."""

    path: str = Field(
        description='a spec\'s layer path ("layers[2].body[0]", "input"), or where a '
        'request field sits ("body", "query", "body.augment")'
    )
    field: str | None = Field(description="the field at that path, when one is to blame")
    message: str = Field(description="what is wrong and how to fix it")
    loc: list[str | int] | None = Field(None, description="a request field's full location, as FastAPI gives it")
    type: str | None = Field(None, description="a request field's kind of problem")


class Problem(BaseModel):
    """Every error, as RFC 9457 problem details (application/problem+json)."""

    type: str = Field("about:blank", description="always about:blank: the status says the kind of problem")
    title: str = Field(description="the status's name")
    status: int
    detail: str = Field(description="one sentence: every problem, what was wrong and how to fix it")
    errors: list[FieldProblem] = Field(
        description="each problem apart, where the request names fields or a spec names layers; else empty"
    )


WHY = {
    400: "The body cannot be read: not UTF-8 JSON, or not valid multipart/form-data",
    403: "Not allowed: a teacher's route asked by a student, or a change the class's locks forbid",
    404: "No such network, run, dataset, preset, lesson or kind of exercise",
    409: "Not in the resource's present state: a network that is training, a run that has finished, "
    "a name that is taken, a built-in or busy dataset",
    413: "Too large: the body, or what the request would build or compute, is over one of the server's limits",
    422: "The request cannot work: the detail names each field (or spec layer path) and why",
    429: "Busy: the run queue is full, or too many clients follow a run; try again later",
    501: "This installation lacks an optional part (ONNX export): the detail says how to install it",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route decorator: the listed error codes, each a Problem."""
    return {code: {"model": Problem, "description": WHY[code]} for code in codes}  # as problem+json:
    # app.problems.document_problems


def attachment(name: str, suffix: str) -> dict[str, str]:
    """The Content-Disposition of a download named after a network. Header values are Latin-1,
    so the real name goes percent-encoded in filename* (RFC 5987, RFC 6266), which browsers
    prefer, and an ASCII fallback in filename for older clients."""
    real = re.sub(r"[/\\]", "_", name)  # a name is not a path on the client's disk
    ascii_name = unicodedata.normalize("NFKD", real).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("._")[:60] or "network"
    return {
        "Content-Disposition": f'attachment; filename="{fallback}{suffix}"; '
        f"filename*=UTF-8''{quote(real + suffix, safe='')}"
    }
