"""What the catalogue, preset and summary routes answer: one model per response, so /docs and
generated clients show real types. A network spec is checked by the engine (which names the failing
layer path) and typed from the layer registry (spec_schemas.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .routers.responses import FieldProblem
from .spec_schemas import Spec

# an int stays an int in the JSON (a bare float would turn 1 into 1.0)
Number = int | float


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LayerField(Body):
    """One field of a layer type, as the page's form shows it."""

    name: str
    kind: str = Field(description="int, int2, float, bool, str, choice, padding, ...")
    required: bool
    help: str
    default: Any = Field(None, description="sent when the field is optional")
    min: Number | None = None
    max: Number | None = None
    exclusive_max: bool | None = Field(None, description="sent with max")
    choices: list[str | int | float] | None = None


class LayerType(Body):
    type: str
    doc: str
    has_params: bool
    fields: list[LayerField]


class PresetListed(Body):
    name: str
    title: str
    description: str
    note: str | None = Field(description="how a famous network here differs from its paper")
    dataset: str | None = Field(description="the dataset it is made for")
    trainable_on_cpu: bool
    year: int | None
    input: list[int] = Field(description="[C, H, W]")
    params: int


class Presets(Body):
    presets: list[PresetListed]
    default_for_dataset: dict[str, str] = Field(description="dataset name -> the preset the page starts from")


class LayerSummary(Body):
    path: str
    type: str
    name: str | None
    depth: int = Field(description="how deep in blocks (residual, concat) the layer sits")
    block: bool
    input_shape: list[int]
    output_shape: list[int]
    params: int
    params_trainable: int
    params_frozen: int
    param_shapes: dict[str, list[int]]
    param_formula: str | None
    buffers: int
    macs: int = Field(description="multiply-adds for one example")
    receptive_field: list[int] = Field(description="[height, width] in input pixels")
    activation_bytes: int
    formulas: list[str] = Field(description="how each output size is computed")
    trainable: bool
    warnings: list[str]
    receptive_field_note: str | None = Field(
        None, description="for an image input: why the receptive field is wider than the image, else null"
    )


class Totals(Body):
    params: int
    params_trainable: int
    params_frozen: int
    buffers: int
    macs: int
    activation_bytes: int
    param_bytes: int
    layers: int


class Summary(Body):
    """A spec's summary: shapes, parameters with formulas, multiply-adds, receptive fields."""

    input: list[int]
    output: list[int]
    layers: list[LayerSummary]
    totals: Totals
    warnings: list[str]


class Validated(Summary):
    valid: bool = Field(description="true: the spec builds")
    buildable: bool = Field(description="false: over this server's parameter limit (it can be studied, not trained)")
    why_not_buildable: str | None = Field(None, description="sent when not buildable")


class Invalidated(Body):
    """With ?report=true, a spec that cannot work."""

    valid: bool = Field(description="always false")
    errors: list[FieldProblem]


class Preset(Body):
    name: str
    title: str | None = None
    description: str | None = None
    input: str | None = Field(None, description="the dataset the preset is made for")
    trainable_on_cpu: bool | None = None
    year: int | None = None
    note: str | None = None
    spec: Spec = Field(description="a network spec")
    summary: Summary
    adapted_to: str | None = Field(description="the dataset named by ?dataset=")
