"""Batch normalization: normalize each channel by the batch's statistics in
training (keeping running averages), and by those running averages when
testing. gamma and beta then rescale and shift, so the layer can undo the
normalization if that serves the loss."""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from .base import Layer
from .fields import Field

_FIELDS = (
    Field("momentum", "float", default=0.1, min=0.0, max=1.0, help="weight of the newest batch in the running statistics"),
    Field("eps", "float", default=1e-5, min=0.0, max=1.0, help="added to the variance before the square root"),
)


class _BatchNorm(Layer):
    fields = _FIELDS
    has_params = True
    ndim = 0
    axes: tuple = ()

    def __init__(self, in_shape, path, cfg):
        super().__init__(in_shape, path, cfg)
        if len(self.in_shape) != self.ndim:
            want = "(C, H, W)" if self.ndim == 3 else "(features,)"
            other = "batchnorm1d" if self.ndim == 3 else "batchnorm2d"
            raise SpecError(path, f"{self.type} needs a {want} input, got {self.in_shape}; use {other}")
        self.c = self.in_shape[0]

    def param_shapes(self):
        return {"gamma": (self.c,), "beta": (self.c,)}

    def buffer_shapes(self):
        return {"running_mean": (self.c,), "running_var": (self.c,)}

    def param_formula(self):
        return f"2 x {self.c}"

    def init_params(self, rng, dtype=np.float32):
        self.params["gamma"] = np.ones(self.c, dtype)
        self.params["beta"] = np.zeros(self.c, dtype)
        self.buffers["running_mean"] = np.zeros(self.c, dtype)
        self.buffers["running_var"] = np.ones(self.c, dtype)

    def _b(self, v):
        """Broadcast a per-channel vector against the input."""
        return v.reshape((1, -1) + (1,) * (self.ndim - 1))

    def forward(self, x, train=False, record=None):
        """x : (N, C, ...) -> same shape."""
        eps = self.cfg["eps"]
        if train:
            m = x.size // self.c
            mean = x.mean(axis=self.axes)
            var = x.var(axis=self.axes)
            mom = self.cfg["momentum"]
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            rm *= 1 - mom
            rm += mom * mean.astype(rm.dtype)
            rv *= 1 - mom
            rv += mom * (var * (m / max(m - 1, 1))).astype(rv.dtype)  # unbiased, as PyTorch
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv = 1.0 / np.sqrt(var + eps)
        xhat = (x - self._b(mean)) * self._b(inv)
        y = xhat * self._b(self.params["gamma"]) + self._b(self.params["beta"])
        keep = train if record is None else record
        self.cache = (train, xhat, inv) if keep else None
        return y.astype(x.dtype, copy=False)

    def backward(self, dy):
        batch_stats, xhat, inv = self._saved(dy)
        gamma = self.params["gamma"]
        self.grads["gamma"] = (dy * xhat).sum(axis=self.axes).astype(gamma.dtype)
        self.grads["beta"] = dy.sum(axis=self.axes).astype(gamma.dtype)
        dxhat = dy * self._b(gamma)
        if not batch_stats:
            return (dxhat * self._b(inv)).astype(dy.dtype)
        # mean and variance depend on every x of the channel
        mean_d = dxhat.mean(axis=self.axes)
        mean_dx = (dxhat * xhat).mean(axis=self.axes)
        dx = (dxhat - self._b(mean_d) - xhat * self._b(mean_dx)) * self._b(inv)
        return dx.astype(dy.dtype, copy=False)


class BatchNorm2D(_BatchNorm):
    type = "batchnorm2d"
    summary_doc = "normalizes each channel over the batch and all positions"
    ndim = 3
    axes = (0, 2, 3)


class BatchNorm1D(_BatchNorm):
    type = "batchnorm1d"
    summary_doc = "normalizes each feature over the batch"
    ndim = 1
    axes = (0,)
