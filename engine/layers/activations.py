"""Element-wise non-linearities, and softmax over the class axis."""

from __future__ import annotations

import numpy as np

from .base import Layer
from .fields import Field


class _Elementwise(Layer):
    def forward(self, x, train=False, record=None):
        y = self.f(x)
        self.cache = (x, y) if (train if record is None else record) else None
        return y

    def backward(self, dy):
        x, y = self._saved(dy)
        return dy * self.df(x, y)


class ReLU(Layer):
    type = "relu"
    summary_doc = "max(0, x)"

    def torch_module(self, nested):
        return "nn.ReLU()"

    def forward(self, x, train=False, record=None):
        """x : (N, ...) -> y = max(0, x), same shape; keeps only y (y > 0 exactly where x > 0)."""
        y = np.maximum(x, 0)
        self.cache = y if (train if record is None else record) else None
        return y

    def backward(self, dy):
        """dy -> dx = dy where the input was positive, else 0."""
        y = self._saved(dy)
        return dy * (y > 0)

    # The two halves on their own, in place, for the fast path (engine/fast/relu.py, and the
    # conv2d + relu it fuses).
    @staticmethod
    def apply(x, out):
        """out = max(0, x)."""
        return np.maximum(x, 0, out=out)

    @staticmethod
    def pass_gradient(dy, y, out):
        """out = dL/dx from dL/dy and the output y: the gradient passes where y > 0."""
        return np.multiply(dy, y > 0, out=out)


class LeakyReLU(_Elementwise):
    type = "leaky_relu"
    summary_doc = "x if x > 0 else negative_slope * x"
    fields = (Field("negative_slope", "float", default=0.01, min=0.0, max=1.0, help="slope for x < 0"),)

    def torch_module(self, nested):
        return f"nn.LeakyReLU({self.cfg['negative_slope']!r})"

    def f(self, x):
        return np.where(x > 0, x, x * x.dtype.type(self.cfg["negative_slope"]))

    def df(self, x, y):
        return np.where(x > 0, 1, self.cfg["negative_slope"]).astype(x.dtype)


class Sigmoid(_Elementwise):
    type = "sigmoid"
    summary_doc = "1 / (1 + e^-x); its slope is at most 1/4, which is why deep sigmoid stacks vanish"

    def torch_module(self, nested):
        return "nn.Sigmoid()"

    def f(self, x):
        # split by sign so exp never overflows
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)

    def df(self, x, y):
        return y * (1 - y)


class Tanh(_Elementwise):
    type = "tanh"
    summary_doc = "tanh(x), in (-1, 1)"

    def torch_module(self, nested):
        return "nn.Tanh()"

    def f(self, x):
        return np.tanh(x)

    def df(self, x, y):
        return 1 - y * y


class Softmax(Layer):
    type = "softmax"
    summary_doc = "turns scores into probabilities over axis 1 (classes or channels)"

    def torch_module(self, nested):
        return "nn.Softmax(dim=1)"

    def forward(self, x, train=False, record=None):
        z = x - x.max(axis=1, keepdims=True)
        e = np.exp(z)
        y = e / e.sum(axis=1, keepdims=True)
        self.cache = y if (train if record is None else record) else None
        return y

    def backward(self, dy):
        y = self._saved(dy)
        return y * (dy - (dy * y).sum(axis=1, keepdims=True))
