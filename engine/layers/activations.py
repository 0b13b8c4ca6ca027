"""Element-wise non-linearities, and softmax over the class axis."""

from __future__ import annotations

import numpy as np

from .. import parallel
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


class ReLU(_Elementwise):
    type = "relu"
    summary_doc = "max(0, x)"

    def forward(self, x, train=False, record=None):
        """x : (N, ...) -> max(0, x), same shape and memory layout; keeps only y (y > 0 iff x > 0).
        Large arrays are shared among threads by blocks of axis 1 (channels or features)."""
        y = np.empty_like(x)
        parallel.split(lambda a, b: self.apply(x[:, a:b], y[:, a:b]), x.shape[1], x.size)
        self.cache = y if (train if record is None else record) else None
        return y

    def backward(self, dy):
        y = self._saved(dy)
        dx = np.empty_like(dy)
        parallel.split(lambda a, b: self.pass_gradient(dy[:, a:b], y[:, a:b], dx[:, a:b]),
                       dy.shape[1], 2 * dy.size)
        return dx

    # The two halves on their own, for a layer that fuses this one (see Layer.fuses).
    @staticmethod
    def apply(x, out):
        """out = max(0, x)."""
        return np.maximum(x, 0, out=out)

    @staticmethod
    def pass_gradient(dy, y, out):
        """out = dL/dx from dL/dy and the output y: the gradient passes where y > 0."""
        return np.multiply(dy, y > 0, out=out)

    def f(self, x):
        return np.maximum(x, 0)

    def df(self, x, y):
        return x > 0


class LeakyReLU(_Elementwise):
    type = "leaky_relu"
    summary_doc = "x if x > 0 else negative_slope * x"
    fields = (Field("negative_slope", "float", default=0.01, min=0.0, max=1.0, help="slope for x < 0"),)

    def f(self, x):
        return np.where(x > 0, x, x * x.dtype.type(self.cfg["negative_slope"]))

    def df(self, x, y):
        return np.where(x > 0, 1, self.cfg["negative_slope"]).astype(x.dtype)


class Sigmoid(_Elementwise):
    type = "sigmoid"
    summary_doc = "1 / (1 + e^-x); its slope is at most 1/4, which is why deep sigmoid stacks vanish"

    def f(self, x):
        # split by sign so exp never overflows
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)

    def df(self, x, y):
        return y * (1 - y)


class Tanh(_Elementwise):
    type = "tanh"
    summary_doc = "tanh(x), in (-1, 1)"

    def f(self, x):
        return np.tanh(x)

    def df(self, x, y):
        return 1 - y * y


class Softmax(Layer):
    type = "softmax"
    summary_doc = "turns scores into probabilities over axis 1 (classes or channels)"

    def forward(self, x, train=False, record=None):
        z = x - x.max(axis=1, keepdims=True)
        e = np.exp(z)
        y = e / e.sum(axis=1, keepdims=True)
        self.cache = y if (train if record is None else record) else None
        return y

    def backward(self, dy):
        y = self._saved(dy)
        return y * (dy - (dy * y).sum(axis=1, keepdims=True))
