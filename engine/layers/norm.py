"""Batch normalization: normalize each channel by the batch's statistics in
training (keeping running averages), and by those running averages when
testing. gamma and beta then rescale and shift, so the layer can undo the
normalization if that serves the loss."""

from __future__ import annotations

import numpy as np

from .. import kernels, parallel
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
        # num_batches_tracked: training steps taken, as PyTorch's buffer (exported with the weights)
        return {"running_mean": (self.c,), "running_var": (self.c,), "num_batches_tracked": ()}

    def param_formula(self):
        return f"2 x {self.c}"

    def init_params(self, rng, dtype=np.float32):
        self.params["gamma"] = np.ones(self.c, dtype)
        self.params["beta"] = np.zeros(self.c, dtype)
        self.buffers["running_mean"] = np.zeros(self.c, dtype)
        self.buffers["running_var"] = np.ones(self.c, dtype)
        self.buffers["num_batches_tracked"] = np.zeros((), dtype)

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
        """x : (N, C, ...) -> same shape; statistics per channel over the batch and positions.
        Large inputs are shared among threads by blocks of channels."""
        eps = self.cfg["eps"]
        xr = self._rows(x)  # (C, M)
        c, m = xr.shape
        if train and m < 2:
            raise ValueError(
                f"{self.path} ({self.type}): training needs more than one value per channel to have a "
                f"variance, got input of shape {x.shape}; use a batch of at least 2 examples")
        gamma, beta = self.params["gamma"].astype(x.dtype), self.params["beta"].astype(x.dtype)
        if train:
            mean, var = np.empty(c, x.dtype), np.empty(c, x.dtype)
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv = np.empty(c, x.dtype)
        xhat, y = np.empty((c, m), x.dtype), np.empty((c, m), x.dtype)

        def block(a, b):
            if train:
                mean[a:b] = xr[a:b].mean(axis=1)
            xh = np.subtract(xr[a:b], mean[a:b, None].astype(x.dtype, copy=False), out=xhat[a:b])
            if train:  # y's block holds the squares for a moment: no temporary array
                var[a:b] = np.square(xh, out=y[a:b]).mean(axis=1)
            inv[a:b] = 1.0 / np.sqrt(var[a:b] + eps)
            xh *= inv[a:b, None]
            np.multiply(xh, gamma[a:b, None], out=y[a:b])
            y[a:b] += beta[a:b, None]

        parallel.split(block, c, 6 * xr.size)
        if train:
            mom = self.cfg["momentum"]
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            rm *= 1 - mom
            rm += mom * mean.astype(rm.dtype)
            rv *= 1 - mom
            rv += mom * (var * (m / max(m - 1, 1))).astype(rv.dtype)  # unbiased, as PyTorch
            self.buffers["num_batches_tracked"] += 1
        keep = train if record is None else record
        self.cache = (train, xhat, inv) if keep else None
        return self._unrows(y, x.shape)

    def backward(self, dy):
        """dy : (N, C, ...) -> dx, same shape; fills dgamma, dbeta."""
        batch_stats, xhat, inv = self._saved(dy)
        gamma = self.params["gamma"]
        dyr = self._rows(dy)  # (C, M)
        c, m = dyr.shape
        dgamma, dbeta = np.empty(c, dy.dtype), np.empty(c, dy.dtype)
        scale = gamma.astype(dy.dtype) * inv  # dL/dx = gamma/sigma * dL/dxhat-ish
        dx = np.empty((c, m), dy.dtype)

        def block(a, b):
            d = dyr[a:b]
            dgamma[a:b] = np.multiply(d, xhat[a:b], out=dx[a:b]).sum(axis=1)  # dx's block as scratch
            dbeta[a:b] = d.sum(axis=1)
            if not batch_stats:
                np.multiply(d, scale[a:b, None], out=dx[a:b])
                return
            # mean and variance depend on every x of the channel:
            # dx = gamma/sigma * (dy - mean(dy) - xhat * mean(dy * xhat))
            out = np.multiply(xhat[a:b], (dgamma[a:b] / m)[:, None], out=dx[a:b])
            np.subtract(d, out, out=out)
            out -= (dbeta[a:b] / m)[:, None]
            out *= scale[a:b, None]

        parallel.split(block, c, 6 * dyr.size)
        self.grads["gamma"] = dgamma.astype(gamma.dtype)
        self.grads["beta"] = dbeta.astype(gamma.dtype)
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
