"""A stride-1 convolution computed on the flat padded grid, for few channels on large maps.

Lay a chunk of m images, padded, end to end: (C, m*Hp*Wp) with a margin of zeros. A kernel
tap (i, j) then reads the input shifted by off = i*dh*Wp + j*dw along that flat index, so
im2col's row for (c, i, j) is one contiguous run, xflat[c, off:off + m*Hp*Wp], instead of
m*Ho runs of Wo (the copy runs at memory speed, 3-10 times faster than row by row). The product
gives an output at every grid position; the (Ho, Wo) corner of each image's grid is the
convolution, the rest is discarded. Backward reuses the trick:

    dL/dW = delta_grid @ cols^T       (delta laid on the grid, zero outside (Ho, Wo))
    dL/dX = W_t @ dcols               dcols[(f, i, j), p] = delta_grid[f, p - off]

where W_t[c, (f, i, j)] = W[f, c, i, j]: the full correlation with the kernel turned round,
a product of the same shape as forward's instead of col2im's larger one and its kh*kw sums.

The grid computes (Hp*Wp)/(Ho*Wo) times the work of the convolution (the positions whose
windows would leave the image): worth it only when that is small, i.e. on large maps
(`fits`); small maps (8x8 padded to 10x10 is 1.56 times the work) stay with im2col.
"""

from __future__ import annotations

import numpy as np

from .. import kernels

# The most extra work (grid positions per output) worth the faster copies, and the fewest
# input channels. Measured per layer (conv + relu, forward and backward, batch 32, one thread,
# time against im2col's): 16 channels at 32x32 padded by 1 (grid 1.13 x output) 0.94 forward,
# 0.92 backward; 10 at 62x62 (1.07) 0.98 and 1.00; 32 at 16x16 (1.27) 0.95 and 1.04; 10 at
# 30x30 (1.15) 0.93 and 1.16; 64 at 8x8 (1.56) loses. With 1 or 3 input channels the full
# correlation's product has too few rows (3 of 144): 1.7-2.4 times slower backward.
MAX_OVERHEAD = 1.2
MIN_CHANNELS = 16


def fits(layer) -> bool:
    """Whether this conv2d runs on the flat grid: stride 1, one group, enough channels, little
    extra work."""
    (kh, kw), ((pt, pb), (pl, pr)) = layer.k, layer.pads
    (_, ho, wo), (_, h, w) = layer.out_shape, layer.in_shape
    grid = (pt + h + pb) * (pl + w + pr)
    return (
        layer.s == (1, 1)
        and layer.g == 1
        and kh * kw > 1
        and layer.in_shape[0] >= MIN_CHANNELS
        and grid <= MAX_OVERHEAD * ho * wo
    )


# Inference (no backward): the same limit on extra work, and any channel count. Measured on
# one-image feature maps (one thread, alternating in one process, 300 pairs): TinyVGG, whose
# 3- and 10-channel convs now run on the grid, 0.96 of im2col's time; LeNet-5 and ResNet-8,
# with one such layer or none, 1.00.
MAX_FORWARD_OVERHEAD = 1.2


def fits_forward(layer) -> bool:
    """Whether this conv2d's inference runs on the flat grid: as `fits`, without the channel
    minimum, which only backward's full correlation needs."""
    (kh, kw), ((pt, pb), (pl, pr)) = layer.k, layer.pads
    (_, ho, wo), (_, h, w) = layer.out_shape, layer.in_shape
    grid = (pt + h + pb) * (pl + w + pr)
    return layer.s == (1, 1) and layer.g == 1 and kh * kw > 1 and grid <= MAX_FORWARD_OVERHEAD * ho * wo


