"""Every error answer in one shape: RFC 9457 problem details, sent as application/problem+json.

    {"type": "about:blank", "title": "Unprocessable Content", "status": 422,
     "detail": "layers[2].kernel_size: kernel_size 7 is larger than ...; use a smaller kernel",
     "errors": [{"path": "layers[2]", "field": "kernel_size", "message": "kernel_size 7 is ..."}]}

`detail` is always one human sentence (every problem of `errors` joined), so a client that shows
`detail` shows everything. `errors` lists each problem with where it is: a spec's layer `path`
and `field`; for a request field, `path` is where it sits (body, query, path, or deeper, as in
"body.augment") with `loc` the full location as a list and `type` the kind of problem.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse

MEDIA_TYPE = "application/problem+json"


def encodable(value):
    """What may echo the client's input: lone surrogates (from JSON's \\ud800) become escapes, so
    the response can be encoded as UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [encodable(v) for v in value]
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    return value


def _entry(item: Any) -> dict:
    """One problem as {path, field, message} (keeping loc and type of a request field's)."""
    if not isinstance(item, dict):
        return {"path": "", "field": None, "message": str(item)}
    if "loc" in item:
        loc = [str(p) for p in item.get("loc") or []]
        return {
            "path": ".".join(loc[:-1]),
            "field": loc[-1] if loc else None,
            "message": str(item.get("msg", "")),
            "loc": item.get("loc"),
            "type": item.get("type"),
        }
    return {"path": str(item.get("path") or ""), "field": item.get("field"), "message": str(item.get("message", ""))}


def _sentence(entry: dict) -> str:
    """'layers[2].kernel_size: message', or for a request field its place without 'body'."""
    if "loc" in entry:
        where = ".".join(str(p) for p in (entry["loc"] or []) if p != "body")
    else:
        where = entry["path"] + (f".{entry['field']}" if entry["field"] and entry["path"] else entry["field"] or "")
    return f"{where}: {entry['message']}" if where else entry["message"]


def problem(status: int, detail: Any) -> dict:
    """The problem document for `status`, from a detail that is a sentence or a list of problems."""
    errors = [_entry(d) for d in detail] if isinstance(detail, list) else []
    text = "; ".join(_sentence(e) for e in errors) if errors else str(detail)
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return encodable({"type": "about:blank", "title": title, "status": status, "detail": text, "errors": errors})


def problem_response(status: int, detail: Any, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(problem(status, detail), status_code=status, headers=headers, media_type=MEDIA_TYPE)


def problem_bytes(status: int, detail: Any) -> bytes:
    """The body, for the middlewares that answer with raw ASGI messages."""
    return json.dumps(problem(status, detail)).encode()


def document_problems(app) -> None:
    """Make the app's OpenAPI schema say what every error answers: problem details as
    application/problem+json (FastAPI would document its own 422 body as application/json)."""
    from fastapi.openapi.utils import get_openapi

    from .routers.responses import Problem

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in (
            Problem.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {}).items()
        ):
            components.setdefault(name, definition)
        components["Problem"] = {
            k: v
            for k, v in Problem.model_json_schema(ref_template="#/components/schemas/{model}").items()
            if k != "$defs"
        }
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
        for operation in (op for path in schema.get("paths", {}).values() for op in path.values()):
            for code, response in operation.get("responses", {}).items():
                if code[:1] in ("4", "5"):
                    response["content"] = {MEDIA_TYPE: ref}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
