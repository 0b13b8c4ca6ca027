"""Layers of the engine, one module per family; see registry.REGISTRY."""

from .base import Layer
from .blocks import Block, Concat, Residual, Sequence
from .registry import REGISTRY, build_sequence, catalogue, make_layer, nested_specs, walk_specs

__all__ = [
    "REGISTRY",
    "Block",
    "Concat",
    "Layer",
    "Residual",
    "Sequence",
    "build_sequence",
    "catalogue",
    "make_layer",
    "nested_specs",
    "walk_specs",
]
