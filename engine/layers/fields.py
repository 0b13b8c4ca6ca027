"""Typed layer fields: the single description of what a layer accepts.

Each layer class lists its fields; the same list validates a spec, gives
defaults, and becomes the catalogue the page builds its forms from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import SpecError

INITS = ("xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "lecun_normal", "normal", "zeros")


@dataclass(frozen=True)
class Field:
    """One field of a layer.

    kind: "int", "float", "bool", "str", "choice", "int2" (an int or a pair
    [h, w]), "padding" (int2 or "same"/"valid"), "layers" (a list of layer
    specs) or "branches" (a list of layer lists).
    """

    name: str
    kind: str
    default: Any = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    help: str = ""
    exclusive_max: bool = False
    exclusive_min: bool = False
    default_by: dict | None = None  # a default of None that depends on another field's value

    def catalogue(self) -> dict:
        out = {"name": self.name, "kind": self.kind, "required": self.required, "help": self.help}
        if not self.required:
            out["default"] = self.default
        if self.min is not None:
            out["min"] = self.min
            if self.exclusive_min:
                out["exclusive_min"] = True
        if self.max is not None:
            out["max"] = self.max
            out["exclusive_max"] = self.exclusive_max
        if self.choices:
            out["choices"] = list(self.choices)
        return out

    def parse(self, value: Any, path: str) -> Any:
        """Check `value` against this field and return it in canonical form."""
        kind = self.kind
        if kind == "int":
            return self._number(_as_int(value, path, self.name), path)
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SpecError(path, f"expected a number, got {_show(value)}", self.name)
            value = float(value)
            if not math.isfinite(value):
                raise SpecError(path, f"expected a finite number, got {value}", self.name)
            return self._number(value, path)
        if kind == "bool":
            if not isinstance(value, bool):
                raise SpecError(path, f"expected true or false, got {_show(value)}", self.name)
            return value
        if kind == "str":
            if not isinstance(value, str):
                raise SpecError(path, f"expected a string, got {_show(value)}", self.name)
            if len(value) > 100:
                raise SpecError(path, "is longer than 100 characters", self.name)
            return value
        if kind == "choice":
            if value not in self.choices:
                opts = ", ".join(map(str, self.choices))
                raise SpecError(path, f"expected one of {opts}; got {_show(value)}", self.name)
            return value
        if kind in ("int2", "padding"):
            if kind == "padding" and isinstance(value, str):
                if value not in ("same", "valid"):
                    raise SpecError(path, f'expected an int, [h, w], "same" or "valid"; got {_show(value)}', self.name)
                return value
            if isinstance(value, (list, tuple)):
                if len(value) != 2:
                    raise SpecError(path, f"expected an int or a pair [h, w], got a list of {len(value)}", self.name)
                return tuple(self._number(_as_int(v, path, self.name), path) for v in value)
            v = self._number(_as_int(value, path, self.name), path)
            return (v, v)
        if kind in ("layers", "branches"):
            if not isinstance(value, list):
                raise SpecError(path, f"expected a list, got {_show(value)}", self.name)
            if kind == "branches":
                if not value:
                    raise SpecError(path, "needs at least one branch", self.name)
                for i, b in enumerate(value):
                    if not isinstance(b, list):
                        raise SpecError(f"{path}.{self.name}[{i}]", f"a branch is a list of layers, got {_show(b)}")
            return value
        raise AssertionError(f"unknown field kind {kind}")

    def _number(self, v, path):
        if self.min is not None and self.exclusive_min and v <= self.min:
            raise SpecError(path, f"must be above {_fmt(self.min)}, got {_fmt(v)}", self.name)
        if self.min is not None and v < self.min:
            raise SpecError(path, f"must be at least {_fmt(self.min)}, got {_fmt(v)}", self.name)
        if self.max is not None:
            if self.exclusive_max and v >= self.max:
                raise SpecError(path, f"must be below {_fmt(self.max)}, got {_fmt(v)}", self.name)
            if not self.exclusive_max and v > self.max:
                raise SpecError(path, f"must be at most {_fmt(self.max)}, got {_fmt(v)}", self.name)
        return v


def _as_int(value, path, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(path, f"expected an integer, got {_show(value)}", name)
    if isinstance(value, float):
        if not value.is_integer():
            raise SpecError(path, f"expected an integer, got {value}", name)
        value = int(value)
    return value


def _fmt(v):
    return f"{v:g}" if isinstance(v, float) else str(v)


def _show(value) -> str:
    text = repr(value) if not isinstance(value, (list, dict)) else type(value).__name__
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    return text if len(text) <= 40 else text[:37] + "..."


# Fields every layer accepts.
COMMON = (
    Field("name", "str", default=None, help="a label shown in summaries and feature maps"),
    Field("trainable", "bool", default=True, help="false freezes this layer's weights"),
)


def init_field(default: str) -> Field:
    return Field("init", "choice", default=default, choices=INITS, help="weight initialization (biases start at zero)")


STD = Field("std", "float", default=0.01, min=0.0, max=100.0, help="standard deviation for init 'normal'")


def parse_config(cls, cfg: dict, path: str) -> dict:
    """Validate a layer's spec dict against cls.fields; return canonical values."""
    known = {f.name: f for f in COMMON + cls.fields}
    for key in cfg:
        if key == "type":
            continue
        if key not in known:
            opts = ", ".join(f.name for f in COMMON + cls.fields)
            raise SpecError(path, f"unknown field '{key}' for {cls.type}; its fields are: {opts}", key)
    out = {}
    for f in known.values():
        if f.name in cfg and cfg[f.name] is not None:
            out[f.name] = f.parse(cfg[f.name], path)
        elif f.required:
            raise SpecError(path, f"{cls.type} needs '{f.name}'", f.name)
        else:
            d = f.default
            out[f.name] = (d, d) if f.kind in ("int2", "padding") and isinstance(d, int) else d
    return out
