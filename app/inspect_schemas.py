"""What the Inspect routes answer: one model per response, so /docs and generated clients show
real types. Computed numbers are null where not finite. Arrays travel as base64 (`data`) with their `shape`, `encoding` and, for floats,
their numpy `dtype`; PNGs as data URLs.

Every model here documents the fields the server sends; a route returns them with
response_model_exclude_unset, so a field a branch does not send stays absent rather than null.
A field a service sends and its model does not name is an error (500), which the tests catch:
the schema says everything that comes back.
"""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

# a number the server computed: null where it is not finite (NaN or infinite weights), as
# JSON has no NaN
Num = float | None
# numbers nested as deep as their tensor's shape: [[1.0, 2.0], [3.0, null]]
NestedNumbers = TypeAliasType("NestedNumbers", list[Union[float, "NestedNumbers", None]])


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Ranked(Body):
    """A class and its probability."""

    class_: str = Field(alias="class")
    index: int
    probability: Num


class Prediction(Body):
    probabilities: list[Num] = Field(description="one per output, summing to 1")
    class_names: list[str]
    predicted: int = Field(description="the index of the most probable class")
    top: list[Ranked] = Field(description="the (at most) five most probable classes, best first")
    fit_warning: str | None = Field(None, description="set when the network's outputs and the dataset's classes differ")
    label: int | None = Field(None, description="a dataset sample's true class")


class WeightsState(Body):
    """Whether a run has trained the weights read."""

    state: Literal["untrained", "imported", "training", "trained"] = Field(
        description="imported: the weights came in a file (trained elsewhere, or not at all)"
    )
    runs: int = Field(description="runs that left their weights in the network")
    epochs: int
    steps: int
    run: str | None = Field(description="the run training now, else the last that trained")
    status: str | None = Field(description="the active run's status")


class PredictOut(Prediction):
    weights: WeightsState | None = None


class PredictBatchOut(Body):
    predictions: list[Prediction] = Field(description="in the order of the inputs")
    weights: WeightsState


class Normalization(Body):
    """How a 0-255 image becomes what the first layer sees: (value/255 - mean) / std per channel."""

    mean: list[Num]
    std: list[Num]
    text: str


class FeatureMap(Body):
    path: str
    type: str
    name: str | None = None
    shape: list[int]
    min: Num
    max: Num
    mean: Num = None
    encoding: Literal["uint8", "float16"] = Field(
        description="uint8: values mapped from scale[0]..scale[1] onto 0..255; float16: little-endian"
    )
    scale: list[Num] | None = None
    dtype: str | None = None
    data: str = Field(description="base64 of the array in C order")


class ActivationsOut(Body):
    input_shape: list[int]
    layers: list[FeatureMap]
    normalization: Normalization


class Window(Body):
    kernel: list[int]
    stride: list[int]
    padding: list[int]


class OverviewMap(FeatureMap):
    window: Window | None = Field(None, description="for a layer that slides a window")
    groups: int | None = Field(None, description="for a convolution")


class OverviewOut(Body):
    input_shape: list[int]
    layers: list[OverviewMap] = Field(description="the input, then every layer's output, as float16")
    prediction: Prediction | None = Field(description="when the network ends in class scores")
    weights: WeightsState
    normalization: Normalization


class Histogram(Body):
    counts: list[int]
    edges: list[Num]


class Described(Body):
    """An array summed up: mean, std, the fraction of exact zeros, range, histogram."""

    mean: Num
    std: Num
    zeros: Num
    min: Num
    max: Num
    histogram: Histogram
    nonfinite: int = Field(description="NaN and infinite entries, left out of the rest")


class Tensor(Described):
    shape: list[int]
    norm: Num
    encoding: str | None = None
    scale: list[Num] | None = None
    data: str | None = None
    values: NestedNumbers | None = Field(None, description="the numbers themselves, for a small tensor")


class LayerWeightsBrief(Body):
    path: str
    type: str
    name: str | None
    trainable: bool
    params: dict[str, list[int]] = Field(description="parameter name -> shape")
    has_grads: bool


class LayerWeightsDetail(Body):
    """One layer's weights: a conv2d's filters with its window, else each parameter."""

    path: str
    type: str
    name: str | None
    trainable: bool
    filters: Tensor | None = None
    bias: list[Num] | None = None
    grad: Tensor | None = None
    bias_grad: list[Num] | None = None
    kernel_size: list[int] | None = None
    stride: list[int] | None = None
    padding: list[int] | None = None
    params: dict[str, Tensor | None] | None = None
    grads: dict[str, Tensor | None] | None = None


class WeightsList(Body):
    layers: list[LayerWeightsBrief] = Field(description="every layer with weights")


class ParamStats(Body):
    std: Num
    grad_norm: Num


