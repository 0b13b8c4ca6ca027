"""A value the service passes through as it is, shown in the OpenAPI schema as a model.

For JSON that another owner checks or that was stored by an older server: the engine validates a
network spec and names the failing layer path, a run's history is what its trainer wrote. Typing
such a field as the model itself would make pydantic check it again, with other messages on the
way in and a 500 for an old row on the way out; `Documented(Model)` keeps the value untouched and
only lends /docs and generated clients the model's schema. Tests check real responses against it.
"""

from __future__ import annotations

from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, TypeAdapter
from pydantic_core import core_schema


class Documented:
    """Annotated[dict[str, Any], Documented(Model)]: validated as the bare type, documented as Model
    (or as any type pydantic takes: list[Model], Model | None)."""

    def __init__(self, model: Any):
        self.model = model

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return handler(source)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler):
        schema = getattr(self.model, "__pydantic_core_schema__", None) or TypeAdapter(self.model).core_schema
        if "ref" in schema:  # a model by reference: a named component in /docs, not a copy inlined
            schema = core_schema.definitions_schema(core_schema.definition_reference_schema(schema["ref"]), [schema])
        return handler(schema)
