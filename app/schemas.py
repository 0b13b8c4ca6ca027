"""Request and response bodies. A network spec is passed through as JSON and the
engine validates it (naming the failing layer path, which a pydantic union could
not do as precisely); its schema in /docs comes from the layer registry
(spec_schemas.py)."""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from engine.data.augment import MAX_NOISE, MAX_SHIFT
from engine.train import MOMENTUM_DEFAULTS

from .services.networks import NAME_MAX, check_network_name
from .spec_schemas import Spec


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _network_name(name: str) -> str:
    try:
        return check_network_name(name)
    except ValueError as e:  # the message as it is, without pydantic's "Value error, "
        raise PydanticCustomError("network_name", str(e)) from None


NAME_DESCRIPTION = "free text in any script, without control or invisible formatting characters"
# checked by check_network_name alone (the length too), so every path says the same; a query
# parameter (import's ?name=) takes CheckedName with its own Query()
CheckedName = Annotated[str, AfterValidator(_network_name)]
NetworkName = Annotated[CheckedName, Field(json_schema_extra={"maxLength": NAME_MAX}, description=NAME_DESCRIPTION)]


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
    init: (
        Literal["xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "lecun_normal", "normal", "zeros"] | None
    ) = None


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


# The limits of one run on this server: each field's bounds are here, where the OpenAPI schema shows them
# and GET /api/train/options serves them to the page, which builds its form from them.
MAX_EPOCHS = 500
MAX_BATCH_SIZE = 1024


class AugmentCreate(Strict):
    shift: int = Field(0, ge=0, le=MAX_SHIFT, description="move each image by up to this many pixels")
    crop: bool = Field(False, description="pad 4 pixels and crop at random, as for CIFAR-10")
    flip: bool = Field(False, description="mirror left-right at random (not for digits)")
    noise: float = Field(0.0, ge=0, le=MAX_NOISE, description="standard deviation of noise on the 0..1 scale")


class AugmentPreviewCreate(Strict):
    augment: AugmentCreate = Field(default_factory=AugmentCreate, description="as a run takes it")
    seed: int = Field(0, ge=0, lt=2**32, description="the same seed gives the same draws")
    n: int = Field(4, ge=1, le=16, description="how many images")
    copies: int = Field(4, ge=1, le=8, description="augmented draws of each")
    split: Literal["train", "test"] = "train"
    offset: int = Field(0, ge=0, description="the first image's index in the split")


class AugmentedSample(BaseModel):
    index: int
    label: int
    class_name: str
    original: str = Field(description="the image as a PNG data URL")
    augmented: list[str] = Field(description="its augmented draws (PNG data URLs), in order")


class AugmentPreview(BaseModel):
    dataset: str
    split: str
    seed: int
    augment: AugmentCreate = Field(description="every augmentation setting, defaults filled in")
    active: bool = Field(description="false when nothing is set: every draw is the image itself")
    samples: list[AugmentedSample]


class RunCreate(Strict):
    dataset: str = Field("strokes", max_length=100)
    epochs: int = Field(1, ge=1, le=MAX_EPOCHS, description=f"passes over the training data, 1 to {MAX_EPOCHS}")
    batch_size: int = Field(64, ge=1, le=MAX_BATCH_SIZE, description=f"examples per step, 1 to {MAX_BATCH_SIZE}")
    optimizer: Literal["sgd", "adam", "rmsprop", "adagrad"] = "sgd"
    lr: float = Field(0.01, gt=0, le=1e6, description="learning rate: the size of each step")
    momentum: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="for sgd and rmsprop: how much of the last step goes on; left out, the optimizer's own: "
        f"{MOMENTUM_DEFAULTS['sgd']} for sgd (the playground's start), {MOMENTUM_DEFAULTS['rmsprop']} for rmsprop "
        "(PyTorch's)",
        json_schema_extra={"default_by": {"optimizer": MOMENTUM_DEFAULTS}},
    )
    nesterov: bool = False
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0, le=10, description="L2 penalty: pulls each weight toward 0")
    l1: float = Field(0.0, ge=0, le=10, description="L1 penalty: pushes weights to exactly 0")
    schedule: Literal["constant", "step", "cosine"] = "constant"
    step_size: int = Field(1, ge=1, le=10_000, description="with schedule step: epochs between steps")
    gamma: float = Field(0.1, ge=0, le=1, description="with schedule step: the factor at each step")
    min_lr: float = Field(0.0, ge=0, le=1e6)
    validation: float = Field(0.1, ge=0, lt=1, description="fraction of the training examples kept aside")
    holdout: int | None = Field(None, ge=1)
    augment: AugmentCreate = Field(default_factory=AugmentCreate)
    early_stopping: int | None = Field(None, ge=1, le=1000)
    seed: int = Field(0, ge=0, lt=2**32)
    max_train: int | None = Field(None, ge=2, description="use only the first N training examples")

    def config(self) -> dict[str, Any]:
        """The trainer's config: every field but the dataset; augment with only what was set."""
        config = self.model_dump(exclude={"dataset"})
        config["augment"] = self.augment.model_dump(exclude_defaults=True)
        if config["momentum"] is None:  # the run says which it used (none for adam and adagrad)
            config["momentum"] = MOMENTUM_DEFAULTS.get(self.optimizer)
        return config


