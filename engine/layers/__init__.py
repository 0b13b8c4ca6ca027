"""Layers of the engine, one module per family; see registry.REGISTRY."""

from .base import Layer
from .blocks import Block, Concat, Residual, Sequence
from .registry import REGISTRY, build_sequence, catalogue, make_layer, nested_specs, walk_specs

__all__ = ["Layer", "Block", "Concat", "Residual", "Sequence", "REGISTRY", "build_sequence",
           "catalogue", "make_layer", "nested_specs", "walk_specs"]
