"""Pooling: max routes the gradient to each window's arg-max, average spreads it evenly."""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..errors import SpecError
from .base import Layer
from .fields import Field
from .shape import window_out

_POOL_FIELDS = (
    Field("kernel_size", "int2", required=True, min=1, max=1024, help="window size K"),
    Field("stride", "int2", default=None, min=1, max=1024, help="step S (default: kernel_size)"),
    Field("padding", "int2", default=0, min=0, max=512, help="P added on each side (at most K/2)"),
)


class _Pool2D(Layer):
    fields = _POOL_FIELDS

    def __init__(self, in_shape, path, cfg):
        super().__init__(in_shape, path, cfg)
        if len(self.in_shape) != 3:
            raise SpecError(path, f"{self.type} needs a (C, H, W) input, got {self.in_shape}")
        self.k = cfg["kernel_size"]
        self.s = cfg["stride"] or self.k
        self.p = cfg["padding"]
        for kk, pp in zip(self.k, self.p):
            if 2 * pp > kk:
                raise SpecError(path, f"padding {pp} is more than half the kernel_size {kk}", "padding")
        ho, wo = window_out(self, self.in_shape[1:], self.k, self.s, self.p)
        self.out_shape = (self.in_shape[0], ho, wo)

    def window(self):
        return self.k, self.s, self.p

    def _fast(self, x):
        """Non-overlapping windows that tile the input exactly: a reshape suffices."""
        (kh, kw), (ph, pw) = self.k, self.p
        return (self.s == self.k and ph == pw == 0
                and x.shape[2] % kh == 0 and x.shape[3] % kw == 0)


class MaxPool2D(_Pool2D):
    type = "maxpool2d"
    summary_doc = "keeps the largest value of each window"

    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> (N, C, Ho, Wo)."""
        n, c, h, w = x.shape
        _, ho, wo = self.out_shape
        keep = train if record is None else record
        if self._fast(x):
            kh, kw = self.k
            v = x.reshape(n, c, ho, kh, wo, kw)
            y = v.max(axis=(3, 5))
            self.cache = ("fast", x, y) if keep else None
            return y
        xp = kernels.pad(x, *self.p, value=-np.inf)
        y = np.full((n, c, ho, wo), -np.inf, dtype=x.dtype)
        arg = np.zeros((n, c, ho, wo), dtype=np.int32)
        for i, j, view in kernels.windows(xp, self.k, self.s, ho, wo):
            better = view > y  # strict: the first maximum wins, as in PyTorch
            y = np.where(better, view, y)
            arg[better] = i * self.k[1] + j
        self.cache = ("slow", x.shape, arg) if keep else None
        return y

    def backward(self, dy):
        cache = self._saved(dy)
        if cache[0] == "fast":
            _, x, y = cache
            n, c, ho, wo = y.shape
            kh, kw = self.k
            v = x.reshape(n, c, ho, kh, wo, kw)
            mask = v == y[:, :, :, None, :, None]
            # keep only the first maximum of each window, as forward's arg-max does
            flat = mask.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ho, wo, kh * kw)
            first = flat.argmax(axis=-1)
            onehot = np.zeros_like(flat, dtype=dy.dtype)
            np.put_along_axis(onehot, first[..., None], 1, axis=-1)
            dx = onehot * dy[..., None]
            return dx.reshape(n, c, ho, wo, kh, kw).transpose(0, 1, 2, 4, 3, 5).reshape(x.shape)
        _, x_shape, arg = cache
        n, c, h, w = x_shape
        (ph, pw), (_, ho, wo) = self.p, self.out_shape
        dxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=dy.dtype)
        for i, j, view in kernels.windows(dxp, self.k, self.s, ho, wo):
            view += np.where(arg == i * self.k[1] + j, dy, 0)
        return dxp[:, :, ph:ph + h, pw:pw + w]


class AvgPool2D(_Pool2D):
    type = "avgpool2d"
    summary_doc = "averages each window (padding counts as zeros, as in PyTorch)"

    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> (N, C, Ho, Wo)."""
        n, c, h, w = x.shape
        _, ho, wo = self.out_shape
        kh, kw = self.k
        self.cache = (x.shape,) if (train if record is None else record) else None
        if self._fast(x):
            return x.reshape(n, c, ho, kh, wo, kw).mean(axis=(3, 5))
        xp = kernels.pad(x, *self.p)
        y = np.zeros((n, c, ho, wo), dtype=x.dtype)
        for _, _, view in kernels.windows(xp, self.k, self.s, ho, wo):
            y += view
        return y / (kh * kw)

    def backward(self, dy):
        (x_shape,) = self._saved(dy)
        n, c, h, w = x_shape
        (kh, kw), (ph, pw), (_, ho, wo) = self.k, self.p, self.out_shape
        share = dy / (kh * kw)
        if self._fast(np.empty((0, 0, h, w))):
            return np.broadcast_to(share[:, :, :, None, :, None], (n, c, ho, kh, wo, kw)).reshape(x_shape).copy()
        dxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=dy.dtype)
        for _, _, view in kernels.windows(dxp, self.k, self.s, ho, wo):
            view += share
        return dxp[:, :, ph:ph + h, pw:pw + w]


class GlobalAvgPool2D(Layer):
    type = "global_avgpool2d"
    summary_doc = "averages each channel over the whole map: (C, H, W) -> (C, 1, 1)"

    def __init__(self, in_shape, path, cfg):
        super().__init__(in_shape, path, cfg)
        if len(self.in_shape) != 3:
            raise SpecError(path, f"global_avgpool2d needs a (C, H, W) input, got {self.in_shape}")
        self.out_shape = (self.in_shape[0], 1, 1)

    def window(self):
        _, h, w = self.in_shape
        return (h, w), (1, 1), (0, 0)

    def forward(self, x, train=False, record=None):
        self.cache = (x.shape,) if (train if record is None else record) else None
        return x.mean(axis=(2, 3), keepdims=True)

    def backward(self, dy):
        (x_shape,) = self._saved(dy)
        return np.broadcast_to(dy / (x_shape[2] * x_shape[3]), x_shape).copy()
