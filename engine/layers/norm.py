"""Batch normalization: normalize each channel by the batch's statistics in
training (keeping running averages), and by those running averages when
testing. gamma and beta then rescale and shift, so the layer can undo the
normalization if that serves the loss.

Written as the lecture does; a network runs the same numbers through engine/fast/norm.py
(one pass per channel block over (C, M) rows, shared among threads)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import SpecError
from .base import Layer
from .fields import Field

_FIELDS = (
    Field(
        "momentum", "float", default=0.1, min=0.0, max=1.0, help="weight of the newest batch in the running statistics"
    ),
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

    def torch_module(self, nested):
        return f"nn.{self.torch_name}({self.c}, eps={self.cfg['eps']!r}, momentum={self.cfg['momentum']!r})"

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

    def _check_batch(self, x):
        """One value per channel has no variance: refused in training, as PyTorch does."""
        if math.prod(x.shape) // self.c < 2:
            raise ValueError(
                f"{self.path} ({self.type}): training needs more than one value per channel to have a "
                f"variance, got input of shape {x.shape}; use a batch of at least 2 examples"
            )

    def update_running(self, mean, var, m):
        """running = (1 - momentum) running + momentum * batch statistic; the variance unbiased
        (m / (m - 1), m values per channel), as PyTorch."""
        mom = self.cfg["momentum"]
        rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
        rm *= 1 - mom
        rm += mom * mean.astype(rm.dtype)
        rv *= 1 - mom
        rv += mom * (var * (m / max(m - 1, 1))).astype(rv.dtype)
        self.buffers["num_batches_tracked"] += 1

    def _shaped(self, v):
        """(C,) -> broadcastable against x : (N, C, ...)."""
        return v.reshape((1, self.c) + (1,) * (self.ndim - 1))

    def forward(self, x, train=False, record=None):
        """x : (N, C, ...) -> y, same shape: per channel, over the batch (and positions),
        xhat = (x - mean) / sqrt(var + eps);  y = gamma * xhat + beta.
        Training uses the batch's mean and variance and updates the running ones; evaluation
        uses the running ones."""
        if train:
            self._check_batch(x)
            mean, var = x.mean(axis=self.axes), x.var(axis=self.axes)  # (C,) each
            self.update_running(mean, var, x.size // self.c)
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv = (1.0 / np.sqrt(var + self.cfg["eps"])).astype(x.dtype)  # (C,): 1 / sigma
        xhat = (x - self._shaped(mean).astype(x.dtype)) * self._shaped(inv)
        y = self._shaped(self.params["gamma"].astype(x.dtype)) * xhat + self._shaped(
            self.params["beta"].astype(x.dtype)
        )
        self.cache = (train, xhat, inv) if (train if record is None else record) else None
        return y

    def backward(self, dy):
        """dy : (N, C, ...) -> dx, same shape; fills dgamma, dbeta : (C,).

        dgamma = sum(dy * xhat), dbeta = sum(dy). In training the mean and variance depend
        on every x of the channel (m of them), which gives
            dx = gamma / sigma * (dy - mean(dy) - xhat * mean(dy * xhat));
        in evaluation they are constants: dx = gamma / sigma * dy."""
        batch_stats, xhat, inv = self._saved(dy)
        gamma = self.params["gamma"]
        dgamma, dbeta = (dy * xhat).sum(axis=self.axes), dy.sum(axis=self.axes)
        self.grads["gamma"], self.grads["beta"] = dgamma.astype(gamma.dtype), dbeta.astype(gamma.dtype)
        scale = self._shaped(gamma.astype(dy.dtype) * inv)
        if not batch_stats:
            return scale * dy
        m = dy.size // self.c
        return scale * (dy - self._shaped(dbeta / m) - xhat * self._shaped(dgamma / m))


class BatchNorm2D(_BatchNorm):
    type = "batchnorm2d"
    torch_name = "BatchNorm2d"
    summary_doc = "normalizes each channel over the batch and all positions"
    ndim = 3
    axes = (0, 2, 3)


class BatchNorm1D(_BatchNorm):
    type = "batchnorm1d"
    torch_name = "BatchNorm1d"
    summary_doc = "normalizes each feature over the batch"
    ndim = 1
    axes = (0,)
