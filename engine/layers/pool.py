"""Pooling: max routes the gradient to each window's arg-max, average spreads it evenly."""

from __future__ import annotations

import numpy as np

from .. import kernels, parallel
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

    def _tiles(self, shape):
        """Windows that do not overlap and cover every input: each input gets exactly one gradient."""
        (kh, kw), (ph, pw), (_, ho, wo) = self.k, self.p, self.out_shape
        return (self.s == self.k and ph == pw == 0 and shape[2] == ho * kh and shape[3] == wo * kw)

    def _empty(self, like, shape, zero):
        """An (N, C, H, W) array laid out like `like` (channel-major when it is), zeroed if asked."""
        n, c, h, w = shape
        make = np.zeros if zero else np.empty
        if like.transpose(1, 0, 2, 3).flags.c_contiguous and not like.flags.c_contiguous:
            return make((c, n, h, w), like.dtype).transpose(1, 0, 2, 3)
        return make(shape, like.dtype)


class MaxPool2D(_Pool2D):
    type = "maxpool2d"
    summary_doc = "keeps the largest value of each window"

    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> (N, C, Ho, Wo), laid out like x; large inputs are shared
        among threads by blocks of channels."""
        n, c, _, _ = x.shape
        _, ho, wo = self.out_shape
        xp = kernels.pad(x, *self.p, value=-np.inf)
        y = self._empty(x, (n, c, ho, wo), zero=False)

        def block(a, b):
            yb = y[:, a:b]
            for k, (_, _, view) in enumerate(kernels.windows(xp[:, a:b], self.k, self.s, ho, wo)):
                # maximum, not fmax: a NaN in the window wins, as in PyTorch, so a
                # diverging run shows its NaN instead of the max of the rest
                np.maximum(yb if k else -np.inf, view, out=yb)

        parallel.split(block, c, xp.size)
        self.cache = (x.shape, xp, y) if (train if record is None else record) else None
        return y

    def backward(self, dy):
        """dy : (N, C, Ho, Wo) -> dx : (N, C, H, W); each window's gradient goes to the
        first position (in row-major window order, as PyTorch) holding its maximum."""
        x_shape, xp, y = self._saved(dy)
        (ph, pw), (_, ho, wo) = self.p, self.out_shape
        _, c, h, w = x_shape
        tiles = self._tiles(x_shape)
        dxp = self._empty(dy, xp.shape, zero=not tiles)

        def block(a, b):
            taken = None  # windows whose maximum an earlier offset already took
            d, yb = dy[:, a:b], y[:, a:b]
            for (_, _, xv), (_, _, dv) in zip(kernels.windows(xp[:, a:b], self.k, self.s, ho, wo),
                                              kernels.windows(dxp[:, a:b], self.k, self.s, ho, wo)):
                hit = xv == yb
                if taken is None:
                    taken = hit.copy()
                else:
                    np.greater(hit, taken, out=hit)  # hit and not taken
                    taken |= hit
                if tiles:  # every input is in exactly one window: assign, no accumulation
                    np.multiply(d, hit, out=dv)
                else:
                    dv += d * hit

        parallel.split(block, c, 4 * xp.size)
        return dxp[:, :, ph:ph + h, pw:pw + w]


class AvgPool2D(_Pool2D):
    type = "avgpool2d"
    summary_doc = "averages each window (padding counts as zeros, as in PyTorch)"

    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> (N, C, Ho, Wo), laid out like x."""
        n, c, _, _ = x.shape
        _, ho, wo = self.out_shape
        kh, kw = self.k
        self.cache = (x.shape,) if (train if record is None else record) else None
        xp = kernels.pad(x, *self.p)
        y = self._empty(x, (n, c, ho, wo), zero=False)

        def block(a, b):
            yb = y[:, a:b]
            for k, (_, _, view) in enumerate(kernels.windows(xp[:, a:b], self.k, self.s, ho, wo)):
                if k:
                    yb += view
                else:
                    yb[...] = view
            yb /= kh * kw

        parallel.split(block, c, xp.size)
        return y

    def backward(self, dy):
        """dy : (N, C, Ho, Wo) -> dx : (N, C, H, W), 1/(kh*kw) of each window's gradient to each input."""
        (x_shape,) = self._saved(dy)
        n, c, h, w = x_shape
        (kh, kw), (ph, pw), (_, ho, wo) = self.k, self.p, self.out_shape
        share = dy / (kh * kw)
        tiles = self._tiles(x_shape)
        dxp = self._empty(dy, (n, c, h + 2 * ph, w + 2 * pw), zero=not tiles)

        def block(a, b):
            sb = share[:, a:b]
            for _, _, view in kernels.windows(dxp[:, a:b], self.k, self.s, ho, wo):
                if tiles:
                    view[...] = sb
                else:
                    view += sb

        parallel.split(block, c, dxp.size)
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
