"""Batch norm's fast path: the statistics, the normalization and the gradient computed on
(C, M) rows (M = N*H*W values per channel, a free view of a conv's channel-major output),
one block of channels per thread, with no temporary arrays beyond xhat and y. The same
numbers as engine/layers/norm.py, which tests check."""

from __future__ import annotations

import numpy as np

from .. import kernels, parallel
from .base import FastStep


class FastBatchNorm(FastStep):
    def _rows(self, x):
        """x : (N, C, ...) -> (C, M): a view when x is channel-major or 2-D, else a copy."""
        return x.T if self.layer.ndim == 1 else kernels.as_rows(x)

    def _unrows(self, r, shape):
        """(C, M) -> (N, C, ...), the inverse of _rows (a view)."""
        if self.layer.ndim == 1:
            return r.T
        n, c, h, w = shape
        return r.reshape(c, n, h, w).transpose(1, 0, 2, 3)

    def forward(self, x, train=False, record=None):
        """x : (N, C, ...) -> same shape."""
        L = self.layer
        eps = L.cfg["eps"]
        if train:
            L._check_batch(x)
        xr = self._rows(x)  # (C, M)
        c, m = xr.shape
        gamma, beta = L.params["gamma"].astype(x.dtype), L.params["beta"].astype(x.dtype)
        if train:
            mean, var = np.empty(c, x.dtype), np.empty(c, x.dtype)
        else:
            mean, var = L.buffers["running_mean"], L.buffers["running_var"]
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
            L.update_running(mean, var, m)
        keep = train if record is None else record
        self.cache = (train, xhat, inv) if keep else None
        return self._unrows(y, x.shape)

    def backward(self, dy, taps=None):
        """dy : (N, C, ...) -> dx, same shape; fills dgamma, dbeta."""
        batch_stats, xhat, inv = self._saved(dy)
        L = self.layer
        gamma = L.params["gamma"]
        dyr = self._rows(dy)  # (C, M)
        c, m = dyr.shape
        dgamma, dbeta = np.empty(c, dy.dtype), np.empty(c, dy.dtype)
        scale = gamma.astype(dy.dtype) * inv
        dx = np.empty((c, m), dy.dtype)

        def block(a, b):
            d = dyr[a:b]
            dgamma[a:b] = np.multiply(d, xhat[a:b], out=dx[a:b]).sum(axis=1)  # dx's block as scratch
            dbeta[a:b] = d.sum(axis=1)
            if not batch_stats:
                np.multiply(d, scale[a:b, None], out=dx[a:b])
                return
            # dx = gamma/sigma * (dy - mean(dy) - xhat * mean(dy * xhat))
            out = np.multiply(xhat[a:b], (dgamma[a:b] / m)[:, None], out=dx[a:b])
            np.subtract(d, out, out=out)
            out -= (dbeta[a:b] / m)[:, None]
            out *= scale[a:b, None]

        parallel.split(block, c, 6 * dyr.size)
        L.grads["gamma"] = dgamma.astype(gamma.dtype)
        L.grads["beta"] = dbeta.astype(gamma.dtype)
        return self._unrows(dx, dy.shape)