class LayerStats(Body):
    path: str
    type: str
    name: str | None
    activation: Described
    gradient: Described | None
    params: dict[str, ParamStats]


class StatsOut(Body):
    dataset: str | None
    n: int
    train: bool
    labels: bool
    layers: list[LayerStats]


class SignedGradient(Body):
    shape: list[int]
    min: Num
    max: Num
    encoding: Literal["float32"]
    data: str


class SaliencyOut(Body):
    cls: int = Field(alias="class")
    class_name: str
    shape: list[int]
    encoding: Literal["uint8"]
    map: str = Field(description="|gradient|, the largest over channels, as uint8 over min..max (base64)")
    min: Num
    max: Num
    png: str
    gradient: SignedGradient = Field(description="the gradient summed over channels, with its sign")


class OcclusionOut(Body):
    cls: int = Field(alias="class")
    class_name: str
    baseline: Num = Field(description="the class's probability with nothing covered")
    patch: int
    stride: int
    fill: str
    fill_value: list[Num]
    fill_pixel: list[Num]
    shape: list[int]
    map: list[list[Num]] = Field(description="the drop in probability with each patch covered")
    min: Num
    max: Num
    png: str


class GradcheckRow(Body):
    key: str
    shape: list[int]
    checked: int
    max_rel_error: Num
    max_abs_error: Num
    ok: bool


class GradcheckOut(Body):
    rows: list[GradcheckRow]
    ok: bool
    threshold: Num
    n: int
    train: bool
    seed: int


class Box(Body):
    top: int
    left: int
    bottom: int
    right: int


class TheoreticalField(Box):
    size: list[int]
    unclipped: Box
    clipped: Box
    text: str


class SquareField(Box):
    size: list[int]


class EffectiveField(Body):
    shape: list[int]
    encoding: Literal["float32"]
    dtype: str
    map: str
    max: Num
    total: Num
    within_90: list[int] | None = None
    square: SquareField | None = None
    share: Num = None


class ReceptiveFieldOut(Body):
    layer: str
    type: str
    name: str | None
    channel: int
    row: int
    col: int
    value: Num
    theoretical: TheoreticalField
    effective: EffectiveField
    text: str


class Picture(Body):
    min: Num
    max: Num
    mean: Num
    data: str


class Mask(Body):
    encoding: Literal["uint8"]
    data: str
    meaning: str


class DropoutOut(Body):
    layer: str
    name: str | None
    shape: list[int]
    p: Num
    scale: Num = Field(description="1/(1 - p): what the survivors are multiplied by in training")
    seed: int
    units: int
    dropped: int
    dropped_fraction: Num
    encoding: Literal["float32"]
    dtype: str
    input: Picture
    train_output: Picture
    eval_output: Picture
    mask: Mask
    text: str


class Pixels(Body):
    shape: list[int]
    encoding: str
    dtype: str
    data: str
    png: str | None = None
    meaning: str | None = None


class GrownImage(Body):
    channel: int = Field(description="the channel (or class, or unit) grown for")
    class_name: str | None = Field(None, description="for a class of the dataset")
    png: str
    activation: list[Num]
    start: Num
    final: Num


class AscentSettings(Body):
    lr: Num
    jitter: int
    blur: Num
    l2: Num
    seed: int


class FeatureVisualizationOut(Body):
    layer: str
    type: str
    name: str | None
    output_shape: list[int]
    layer_channels: int
    kind: str
    objective: str
    measures: str
    steps: int
    steps_asked: int
    stopped: str | None
    seconds: Num
    settings: AscentSettings
    images: list[GrownImage]
    pixels: Pixels
    pixel_range: list[Num]


class Counts(Body):
    values: int
    moved: int
    clipped: int
    still: int


class Change(Body):
    max: Num
    mean: Num


class AdversarialOut(Body):
    epsilon: Num
    scale: str
    targeted: bool
    target: int | None
    cls: int = Field(alias="class")
    class_name: str
    original: Pixels
    perturbation: Pixels
    perturbed: Pixels
    counts: Counts
    change: Change
    loss_before: Num
    loss_after: Num
    before: Prediction
    after: Prediction
    flipped: bool


class Numbers(Body):
    shape: list[int]
    min: Num
    max: Num
    values: NestedNumbers = Field(description="nested lists of the given shape")


class UnitWeights(Body):
    """The weights one unit reads with: a conv filter (in_channels / groups, kh, kw) or a linear row."""

    path: str
    type: str
    name: str | None
    unit: int
    weights: Numbers
    grad: Numbers | None
    bias: Num
    bias_grad: Num
    reads: list[int] | None = Field(None, description="a conv filter's input channels, [first, last + 1)")
    kernel_size: list[int] | None = None
    stride: list[int] | None = None
    padding: list[int] | None = None
