"""Max and average pooling's fast path: one pass per window offset over a block of channels
small enough to stay in the cache, each pass a strided slice of that block; the channels shared
among threads; outputs laid out
like their inputs (channel-major after a conv), and backward assigning instead of accumulating
where the windows tile the input. The same numbers as MaxPool2D / AvgPool2D
(engine/layers/pool.py), which tests check."""

from __future__ import annotations

import numpy as np

from .. import kernels, parallel
from .base import FastStep


def _tiles(layer, shape):
    """Windows that do not overlap and cover every input: each input gets exactly one gradient."""
    (kh, kw), (ph, pw), (_, ho, wo) = layer.k, layer.p, layer.out_shape
    return layer.s == layer.k and ph == pw == 0 and shape[2] == ho * kh and shape[3] == wo * kw


# Each window offset is a pass over the input: over a whole large batch the input falls out
# of the cache between passes. Working through blocks of channels of about BLOCK_BYTES (one
# core's L2 cache) keeps each block in the cache for all its passes: the same numbers, block
# by block. Measured on TinyVGG's first max pool (4.6 MB in, one thread): forward 0.69 ms ->
# 0.56, backward 1.66 -> 1.15 (with its masks written in place); its train step 0.95 of the
# time (alternating in one process).
BLOCK_BYTES = 512 << 10


def _in_blocks(fn, a, b, channel_bytes):
    """fn(a2, b2) on consecutive blocks of channels [a, b) of about BLOCK_BYTES each."""
    step = max(1, BLOCK_BYTES // max(channel_bytes, 1))
    for a2 in range(a, b, step):
        fn(a2, min(b, a2 + step))


def _empty(like, shape, zero):
    """An (N, C, H, W) array laid out like `like` (channel-major when it is), zeroed if asked."""
    n, c, h, w = shape
    make = np.zeros if zero else np.empty
    if like.transpose(1, 0, 2, 3).flags.c_contiguous and not like.flags.c_contiguous:
        return make((c, n, h, w), like.dtype).transpose(1, 0, 2, 3)
    return make(shape, like.dtype)


class FastMaxPool2D(FastStep):
    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> (N, C, Ho, Wo)."""
        L = self.layer
        n, c, _, _ = x.shape
        _, ho, wo = L.out_shape
        xp = kernels.pad(x, *L.p, value=-np.inf)
        y = _empty(x, (n, c, ho, wo), zero=False)

        def block(a, b):
            yb = y[:, a:b]
            for k, (_, _, view) in enumerate(kernels.windows(xp[:, a:b], L.k, L.s, ho, wo)):
                # maximum, not fmax: a NaN in the window wins, as in PyTorch
                np.maximum(yb if k else -np.inf, view, out=yb)

        per_channel = xp.nbytes // max(c, 1)
        parallel.split(lambda a, b: _in_blocks(block, a, b, per_channel), c, xp.size)
        self.cache = (x.shape, xp, y) if (train if record is None else record) else None
        return y

    def backward(self, dy, taps=None):
        """dy : (N, C, Ho, Wo) -> dx : (N, C, H, W); each window's gradient goes to the first
        position (in row-major window order) holding its maximum."""
        x_shape, xp, y = self._saved(dy)
        L = self.layer
        (ph, pw), (_, ho, wo) = L.p, L.out_shape
        _, c, h, w = x_shape
        tiles = _tiles(L, x_shape)
        dxp = _empty(dy, xp.shape, zero=not tiles)

        def block(a, b):
            d, yb = dy[:, a:b], y[:, a:b]
            hit = np.empty(yb.shape, bool)
            taken = np.empty(yb.shape, bool)  # windows whose maximum an earlier offset already took
            for k, ((_, _, xv), (_, _, dv)) in enumerate(
                zip(kernels.windows(xp[:, a:b], L.k, L.s, ho, wo), kernels.windows(dxp[:, a:b], L.k, L.s, ho, wo))
            ):
                np.equal(xv, yb, out=hit)
                if k == 0:
                    taken[...] = hit
                else:
                    np.greater(hit, taken, out=hit)  # hit and not taken
                    taken |= hit
                if tiles:  # every input is in exactly one window: assign, no accumulation
                    np.multiply(d, hit, out=dv)
                else:
                    dv += d * hit

        per_channel = xp.nbytes // max(c, 1)
        parallel.split(lambda a, b: _in_blocks(block, a, b, per_channel), c, 4 * xp.size)
        return dxp[:, :, ph : ph + h, pw : pw + w]


class FastAvgPool2D(FastStep):
    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> (N, C, Ho, Wo)."""
        L = self.layer
        n, c, _, _ = x.shape
        _, ho, wo = L.out_shape
        kh, kw = L.k
        self.cache = (x.shape,) if (train if record is None else record) else None
        xp = kernels.pad(x, *L.p)
        y = _empty(x, (n, c, ho, wo), zero=False)

        def block(a, b):
            yb = y[:, a:b]
            for k, (_, _, view) in enumerate(kernels.windows(xp[:, a:b], L.k, L.s, ho, wo)):
                if k:
                    yb += view
                else:
                    yb[...] = view
            yb /= kh * kw

        per_channel = xp.nbytes // max(c, 1)
        parallel.split(lambda a, b: _in_blocks(block, a, b, per_channel), c, xp.size)
        return y

    def backward(self, dy, taps=None):
        """dy : (N, C, Ho, Wo) -> dx : (N, C, H, W), 1/(kh*kw) of each window's gradient to each input."""
        (x_shape,) = self._saved(dy)
        L = self.layer
        n, c, h, w = x_shape
        (kh, kw), (ph, pw), (_, ho, wo) = L.k, L.p, L.out_shape
        share = dy / (kh * kw)
        tiles = _tiles(L, x_shape)
        dxp = _empty(dy, (n, c, h + 2 * ph, w + 2 * pw), zero=not tiles)

        def block(a, b):
            sb = share[:, a:b]
            for _, _, view in kernels.windows(dxp[:, a:b], L.k, L.s, ho, wo):
                if tiles:
                    view[...] = sb
                else:
                    view += sb

        per_channel = dxp.nbytes // max(c, 1)
        parallel.split(lambda a, b: _in_blocks(block, a, b, per_channel), c, dxp.size)
        return dxp[:, :, ph : ph + h, pw : pw + w]
