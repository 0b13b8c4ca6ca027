"""Inverted dropout: zero each unit with probability p in training and scale
the survivors by 1/(1-p), so evaluation is simply the identity."""

from __future__ import annotations

import numpy as np

from .base import Layer
from .fields import Field


class Dropout(Layer):
    type = "dropout"
    summary_doc = "in training, zeroes each value with probability p (scaling the rest); identity when testing"
    fields = (
        Field("p", "float", default=0.5, min=0.0, max=1.0, exclusive_max=True, help="probability of dropping a unit"),
    )

    def torch_module(self, nested):
        return f"nn.Dropout({self.cfg['p']!r})"

    def __init__(self, in_shape, path, cfg):
        super().__init__(in_shape, path, cfg)
        self.rng = np.random.default_rng(0)

    def forward(self, x, train=False, record=None):
        p = self.cfg["p"]
        keep = train if record is None else record
        if not train or p == 0:
            self.cache = ("identity",) if keep else None
            return x
        mask = (self.rng.random(x.shape, dtype=np.float32) >= p).astype(x.dtype) / x.dtype.type(1 - p)
        self.cache = ("mask", mask) if keep else None
        return x * mask

    def backward(self, dy):
        cache = self._saved(dy)
        return dy if cache[0] == "identity" else dy * cache[1]
