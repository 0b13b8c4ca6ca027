"""Request and response bodies. The network spec itself stays a plain JSON
object: the engine validates it and names the failing layer path, which a
pydantic union could not do as precisely."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from .runs.status import RunStatus
from .services.networks import NAME_MAX, check_network_name

Spec = dict[str, Any]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _network_name(name: str) -> str:
    try:
        return check_network_name(name)
    except ValueError as e:  # the message as it is, without pydantic's "Value error, "
        raise PydanticCustomError("network_name", str(e)) from None


NAME_DESCRIPTION = "free text in any script, without control or invisible formatting characters"
# checked by check_network_name alone (the length too), so every path says the same; a query
# parameter (import's ?name=) takes CheckedName with its own Query()
CheckedName = Annotated[str, AfterValidator(_network_name)]
NetworkName = Annotated[CheckedName, Field(json_schema_extra={"maxLength": NAME_MAX},
                                           description=NAME_DESCRIPTION)]


class NetworkCreate(Strict):
    spec: Spec | None = Field(None, description="a network spec; or give `preset`")
    preset: str | None = Field(None, max_length=64, description="start from this preset")
    name: NetworkName | None = None
    seed: int = Field(0, ge=0, lt=2**32)
    num_classes: int | None = Field(None, ge=1, le=1000, description="with a preset: the classes to predict")
    input: list[int] | None = Field(None, description="with a preset: another input shape [C, H, W]")


class NetworkUpdate(Strict):
    name: NetworkName | None = None
    spec: Spec | None = None


class NetworkReinit(Strict):
    seed: int | None = Field(None, ge=0, lt=2**32)
    init: Literal["xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "lecun_normal", "normal",
                  "zeros"] | None = None


class NetworkPublic(BaseModel):
    id: str
    name: str
    spec: Spec
    seed: int
    params: int
    version: int
    created: float
    updated: float
    training_run: str | None = None


# The limits of one run on this server: each field's bounds are here, where the OpenAPI schema shows them.
MAX_EPOCHS = 500
MAX_BATCH_SIZE = 1024


class RunCreate(Strict):
    dataset: str = Field("strokes", max_length=100)
    epochs: int = Field(1, ge=1, le=MAX_EPOCHS, description=f"passes over the training data, 1 to {MAX_EPOCHS}")
    batch_size: int = Field(64, ge=1, le=MAX_BATCH_SIZE, description=f"examples per step, 1 to {MAX_BATCH_SIZE}")
    optimizer: Literal["sgd", "adam", "rmsprop", "adagrad"] = "sgd"
    lr: float = Field(0.01, gt=0, le=1e6)
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = False
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0, le=10)
    l1: float = Field(0.0, ge=0, le=10)
    schedule: Literal["constant", "step", "cosine"] = "constant"
    step_size: int = Field(1, ge=1, le=10_000)
    gamma: float = Field(0.1, ge=0, le=1)
    min_lr: float = Field(0.0, ge=0, le=1e6)
    validation: float = Field(0.1, ge=0, lt=1)
    holdout: int | None = Field(None, ge=1)
    augment: dict[str, Any] = Field(default_factory=dict)
    early_stopping: int | None = Field(None, ge=1, le=1000)
    seed: int = Field(0, ge=0, lt=2**32)
    max_train: int | None = Field(None, ge=2)


class RunPublic(BaseModel):
    id: str
    network_id: str
    dataset: str
    config: dict[str, Any]
    status: RunStatus = Field(description="queued, running, paused; or how it ended: completed, stopped, diverged, "
                                          "failed, interrupted (the server stopped; `resume` goes on from the "
                                          "last checkpoint)")
    message: str | None = None
    created: float
    started: float | None = None
    finished: float | None = None
    steps: int = 0
    epoch: int = Field(0, description="epochs finished (for an interrupted run: those its checkpoint holds)")
    epochs: int | None = Field(None, description="epochs planned")
    resumable: bool = Field(False, description="whether POST .../resume applies (paused or interrupted)")
    request: Literal["pause", "resume", "stop"] | None = Field(
        None, description="a request waiting for the server that runs it")
    metrics: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    checkpoint: str | None = None
    last_batch: dict[str, Any] | None = None
    history: list[dict[str, Any]] | None = None


class Health(BaseModel):
    status: str
    version: str
    runs_active: int