class RunOption(BaseModel):
    """One field of a run's form, in the layer catalogue's shape."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="dotted for a nested group: augment.shift")
    kind: Literal["int", "float", "bool", "str", "choice"]
    help: str
    default: Any
    default_by: dict[str, dict[str, bool | int | float | str | None]] | None = Field(
        None,
        description="when left out, a default that depends on another option: {that option: {its value: the "
        "default}}; momentum's on the optimizer",
    )
    nullable: bool
    choices: list[str | int | float] | None = None
    min: int | float | None = None
    exclusive_min: bool | None = None
    max: int | float | None = None
    exclusive_max: bool | None = None


class RunOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    options: list[RunOption]


def options(model: type[BaseModel], prefix: str = "") -> list[dict[str, Any]]:
    """A model's fields as the page's forms take them (the layer catalogue's shape): name, kind, help,
    default, and min, max, exclusive_min, exclusive_max, choices and nullable where they apply.
    A nested model's fields follow with dotted names (augment.shift)."""
    out = []
    for name, info in model.model_fields.items():
        kind, nullable = _kind(info.annotation)
        if kind == "group":
            out.extend(options(info.annotation, f"{prefix}{name}."))
            continue
        field: dict[str, Any] = {
            "name": prefix + name,
            "kind": kind,
            "help": info.description or "",
            "default": info.get_default(call_default_factory=True),
            "nullable": nullable,
        }
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if "default_by" in extra:
            field["default_by"] = extra["default_by"]
        if kind == "choice":
            field["choices"] = list(get_args(info.annotation))
        for rule in info.metadata:
            for attr, key in (("ge", "min"), ("gt", "min"), ("le", "max"), ("lt", "max")):
                if getattr(rule, attr, None) is not None:
                    field[key] = getattr(rule, attr)
                    field[f"exclusive_{key}"] = attr in ("gt", "lt")
        out.append(field)
    return out


def _kind(annotation) -> tuple[str, bool]:
    args = [a for a in get_args(annotation) if a is not type(None)]
    nullable = get_origin(annotation) in (Union, UnionType) and len(args) < len(get_args(annotation))
    if nullable:
        annotation = args[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "group", nullable
    if get_origin(annotation) is Literal:
        return "choice", nullable
    return {bool: "bool", int: "int", float: "float"}.get(annotation, "str"), nullable


class Health(BaseModel):
    status: str
    version: str
    runs_active: int
    export_formats: list[str] = Field(description="the formats GET /api/networks/{id}/export can write here")
    missing_exports: dict[str, str] = Field(
        description="formats this installation cannot write, each with the command that installs them"
    )
