"""type -> class, and the builder that turns a list of layer specs into layers.

A new layer is one class plus one line in REGISTRY.
"""

from __future__ import annotations

from ..errors import SpecError, SpecErrors
from .activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .blocks import Block, Concat, Residual, Sequence
from .conv import Conv2D
from .conv_transpose import ConvTranspose2D
from .dropout import Dropout
from .fields import parse_config
from .linear import Flatten, Linear
from .norm import BatchNorm1D, BatchNorm2D
from .pool import AvgPool2D, GlobalAvgPool2D, MaxPool2D

REGISTRY = {
    cls.type: cls
    for cls in (
        Conv2D,
        ConvTranspose2D,
        MaxPool2D,
        AvgPool2D,
        GlobalAvgPool2D,
        Flatten,
        Linear,
        ReLU,
        LeakyReLU,
        Sigmoid,
        Tanh,
        Softmax,
        Dropout,
        BatchNorm2D,
        BatchNorm1D,
        Residual,
        Concat,
    )
}

MAX_DEPTH = 16  # nesting of residual/concat blocks
MAX_LAYERS = 2000  # layers in one network, all levels together


def make_layer(spec, in_shape, path, depth=0):
    """One layer spec (a dict with 'type') -> a built layer, without weights."""
    if not isinstance(spec, dict):
        raise SpecError(path, f"a layer is an object with a 'type', got {type(spec).__name__}")
    kind = spec.get("type")
    if not _known(kind):
        if kind is None:
            raise SpecError(path, "missing 'type'", "type")
        known = ", ".join(REGISTRY)
        if not isinstance(kind, str):
            raise SpecError(path, f"'type' must be a string, got {type(kind).__name__}; known types: {known}", "type")
        raise SpecError(path, f"unknown layer type {kind!r}; known types: {known}", "type")
    cls = REGISTRY[kind]
    cfg = parse_config(cls, spec, path)
    if issubclass(cls, Block):
        if depth >= MAX_DEPTH:
            raise SpecError(path, f"blocks are nested more than {MAX_DEPTH} deep")
        return cls(in_shape, path, cfg, depth)
    return cls(in_shape, path, cfg)


def _known(kind) -> bool:
    return isinstance(kind, str) and kind in REGISTRY  # a list or dict is not even hashable


def build_sequence(specs, in_shape, prefix="layers", depth=0) -> Sequence:
    """Build layers one after another, each told the previous one's output shape.

    Collects errors: once one layer fails, the remaining layers are still
    checked field by field (their shapes cannot be known), so a spec with
    several mistakes reports them all.
    """
    if not isinstance(specs, list):
        raise SpecErrors([SpecError(prefix, f"expected a list of layers, got {type(specs).__name__}")])
    if len(specs) > MAX_LAYERS:
        raise SpecErrors([SpecError(prefix, f"has {len(specs)} layers; at most {MAX_LAYERS} are allowed")])
    layers, errors, shape = [], [], tuple(in_shape)
    for i, spec in enumerate(specs):
        path = f"{prefix}[{i}]"
        try:
            if errors:
                _check_fields(spec, path, depth)
                continue
            layer = make_layer(spec, shape, path, depth)
        except SpecErrors as e:
            errors.extend(e.errors)
            continue
        except SpecError as e:
            errors.append(e)
            continue
        layers.append(layer)
        shape = layer.out_shape
    if errors:
        raise SpecErrors(errors)
    return Sequence(layers, in_shape)


def _check_fields(spec, path, depth):
    if not isinstance(spec, dict) or not _known(spec.get("type")):
        make_layer(spec, (1, 1, 1), path, depth)  # raises the type error
    cls = REGISTRY[spec["type"]]
    cfg = parse_config(cls, spec, path)
    if issubclass(cls, Block) and depth >= MAX_DEPTH:
        raise SpecError(path, f"blocks are nested more than {MAX_DEPTH} deep")
    for where, specs in nested_specs(cfg, cls):
        for j, s in enumerate(specs):
            _check_fields(s, f"{path}.{where}[{j}]", depth + 1)


def nested_specs(spec: dict, cls=None) -> list[tuple[str, list]]:
    """The lists of layer specs one layer spec holds, each with where it is: a residual's
    ("body", [...]) and ("shortcut", [...]), a concat's ("branches[0]", [...]), ... Read from
    the layer class's fields of kind "layers" and "branches", so a new block type is walked
    without a word more. Fields left out count as empty."""
    if not isinstance(spec, dict):
        return []
    if cls is None and _known(spec.get("type")):
        cls = REGISTRY[spec["type"]]
    out: list[tuple[str, list]] = []
    for f in cls.fields if cls is not None else ():
        value = spec.get(f.name) or []
        if f.kind == "layers" and isinstance(value, list):
            out.append((f.name, value))
        elif f.kind == "branches" and isinstance(value, list):
            out.extend((f"{f.name}[{b}]", branch) for b, branch in enumerate(value) if isinstance(branch, list))
    return out


def walk_specs(specs: list, prefix: str = "layers"):
    """(path, layer spec) for every layer spec in a list and the blocks inside it, depth first,
    blocks before their children; the paths are the built layers' paths."""
    for i, spec in enumerate(specs):
        path = f"{prefix}[{i}]"
        yield path, spec
        for where, inner in nested_specs(spec):
            yield from walk_specs(inner, f"{path}.{where}")


def catalogue() -> list[dict]:
    """Every layer type with its fields, types, defaults and ranges."""
    from .fields import COMMON

    return [
        {
            "type": t,
            "doc": cls.summary_doc,
            "has_params": cls.has_params,
            "fields": [f.catalogue() for f in cls.fields + COMMON],
        }
        for t, cls in REGISTRY.items()
    ]
