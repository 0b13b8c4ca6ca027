"""What the run routes answer: a run with its config, metrics, evaluation and history, its weight
histograms, its metric rows.

A run's config, metrics, evaluation and events are stored JSON, passed through as stored (a row
written by an older server must never turn into a 500): they are `Documented`, typed in /docs by
the models here, and tests check real runs against them."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal, Union, get_args, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from engine.train import TrainConfig

from .documented import Documented
from .runs.status import RunStatus
from .schemas import RunCreate

Stored = dict[str, Any]


def _run_config() -> type[BaseModel]:
    """RunCreate's options (the owner of every run option, served at GET /api/train/options) but
    the dataset, which a run shows apart, and the trainer's settings no request sets (its loss)."""
    hints = get_type_hints(TrainConfig)
    fields: dict[str, Any] = {}
    for name, info in RunCreate.model_fields.items():
        if name == "dataset":
            continue
        # the trainer may keep None where a request gives a value (momentum: the optimizer's own)
        can_be_none = type(None) in get_args(hints.get(name)) and type(None) not in get_args(info.annotation)
        fields[name] = (info.annotation | None if can_be_none else info.annotation, info)
    for option in dataclasses.fields(TrainConfig):
        if option.name not in fields:
            fields[option.name] = (hints[option.name], Field(option.default, description="set by the server"))
    return create_model(
        "RunConfig",
        __config__=ConfigDict(extra="forbid"),
        __doc__="The options the run was started with, every one filled in (augment: only those set).",
        **fields,
    )


RunConfig = _run_config()


class RunMetrics(BaseModel):
    """The run's numbers: as of its last epoch while it goes on, its final ones once it ended."""

    train_loss: float | None = Field(None, description="over the last epoch's batches")
    train_accuracy: float | None = None
    val_loss: float | None = Field(None, description="on the validation examples kept aside")
    val_accuracy: float | None = None
    test_accuracy: float | None = Field(None, description="on the test split, once the run ended")
    test_loss: float | None = None
    epochs: int | None = Field(None, description="epochs finished")


class MostConfused(BaseModel):
    """A wrong prediction made with high confidence."""

    index: int = Field(description="among the validation examples")
    true: int
    predicted: int
    confidence: float
    split: str | None = Field(None, description="where the example is in the dataset: its split...")
    dataset_index: int | None = Field(None, description="... and its index there")


class ConfusedPair(BaseModel):
    true: int
    predicted: int
    count: int


class Diagnosis(BaseModel):
    """Said when the loss grew, the validation set is too small to judge, the network collapsed to
    one class, or it learned nothing."""

    kind: Literal["loss_grew", "too_few_examples", "collapsed", "not_learning"]
    message: str
    class_: int | None = Field(alias="class", description="the class it answers most (None: no validation)")
    share: float | None = Field(description="of the answers that are that class")
    accuracy: float | None
    chance: float | None = Field(description="what always answering the commonest class gives")
    loss: float | None = Field(description="on the validation examples")
    even_guess_loss: float = Field(description="ln(classes)")
    high_learning_rate: bool
    first_loss: float | None = Field(None, description="the loss of the run's first step, before any learning")
    train_loss: float | None = Field(None, description="the last epoch's training loss")


class Evaluation(BaseModel):
    """The final network on the validation examples."""

    n: int = Field(description="examples evaluated")
    accuracy: float | None
    loss: float | None
    confusion: list[list[int]] = Field(description="confusion[i][j]: examples of class i predicted as j")
    per_class_accuracy: list[float | None] = Field(description="None for a class with no example")
    most_confused: list[MostConfused]
    confused_pairs: list[ConfusedPair] = Field(description="the (true, predicted) pairs most often mixed up")
    diagnosis: Diagnosis | None = None


class RunNetwork(BaseModel):
    """What a run's config does not say of the network it trains, as it was when the run started."""

    dropout: list[float] = Field(description="p of each dropout layer (a layer field, not a run option)")
    params: int = Field(description="trainable and other parameters")


class Event(BaseModel):
    seq: int | None = Field(None, description="1, 2, 3, ... per run")


class StatusEvent(Event):
    """The run's state changed; the first of a run (queued) says what network it trains."""

    type: Literal["status"]
    status: RunStatus
    step: int
    message: str | None = None
    network: RunNetwork | None = None


class BatchEvent(Event):
    """One training step (thinned: a few per second)."""

    type: Literal["batch"]
    step: int
    epoch: int
    batch: int
    batches: int = Field(description="batches in an epoch")
    loss: float | None
    accuracy: float
    samples_per_s: float | None
    lr: float
    progress: float = Field(description="0 to 1 over the whole run")


class EpochEvent(Event):
    """An epoch ended."""

    type: Literal["epoch"]
    epoch: int
    epochs: int
    step: int
    train_loss: float | None
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    elapsed: float = Field(description="seconds since the run started")
    lr: float = Field(description="the learning rate of the epoch's first step (a cosine schedule lowers it within it)")


