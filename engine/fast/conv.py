"""conv2d's fast path, and conv2d + relu fused (built by fusion.py).

The same numbers as Conv2D.forward / backward (engine/layers/conv.py, the lecture's im2col
and one matrix product), computed so that they stay in the cache:

- the batch is worked through in chunks of a few images (kernels.batch_chunks), shared
  among threads when engine.set_threads asks for more than one (parallel.py); the split
  depends on the shapes only, so results are bit-identical whatever the thread count;
- each chunk's columns are built and multiplied while they are still in the cache, and
  kept for backward when the whole batch's columns are small (kernels.KEEP_BYTES);
- while recording for a training step the work arrays are kept and reused from one step
  to the next (one set per thread);
- kernels are chosen by shape: few channels on large maps at stride 1 run on the flat
  padded grid, forward and backward (grid.py); otherwise dL/dX goes through col2im_flat at
  stride 1, and dL/dW without a transposed copy for few rows (kernels.weight_gradient);
- ConvReLU runs the next layer's ReLU on each chunk while it is in the cache, and its
  backward the ReLU's gate on each chunk of the gradient.
"""

from __future__ import annotations

import numpy as np

from .. import kernels, parallel
from ..layers.conv import in_order
from . import grid as flat_grid
from .base import FastStep


class FastConv2D(FastStep):
    relu = None  # ConvReLU: the fused ReLU layer

    def __init__(self, conv, *rest):
        super().__init__(conv, *rest)
        self.grid = flat_grid.Grid(conv) if flat_grid.fits(conv) else None  # training's kernel
        # inference has no backward to weigh: the grid's copies win on more shapes
        self.forward_grid = self.grid or (flat_grid.Grid(conv) if flat_grid.fits_forward(conv) else None)
        self._scratch: dict = {}  # work arrays reused between training steps: thread slot -> {name: array}

    def _store(self, slot):
        return self._scratch.setdefault(slot, {})

    def _image_bytes(self, itemsize, grid):
        """Work-array bytes per image, which set the chunks of the batch."""
        return grid.image_bytes(itemsize) if grid else self.layer.col_bytes(itemsize)

    def _cols(self, x, n0, n1, nb, store, name="cols"):
        """im2col of images n0:n1 of x : (N, C, H, W) -> (C*kh*kw, m*Ho*Wo), m = n1 - n0,
        in work arrays sized for nb images (kept in `store` under `name` when it is given)."""
        L = self.layer
        (kh, kw), ((pt, pb), (pl, pr)) = L.k, L.pads
        (_, ho, wo), (c, h, w) = L.out_shape, L.in_shape
        m = n1 - n0
        xpad = kernels.buffer(store, "xpad", (c, nb, pt + h + pb, pl + w + pr), x.dtype, zero=True)
        out = kernels.buffer(store, name, (c * kh * kw, nb * ho * wo), x.dtype)[:, : m * ho * wo]
        return kernels.im2col(x[n0:n1], L.k, L.s, L.pads, L.d, out.reshape(c, kh, kw, m, ho, wo), xpad[:, :m])[0]

    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> y : (N, F, Ho, Wo), a view of a channel-major (F, N, Ho, Wo) array
        (the ReLU's output for ConvReLU)."""
        L, relu = self.layer, self.relu
        keep = train if record is None else record
        w3 = L._groups(L.params["W"].reshape(L.f, -1))  # (G, F/G, C/G*kh*kw)
        b = L.params.get("b")
        n = x.shape[0]
        y = np.empty((L.f, n) + L.out_shape[1:], x.dtype)
        grid, xt = (self.grid if keep else self.forward_grid), kernels.channel_major(x)
        per_image = self._image_bytes(x.dtype.itemsize, grid)
        nb, runs = kernels.batch_chunks(n, per_image)
        keep_cols = keep and n * per_image <= kernels.KEEP_BYTES
        kept = [None] * len(runs)

        def work(slot, pieces):
            store = self._store(slot) if keep else kernels.Arena.here()
            for i in pieces:
                n0, n1 = runs[i]
                yc = y[:, n0:n1]
                name = f"kept{i}" if keep_cols else ("gcols" if grid else "cols")
                if grid is not None:
                    cols = grid.columns(xt[:, n0:n1], nb, store, name)
                    grid.forward(w3[0], cols, yc, nb, store)
                else:
                    cols = self._cols(x, n0, n1, nb, store, name)
                    # (G, F/G, m*Ho*Wo) = (G, F/G, C/G*kh*kw) @ (G, C/G*kh*kw, m*Ho*Wo)
                    kernels.grouped_matmul(w3, L._groups(cols), out=L._groups(yc.reshape(L.f, -1)))
                if b is not None:
                    yc += b[:, None, None, None]
                if relu is not None:
                    relu.apply(yc, yc)
                kept[i] = cols if keep_cols else None

        parallel.run(work, len(runs))
        y = y.transpose(1, 0, 2, 3)
        self.cache = (x, kept if keep_cols else None, y if relu is not None else None) if keep else None
        return y

    def backward(self, dy, taps=None):
        """dy : (N, F, Ho, Wo) (at the ReLU's output for ConvReLU) -> dx : (N, C, H, W); fills
        the conv's dW, db. The chunks' parts of dL/dW and dL/db are added in chunk order,
        whichever thread computed them."""
        x, kept, relu_y = self._saved(dy)
        L, relu = self.layer, self.relu
        W = L.params["W"]
        n, c, h, w = x.shape
        wt = L._groups(W.reshape(L.f, -1)).transpose(0, 2, 1)  # (G, C/G*kh*kw, F/G)
        dyt = kernels.channel_major(dy)  # (F, N, Ho, Wo)
        relu_out = kernels.channel_major(relu_y) if relu is not None else None
        gated_all = None
        if relu is not None and taps is not None:  # the gradient at the conv's output, asked for
            gated_all = np.empty_like(dyt)
            taps[L.path] = gated_all.transpose(1, 0, 2, 3)
        want_dx = L.needs_input_grad
        dxt = np.empty((c, n, h, w), dy.dtype) if want_dx else None  # (C, N, H, W)
        nb, runs = kernels.batch_chunks(n, self._image_bytes(x.dtype.itemsize, self.grid))
        grid, xt = self.grid, kernels.channel_major(x)
        if grid is not None and want_dx:  # (C, F*kh*kw): W turned round, for the full correlation
            wt2 = np.ascontiguousarray(W.transpose(1, 0, 2, 3)).reshape(c, -1)
        parts = [None] * len(runs)
        bias_parts = [None] * len(runs)
        want_db = "b" in L.params

        def work(slot, pieces):
            store = self._store(slot)
            for i in pieces:
                n0, n1 = runs[i]
                d = dyt[:, n0:n1]  # (F, m, Ho, Wo)
                if grid is not None:
                    grid_chunk(store, i, n0, n1, d)
                    continue
                if relu_out is not None:  # the fused ReLU's backward, on this chunk
                    gated = (
                        gated_all
                        if gated_all is not None
                        else kernels.buffer(store, "gated", (L.f, nb) + L.out_shape[1:], dy.dtype)
                    )
                    d = relu.pass_gradient(
                        d, relu_out[:, n0:n1], gated[:, n0:n1] if gated_all is not None else gated[:, : n1 - n0]
                    )
                cols = self._cols(x, n0, n1, nb, store) if kept is None else kept[i]
                d2 = d.reshape(L.f, -1)  # (F, m*Ho*Wo), in this order whatever dy's layout
                parts[i] = kernels.weight_gradient(cols, d2, L.g)
                if want_db:  # while this chunk of delta is in the cache
                    bias_parts[i] = d2.sum(axis=1)
                if not want_dx:
                    continue
                if L.s == (1, 1):
                    dxt[:, n0:n1] = kernels.col2im_flat(wt, d, x.shape, L.k, L.pads, L.d, store, nb)
                else:
                    dcols = kernels.grouped_matmul(wt, L._groups(d2))  # (G, C/G*kh*kw, m*Ho*Wo)
                    dcols = dcols.reshape(c * L.k[0] * L.k[1], -1)
                    dxt[:, n0:n1] = kernels.channel_major(
                        kernels.col2im(dcols, (n1 - n0, c, h, w), L.k, L.s, L.pads, L.d)
                    )

        def grid_chunk(store, i, n0, n1, d):
            g, corners = grid.delta(n1 - n0, nb, dy.dtype, store)  # delta on the grid
            if relu_out is not None:
                relu.pass_gradient(d, relu_out[:, n0:n1], corners)
                if gated_all is not None:
                    gated_all[:, n0:n1] = corners
            else:
                corners[...] = d
            cols = grid.columns(xt[:, n0:n1], nb, store) if kept is None else kept[i]
            d2 = g[:, grid.tail :]  # (F, m*Hp*Wp)
            parts[i] = kernels.weight_gradient(cols, d2, 1)
            if want_db:
                bias_parts[i] = d2.sum(axis=1)
            if want_dx:
                dxt[:, n0:n1] = grid.input_gradient(wt2, g, nb, store)

        parallel.run(work, len(runs))
        # (G, C/G*kh*kw, F/G) -> (G, F/G, C/G*kh*kw) = W's layout
        L.grads["W"] = np.ascontiguousarray(in_order(parts).transpose(0, 2, 1)).reshape(W.shape)
        if want_db:
            L.grads["b"] = in_order(bias_parts)
        return dxt.transpose(1, 0, 2, 3) if want_dx else None


class ConvReLU(FastConv2D):
    """A conv2d and the relu after it, as one step: the ReLU runs on each chunk of the conv's
    output while it is in the cache, and its gate on each chunk of the gradient."""

    def __init__(self, conv, relu):
        super().__init__(conv, relu)
        self.relu = relu
