"""Fully connected layers and the flatten that feeds them."""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from ..init import init_weight
from .base import Layer
from .fields import STD, Field, init_field


class Flatten(Layer):
    type = "flatten"
    summary_doc = "lays a (C, H, W) map out as one vector of C*H*W numbers"

    def torch_module(self, nested):
        return "nn.Flatten()"

    def __init__(self, in_shape, path, cfg):
        super().__init__(in_shape, path, cfg)
        self.out_shape = (int(np.prod(self.in_shape)),)

    def forward(self, x, train=False, record=None):
        self.cache = (x.shape,) if (train if record is None else record) else None
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        (x_shape,) = self._saved(dy)
        return dy.reshape(x_shape)


class Linear(Layer):
    type = "linear"
    has_params = True
    summary_doc = "every output is a weighted sum of every input plus a bias"
    fields = (
        Field("out_features", "int", required=True, min=1, max=1_000_000, help="number of outputs"),
        Field("bias", "bool", default=True, help="add a learned bias per output"),
        init_field("he_normal"),
        STD,
    )

    def torch_module(self, nested):
        return f"nn.Linear({self.in_shape[0]}, {self.cfg['out_features']}, bias={self.cfg['bias']})"

    def __init__(self, in_shape, path, cfg):
        super().__init__(in_shape, path, cfg)
        if len(self.in_shape) != 1:
            shape = "(" + ", ".join(map(str, self.in_shape)) + ")"
            raise SpecError(path, f"linear needs a flat input, got {shape}; add a flatten layer before it")
        self.out_shape = (cfg["out_features"],)

    def param_shapes(self):
        shapes = {"W": (self.out_shape[0], self.in_shape[0])}
        if self.cfg["bias"]:
            shapes["b"] = (self.out_shape[0],)
        return shapes

    def param_formula(self):
        return f"{self.out_shape[0]} x ({self.in_shape[0]}" + (" + 1)" if self.cfg["bias"] else ")")

    def macs(self):
        return self.in_shape[0] * self.out_shape[0]

    def init_params(self, rng, dtype=np.float32):
        """W by its init, b zero. As a network's output layer, W then starts smaller (see
        network.OUTPUT_GAIN): the first loss is then about ln(classes)."""
        fin, fout = self.in_shape[0], self.out_shape[0]
        self.params["W"] = init_weight(self.cfg["init"], (fout, fin), fin, fout, rng, self.cfg["std"], dtype)
        if self.cfg["bias"]:
            self.params["b"] = np.zeros(fout, dtype)

    def forward(self, x, train=False, record=None):
        """x : (N, in) -> y : (N, out); y = x W^T + b, W : (out, in) as in PyTorch."""
        self.cache = x if (train if record is None else record) else None
        y = x @ self.params["W"].T
        if "b" in self.params:
            y += self.params["b"]
        return y

    def backward(self, dy):
        """dy : (N, out) -> dx : (N, in)."""
        x = self._saved(dy)
        self.grads["W"] = dy.T @ x
        if "b" in self.params:
            self.grads["b"] = dy.sum(axis=0)
        return dy @ self.params["W"] if self.needs_input_grad else None
