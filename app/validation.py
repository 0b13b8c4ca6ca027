"""FastAPI's validation errors made to say how to fix them: an unknown key lists the keys the
object takes, and a NaN or infinity is called what it is rather than compared with a bound."""

from __future__ import annotations

from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel


def _model_at(model: Any, path: list) -> type[BaseModel] | None:
    """The pydantic model found by following `path` (field names, list indexes) from `model`."""
    for key in path:
        model = _unwrap(model)
        if isinstance(key, int):
            args = get_args(model)
            model = args[0] if args else None
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = next((f for name, f in model.model_fields.items() if key in (name, f.alias)), None)
        if field is None:
            return None
        model = field.annotation
    model = _unwrap(model)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """X from X | None."""
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def body_model(route) -> Any:
    field = getattr(route, "body_field", None)
    return getattr(getattr(field, "field_info", None), "annotation", None)


def explained(error: dict, body: Any) -> str:
    """The error's message, with the fix where pydantic's words leave it out."""
    loc, kind, msg = list(error.get("loc", [])), error.get("type"), error.get("msg")
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "extra_forbidden" and loc[:1] == ["body"] and body is not None:
        # a single body model is not embedded: its fields follow "body" directly
        model = _model_at(body, loc[1:-1])
        if model is not None:
            keys = [f.alias or name for name, f in model.model_fields.items()]
            where = loc[-2] if len(loc) > 2 and isinstance(loc[-2], str) else "the body"
            return f"{msg}: {where} takes {', '.join(keys)}"
    return msg