class WeightHistogram(BaseModel):
    """Weights in `bins` equal bins over -range..range; the middle bin is centred on 0."""

    range: float = Field(
        description="the bins cover -range..range: a round number (1, 1.5, 2, 3, "
        "4, 5, 6 or 8 times a power of 10), the smallest at least the "
        "99.5th percentile of |w| and a quarter of the largest |w|"
    )
    counts: list[int] = Field(description="weights in each bin, from -range up")
    below: int = Field(0, description="weights below -range (in no bin)")
    above: int = Field(0, description="weights above range (in no bin)")
    n: int = Field(description="weights in all")
    nonfinite: int = Field(0, description="NaN or infinite weights (not in any bin)")
    mean: float | None
    std: float | None = Field(description="their spread: L2 makes it smaller")
    min: float | None
    max: float | None
    zeros: float = Field(description="the share of weights exactly 0")
    near_zero: float = Field(
        description="the share of weights with |w| below near_zero_below: "
        "where L1 leaves the weights it pulled to 0 (its steps "
        "make them hover there)"
    )


class LayerWeights(WeightHistogram):
    path: str = Field(description="the layer's path in the spec, e.g. layers[3]")
    type: str
    name: str | None = None


class WeightSnapshot(BaseModel):
    type: Literal["weights"] = "weights"
    at: Literal["start", "epoch", "end"] = Field(
        description="start: before the first step; epoch: at an epoch's checkpoint; end: the "
        "weights the run kept, when they are not an epoch's (stopped mid-epoch, or "
        "early stopping's best)"
    )
    epoch: int = Field(description="epochs finished")
    step: int
    seq: int | None = Field(None, description="its place among the run's events")
    all: WeightHistogram = Field(description="every layer's weights together")
    layers: list[LayerWeights] = Field(description="each layer with weights W (not its biases)")


class WeightsEvent(WeightSnapshot):
    """A histogram of the weights: at the start, after epochs, at the end."""

    type: Literal["weights"]
    bins: int
    near_zero_below: float


class DoneEvent(Event):
    """The run ended (completed, stopped, diverged, interrupted)."""

    type: Literal["done"]
    status: RunStatus
    message: str | None = None
    steps: int | None = None
    metrics: RunMetrics | None = None
    evaluation: Evaluation | None = None


class ErrorEvent(Event):
    """The run failed; message says why."""

    type: Literal["error"]
    status: RunStatus
    message: str | None = None


RunEvent = Annotated[
    Union[StatusEvent, BatchEvent, EpochEvent, WeightsEvent, DoneEvent, ErrorEvent],  # noqa: UP007
    Field(discriminator="type"),
]


class RunPublic(BaseModel):
    id: str
    network_id: str
    dataset: str
    config: Annotated[Stored, Documented(RunConfig)]
    status: RunStatus = Field(
        description="queued, running, paused; or how it ended: completed, stopped, diverged, "
        "failed, interrupted (the server stopped; `resume` goes on from the "
        "last checkpoint)"
    )
    message: str | None = None
    created: float
    started: float | None = None
    finished: float | None = None
    steps: int = 0
    epoch: int = Field(0, description="epochs finished (for an interrupted run: those its checkpoint holds)")
    epochs: int | None = Field(None, description="epochs planned")
    resumable: bool = Field(False, description="whether POST .../resume applies (paused or interrupted)")
    request: Literal["pause", "resume", "stop"] | None = Field(
        None, description="a request waiting for the server that runs it"
    )
    metrics: Annotated[Stored, Documented(RunMetrics)] | None = None
    evaluation: Annotated[Stored, Documented(Evaluation)] | None = None
    checkpoint: str | None = None
    last_batch: Annotated[Stored, Documented(BatchEvent)] | None = Field(
        None, description="while it runs: its latest step"
    )
    network: RunNetwork | None = Field(
        None, description="the network it trains (None for a run from before runs kept it)"
    )
    history: Annotated[list[Stored], Documented(list[RunEvent])] | None = Field(
        None, description="its events, oldest first, as GET /api/runs/{id}/events sends them"
    )


class MetricRow(BaseModel):
    """One epoch's (or batch's) metrics; the batch rows carry loss, accuracy and progress instead
    of the train_ and val_ columns."""

    model_config = ConfigDict(extra="allow")

    epoch: int
    step: int
    epochs: int | None = None
    train_loss: float | None = None
    train_accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    lr: float | None = None
    elapsed: float | None = Field(None, description="seconds since the run started")


class RunWeights(BaseModel):
    run_id: str
    status: RunStatus
    bins: int
    near_zero_below: float
    snapshots: list[WeightSnapshot] = Field(
        description="oldest first: the start, then every epoch (every few epochs of a long run, "
        "and the last), then the end"
    )
