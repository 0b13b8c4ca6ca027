"""What the Initialization lab takes and answers: a deep stack's settings, its measurement at
step 0 (app/services/init_lab.py measures it), and the two runs that train it without and with
batch norm."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .run_schemas import RunPublic
from .services import init_lab as svc
from .spec_schemas import Spec

Kind = Literal["linear", "conv2d"]
Activation = Literal[svc.ACTIVATIONS]
Init = Literal[svc.INITS]


class StackSettings(BaseModel):
    """A deep plain stack: depth x (weight layer, batch norm if asked, activation)."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = Field("linear", description="linear layers, or conv2d 3x3 (padding 1) on 8x8 maps")
    depth: int = Field(15, ge=svc.DEPTHS[0], le=svc.DEPTHS[1], description="weight layers in the stack")
    width: int = Field(
        64,
        ge=1,
        le=svc.WIDTHS["linear"][1],
        description="units of each linear layer (2 to 256), or channels of each conv2d (1 to 32)",
    )
    activation: Activation = "tanh"
    init: Init = Field("xavier_uniform", description="how every weight layer draws its weights; normal has std 1")

    def stack(self, **more) -> svc.Stack:
        return svc.Stack(**self.model_dump(include=set(StackSettings.model_fields)), **more)


class StackShape(StackSettings):
    """The stack as measured: its settings, and whether it has residual blocks and batch norm."""

    residual: bool = Field(False, description="wrap each unit in a residual block: y = x + unit(x)")
    batchnorm: bool = Field(False, description="batch norm after each weight layer, before its activation")


class StackMeasure(StackShape):
    n: int = Field(64, ge=2, le=1024, description="random standard-normal inputs, one batch")
    seed: int = Field(0, ge=0, lt=2**32, description="the weights' and the inputs' seed")


class ValuesHistogram(BaseModel):
    """A layer's finite values counted in bins: counts[i] between edges[i] and edges[i + 1]."""

    counts: list[int]
    edges: list[float]


class Values(BaseModel):
    """What the values of one layer look like, over every input and unit."""

    mean: float | None = Field(description="None when no value is finite")
    std: float | None
    zeros: float | None = Field(description="the share of values exactly 0")
    min: float | None
    max: float | None
    histogram: ValuesHistogram
    nonfinite: int = Field(description="values that overflowed to infinity or NaN")


class UnitStats(BaseModel):
    layer: int = Field(description="1 is the unit nearest the input")
    path: str = Field(description="the layer whose output is the unit's: its activation or residual block")
    pre_activation: Values = Field(description="what enters the activation: W x + b, or its batch-normalized form")
    activation: Values = Field(description="the unit's output")
    gradient: Values = Field(description="the gradient reaching the unit's output")


class StackStats(BaseModel):
    settings: StackShape
    n: int
    seed: int
    train_mode: bool = Field(description="batch norm normalizes with the batch's own statistics, as in training")
    spec: Spec = Field(description="the network measured (POST it to /api/networks to look further)")
    layers: list[UnitStats]
    activation_ratio: float | None = Field(description="std of the last unit's activations over the first's")
    gradient_ratio: float | None = Field(
        description="std of the gradient at the first unit over that at the last: its growth on the way back"
    )


class PairTraining(StackSettings):
    lr: float = Field(0.01, gt=0, le=1, description="SGD's learning rate (momentum 0.9), the same for both")
    seed: int = Field(0, ge=0, lt=2**32, description="the weights' seed and the order of the digits")
    epochs: int = Field(svc.EPOCHS, ge=1, le=svc.EPOCHS, description="passes over the digits; 1 for a quick look")
    examples: int | None = Field(
        None,
        ge=svc.FEWEST_EXAMPLES,
        le=svc.MAX_EXAMPLES,
        description="at most this many digits, a tenth of them kept to validate; by default as "
        "many as the stack trains on in seconds",
    )


class TrainedStack(BaseModel):
    batchnorm: bool
    network_id: str = Field(description="delete it when done: DELETE /api/networks/{network_id}")
    run: RunPublic = Field(description="follow it at /api/runs/{run.id}/events, or read it at /api/runs/{run.id}")


class PairRuns(BaseModel):
    dataset: str
    examples: int = Field(description="training digits used, a tenth of them kept to validate; fewer for a slow stack")
    epochs: int
    batch_size: int
    steps: int = Field(description="steps each run takes")
    stacks: list[TrainedStack] = Field(description="without batch norm, then with it")