class Grid:
    """One conv2d layer's grid geometry, and its chunk kernels (work arrays in `store`)."""

    def __init__(self, layer):
        (kh, kw), (dh, dw) = layer.k, layer.d
        ((self.pt, pb), (self.pl, pr)) = layer.pads
        (self.f, self.ho, self.wo), (self.c, self.h, self.w) = layer.out_shape, layer.in_shape
        self.hp, self.wp = self.pt + self.h + pb, self.pl + self.w + pr
        self.taps = kh * kw
        self.offsets = [i * dh * self.wp + j * dw for i in range(kh) for j in range(kw)]
        self.tail = self.offsets[-1]

    def _dcols(self, nb, dtype, store):
        return kernels.buffer(store, "gdcols", (self.f * self.taps, nb * self.hp * self.wp), dtype)

    def image_bytes(self, itemsize: int) -> int:
        """Work-array bytes per image: the larger of forward's and backward's columns."""
        return max(self.c, self.f) * self.taps * self.hp * self.wp * itemsize

    def columns(self, xt, nb, store, name="gcols"):
        """xt : (C, m, H, W) (channel-major images) -> cols : (C*kh*kw, m*Hp*Wp), rows (c, i, j)."""
        c, m = xt.shape[:2]
        size = m * self.hp * self.wp
        flat = kernels.buffer(store, "gx", (c, nb * self.hp * self.wp + self.tail), xt.dtype, zero=True)
        # interior only: the borders stay zero; past the m images, zero what the taps reach
        flat[:, :size].reshape(c, m, self.hp, self.wp)[:, :, self.pt : self.pt + self.h, self.pl : self.pl + self.w] = (
            xt
        )
        flat[:, size : size + self.tail] = 0
        cols = kernels.buffer(store, name, (c * self.taps, nb * self.hp * self.wp), xt.dtype)[:, :size]
        rows = cols.reshape(c, self.taps, size)
        for r, off in enumerate(self.offsets):
            rows[:, r] = flat[:, off : off + size]
        return cols

    def forward(self, w2, cols, out, nb, store):
        """w2 : (F, C*kh*kw), cols from `columns` -> out : (F, m, Ho, Wo) = the convolution."""
        size = cols.shape[1]
        # the output grid borrows backward's dcols array (F*kh*kw rows, scratch between uses)
        y = self._dcols(nb, cols.dtype, store)[: self.f, :size]
        np.matmul(w2, cols, out=y)
        out[...] = y.reshape(self.f, -1, self.hp, self.wp)[:, :, : self.ho, : self.wo]

    def delta(self, m, nb, dtype, store):
        """The delta grid for m images, (F, margin + m*Hp*Wp), and the view of its (Ho, Wo)
        corners, (F, m, Ho, Wo), for the caller to write delta into. The rest stays zero: only
        corners are ever written (an earlier chunk's past m images are never read)."""
        size = m * self.hp * self.wp
        g = kernels.buffer(store, "gd", (self.f, self.tail + nb * self.hp * self.wp), dtype, zero=True)
        corners = g[:, self.tail : self.tail + size].reshape(self.f, m, self.hp, self.wp)[:, :, : self.ho, : self.wo]
        return g[:, : self.tail + size], corners

    def input_gradient(self, wt2, g, nb, store):
        """wt2 : (C, F*kh*kw) (W turned round), g from `delta` -> dx : (C, m, H, W), a view of the
        columns' work array (call after dL/dW; copy it out before the next call)."""
        size = g.shape[1] - self.tail
        dcols = self._dcols(nb, g.dtype, store)[:, :size]
        rows = dcols.reshape(self.f, self.taps, size)
        for r, off in enumerate(self.offsets):
            rows[:, r] = g[:, self.tail - off : self.tail - off + size]
        # dx borrows the columns' array: dL/dW, the last to read them, is done with this chunk
        dx = kernels.buffer(store, "gcols", (self.c * self.taps, nb * self.hp * self.wp), g.dtype)[: self.c, :size]
        np.matmul(wt2, dcols, out=dx)
        return dx.reshape(self.c, -1, self.hp, self.wp)[:, :, self.pt : self.pt + self.h, self.pl : self.pl + self.w]
