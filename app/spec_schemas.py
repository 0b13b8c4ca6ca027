"""The network spec's schema, built from the engine's layer registry: one model per layer type,
from the fields the layer class lists (the same fields that check a spec and fill the page's
forms), joined in a union discriminated on `type`; residual and concat blocks nest it. A new
layer type shows up here with no edit.

Documentation only: `Spec` is passed through as it is and the engine checks it (its messages name
the layer path and the fix), so this schema never rejects a request or a stored spec."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from engine import REGISTRY
from engine.layers.fields import COMMON
from engine.layers.fields import Field as LayerField
from engine.layers.shape import MAX_SIZE
from engine.spec import MAX_CHANNELS, MAX_DESCRIPTION, MAX_NAME

from .documented import Documented

STR_MAX = 100  # what engine.layers.fields checks for a "str" field
# a spec is the same going in and coming out: one schema (not NetworkSpec-Input and -Output)
CONFIG = ConfigDict(extra="forbid", json_schema_mode_override="validation")


def _bounded(kind: type, field: LayerField) -> Any:
    rules: dict[str, Any] = {}
    if field.min is not None:
        rules["ge"] = field.min
    if field.max is not None:
        rules["lt" if field.exclusive_max else "le"] = field.max
    return Annotated[kind, Field(**rules)] if rules else kind


def _annotation(field: LayerField) -> Any:
    """The Python type of one layer field, by its kind (as Field.parse reads it)."""
    kind = field.kind
    if kind == "int":
        return _bounded(int, field)
    if kind == "float":
        return _bounded(float, field)
    if kind == "bool":
        return bool
    if kind == "str":
        return Annotated[str, Field(max_length=STR_MAX)]
    if kind == "choice":
        return Literal[field.choices]
    if kind in ("int2", "padding"):
        one = _bounded(int, field)
        pair = Annotated[list[one], Field(min_length=2, max_length=2, description="[height, width]")]
        return one | pair | Literal["same", "valid"] if kind == "padding" else one | pair
    if kind == "layers":
        return list["Layer"]
    if kind == "branches":
        return Annotated[list[list["Layer"]], Field(min_length=1, description="each branch a list of layers")]
    raise AssertionError(f"no schema for the layer field kind {kind!r}: add it to app/spec_schemas.py")


def _layer_model(layer_type: str, cls) -> type[BaseModel]:
    fields: dict[str, Any] = {"type": (Literal[layer_type], ...)}
    for field in cls.fields + COMMON:
        annotation = _annotation(field)
        if field.required:
            fields[field.name] = (annotation, Field(description=field.help or None))
        else:  # null, or leaving the field out, means its default
            fields[field.name] = (annotation | None, Field(field.default, description=field.help or None))
    name = "".join(part.capitalize() for part in layer_type.split("_")) + "Layer"
    return create_model(name, __config__=CONFIG, __doc__=cls.summary_doc or cls.__doc__ or layer_type, **fields)


LAYER_MODELS = [_layer_model(t, cls) for t, cls in REGISTRY.items()]
Layer = Annotated[Union[tuple(LAYER_MODELS)], Field(discriminator="type")]  # noqa: UP007 (a tuple of models)
for _model in LAYER_MODELS:
    _model.model_rebuild(_types_namespace={"Layer": Layer})

Channels = Annotated[int, Field(ge=1, le=MAX_CHANNELS)]
Size = Annotated[int, Field(ge=1, le=MAX_SIZE)]
Features = Annotated[int, Field(ge=1, le=MAX_SIZE * MAX_SIZE)]


class NetworkSpec(BaseModel):
    """A network: its input shape and its layers, each a layer type's fields (GET /api/layers)."""

    model_config = CONFIG

    input: tuple[Channels, Size, Size] | tuple[Features] = Field(description="[channels, height, width] or [features]")
    layers: list[Layer]
    name: str | None = Field(None, max_length=MAX_NAME)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    seed: int | None = Field(
        None, ge=0, lt=2**32, description="the seed its weights are drawn with, when built from this spec without one"
    )


class SpecFile(NetworkSpec):
    """A network's .json export: its spec, with its name and seed (POST /api/networks/import takes it back)."""

    seed: int = Field(ge=0, lt=2**32, description="the seed its weights were drawn with")


# a network spec as requests send it and responses give it: checked by the engine, typed in /docs
Spec = Annotated[dict[str, Any], Documented(NetworkSpec)]
