"""Pooling: max routes the gradient to each window's arg-max, average spreads it evenly.

Written as the lecture does, on a view of every window; a network runs the same numbers
through engine/fast/pool.py (one strided pass per window offset, shared among threads)."""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from .base import Layer
from .conv import pair
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

    def torch_module(self, nested):
        return f"nn.{self.torch_name}(kernel_size={pair(self.k)}, stride={pair(self.s)}, padding={pair(self.p)})"

    def _pad(self, x, value=0.0):
        """x : (N, C, H, W) -> (N, C, H + 2ph, W + 2pw), the border filled with `value`."""
        (ph, pw) = self.p
        return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)

    def _windows(self, xp):
        """xp : (N, C, Hp, Wp) -> (N, C, Ho, Wo, kh, kw): the values each window sees (a view)."""
        (sh, sw), (_, ho, wo) = self.s, self.out_shape
        every = np.lib.stride_tricks.sliding_window_view(xp, self.k, axis=(2, 3))  # at every position
        return every[:, :, : sh * (ho - 1) + 1 : sh, : sw * (wo - 1) + 1 : sw]  # every S-th one


class MaxPool2D(_Pool2D):
    type = "maxpool2d"
    torch_name = "MaxPool2d"
    summary_doc = "keeps the largest value of each window"

    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> y : (N, C, Ho, Wo), the largest value of each window; padding is
        -inf, so it never wins. A NaN in a window wins, as in PyTorch: a diverging run shows it."""
        n, c, _, _ = x.shape
        (kh, kw), (_, ho, wo) = self.k, self.out_shape
        seen = self._windows(self._pad(x, -np.inf)).reshape(n, c, ho, wo, kh * kw)
        arg = seen.argmax(axis=-1)  # (N, C, Ho, Wo): where in its window each maximum is
        y = np.take_along_axis(seen, arg[..., None], axis=-1)[..., 0]
        self.cache = (x.shape, arg) if (train if record is None else record) else None
        return y

    def backward(self, dy):
        """dy : (N, C, Ho, Wo) -> dx : (N, C, H, W): each window's gradient goes to the one input
        that was its maximum (the first, in row-major window order, as PyTorch); the others get 0."""
        x_shape, arg = self._saved(dy)
        n, c, h, w = x_shape
        (ph, pw), (sh, sw), (_, kw), (_, ho, wo) = self.p, self.s, self.k, self.out_shape
        i, j = np.divmod(arg, kw)  # the maximum's offset in its window
        rows = np.arange(ho)[:, None] * sh + i  # (N, C, Ho, Wo): its row in xp
        cols = np.arange(wo)[None, :] * sw + j  # and its column
        dxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dy.dtype)
        image, channel = np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None]
        np.add.at(dxp, (image, channel, rows, cols), dy)  # windows may overlap: add
        return dxp[:, :, ph : ph + h, pw : pw + w]


class AvgPool2D(_Pool2D):
    type = "avgpool2d"
    torch_name = "AvgPool2d"
    summary_doc = "averages each window (padding counts as zeros, as in PyTorch)"

    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> y : (N, C, Ho, Wo), the mean of each window (padding counts)."""
        self.cache = (x.shape,) if (train if record is None else record) else None
        return self._windows(self._pad(x)).mean(axis=(-2, -1), dtype=x.dtype)

    def backward(self, dy):
        """dy : (N, C, Ho, Wo) -> dx : (N, C, H, W): each input gets 1/(kh*kw) of the gradient of
        every window it is in."""
        (x_shape,) = self._saved(dy)
        n, c, h, w = x_shape
        (kh, kw), (sh, sw), (ph, pw), (_, ho, wo) = self.k, self.s, self.p, self.out_shape
        dxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dy.dtype)
        for i in range(kh):  # window offset (i, j): one strided slice of the input
            for j in range(kw):
                dxp[:, :, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw] += dy / (kh * kw)
        return dxp[:, :, ph : ph + h, pw : pw + w]


class GlobalAvgPool2D(Layer):
    type = "global_avgpool2d"
    summary_doc = "averages each channel over the whole map: (C, H, W) -> (C, 1, 1)"

    def torch_module(self, nested):
        return "nn.AdaptiveAvgPool2d(1)"

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
