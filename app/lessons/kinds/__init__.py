"""Every exercise kind, by name; a new kind is one class in a module here and its entry below."""

from __future__ import annotations

from ..exercise import Kind
from . import (
    architectures,
    convolution,
    initialization,
    normalization,
    pooling,
    regularization,
    residual,
    sizes,
)

# in the lessons' order
MODULES = (sizes, convolution, pooling, architectures, initialization, regularization, normalization, residual)
KINDS: dict[str, Kind] = {k.name: k for module in MODULES for k in module.KINDS}
