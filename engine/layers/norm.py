"""Batch normalization: normalize each channel by the batch's statistics in
training (keeping running averages), and by those running averages when
testing. gamma and beta then rescale and shift, so the layer can undo the
normalization if that serves the loss."""

from __future__ import annotations

import numpy as np

from .. import kernels
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

    def _rows(self, x):
        """x : (N, C, ...) -> (C, M) with M = N*H*W: a view when x is channel-major (as a
        conv's output is) or 2-D, else a copy."""
        return x.T if self.ndim == 1 else kernels.as_rows(x)

    def _unrows(self, r, shape):
        """(C, M) -> (N, C, ...), the inverse of _rows (a view)."""
        if self.ndim == 1:
            return r.T
        n, c, h, w = shape
        return r.reshape(c, n, h, w).transpose(1, 0, 2, 3)

    def forward(self, x, train=False, record=None):
        """x : (N, C, ...) -> same shape; statistics per channel over the batch and positions."""
        eps = self.cfg["eps"]
        xr = self._rows(x)  # (C, M)
        if train:
            m = xr.shape[1]
            mean = xr.mean(axis=1)
            xhat = xr - mean[:, None]
            var = np.square(xhat).mean(axis=1)
            mom = self.cfg["momentum"]
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            rm *= 1 - mom
            rm += mom * mean.astype(rm.dtype)
            rv *= 1 - mom
            rv += mom * (var * (m / max(m - 1, 1))).astype(rv.dtype)  # unbiased, as PyTorch
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
            xhat = xr - mean.astype(x.dtype)[:, None]
        inv = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat *= inv[:, None]
        y = xhat * self.params["gamma"].astype(x.dtype)[:, None]
        y += self.params["beta"].astype(x.dtype)[:, None]
        keep = train if record is None else record
        self.cache = (train, xhat, inv) if keep else None
        return self._unrows(y, x.shape)

    def backward(self, dy):
        """dy : (N, C, ...) -> dx, same shape; fills dgamma, dbeta."""
        batch_stats, xhat, inv = self._saved(dy)
        gamma = self.params["gamma"]
        dyr = self._rows(dy)  # (C, M)
        dgamma = (dyr * xhat).sum(axis=1)
        dbeta = dyr.sum(axis=1)
        self.grads["gamma"] = dgamma.astype(gamma.dtype)
        self.grads["beta"] = dbeta.astype(gamma.dtype)
        scale = (gamma.astype(dy.dtype) * inv)[:, None]  # dL/dx = gamma/sigma * dL/dxhat-ish
        if not batch_stats:
            return self._unrows(dyr * scale, dy.shape)
        # mean and variance depend on every x of the channel:
        # dx = gamma/sigma * (dy - mean(dy) - xhat * mean(dy * xhat))
        m = dyr.shape[1]
        dx = xhat * (dgamma / m)[:, None]
        np.subtract(dyr, dx, out=dx)
        dx -= (dbeta / m)[:, None]
        dx *= scale
        return self._unrows(dx, dy.shape)


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
