"""Request and response bodies. A network spec is passed through as JSON and the
engine validates it (naming the failing layer path, which a pydantic union could
not do as precisely); its schema in /docs comes from the layer registry
(spec_schemas.py)."""

from __future__ import annotations

import dataclasses
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from fastapi import UploadFile
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model
from pydantic_core import PydanticCustomError

from engine.data import Augment
from engine.layers.fields import Field as EngineField
from engine.options import described
from engine.train import MOMENTUM_DEFAULTS, TrainConfig

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
    seed: int | None = Field(
        None, ge=0, lt=2**32, description="the seed of its weights; left out, the spec's own, else 0"
    )
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


class NetworkFile(BaseModel):
    """A network to import, as a multipart form."""

    file: UploadFile = Field(
        description="a network saved here (its .npz export: spec and weights) or a spec (.json); which of the "
        "two is told from its content, not its extension"
    )


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


# A run's options are the engine's (TrainConfig and Augment declare each one once: engine/options.py):
# the request model below is built from them, so /docs, GET /api/train/options (which the page builds
# its form from) and the checks all say the same. This server only caps what one run may cost.
SERVER_CAPS = {"epochs": 500, "batch_size": 1024}
NOT_SERVED = ("loss",)  # the engine's, for the command line; the page trains classifiers


def _request_field(option: EngineField) -> tuple[Any, Any]:
    """An engine option as a request field: its type, default, limits (capped) and help."""
    annotation: Any = (
        Literal[option.choices] if option.kind == "choice" else {"int": int, "float": float, "bool": bool}[option.kind]
    )
    if option.default is None:
        annotation = annotation | None
    limits: dict[str, Any] = {}
    if option.min is not None:
        limits["gt" if option.exclusive_min else "ge"] = option.min
    if option.name in SERVER_CAPS:
        limits["le"] = SERVER_CAPS[option.name]
    elif option.max is not None:
        limits["lt" if option.exclusive_max else "le"] = option.max
    extra = {"default_by": option.default_by} if option.default_by else None
    return annotation, Field(option.default, description=option.help, json_schema_extra=extra, **limits)


AugmentCreate = create_model(
    "AugmentCreate",
    __base__=Strict,
    __doc__="Random changes to each training batch; the engine's Augment options.",
    **{option.name: _request_field(option) for option in described(Augment)},
)


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


class _RunRequest(Strict):
    dataset: str = Field("strokes", max_length=100, description="what the run trains on: a dataset's name")

    def config(self) -> dict[str, Any]:
        """The trainer's config: every field but the dataset; augment with only what was set."""
        config = self.model_dump(exclude={"dataset"})
        config["augment"] = self.augment.model_dump(exclude_defaults=True)
        if config["momentum"] is None:  # the run says which it used (none for adam and adagrad)
            config["momentum"] = MOMENTUM_DEFAULTS.get(self.optimizer)
        return config


def _run_fields() -> dict[str, Any]:
    options = {option.name: option for option in described(TrainConfig)}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(TrainConfig):
        if f.name == "augment":
            out["augment"] = (AugmentCreate, Field(default_factory=AugmentCreate))
        elif f.name not in NOT_SERVED:
            out[f.name] = _request_field(options[f.name])
    return out


RunCreate = create_model(
    "RunCreate",
    __base__=_RunRequest,
    __doc__="A run's options: the engine's TrainConfig, with this server's caps on epochs and batch size.",
    **_run_fields(),
)


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
