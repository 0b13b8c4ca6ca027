"""conv_transpose2d's fast path.

The same numbers as ConvTranspose2D.forward / backward (engine/layers/conv_transpose.py: W^T x
folded by col2im; im2col of dL/dy and one product each for dL/dx and dL/dW), computed so that
they stay in the cache, as FastConv2D does (conv.py):

- the batch is worked through in chunks of a few images (kernels.batch_chunks), shared among
  threads (parallel.py); the split depends on the shapes only, so results are bit-identical
  whatever the thread count, and the chunks' parts of dL/dW and dL/db are added in chunk order;
- at stride 1, forward folds its columns on the flat padded grid (kernels.col2im_flat);
- while recording for a training step the work arrays are kept and reused from one step to
  the next (one set per thread); inference uses this thread's Arena.
"""

from __future__ import annotations

import numpy as np

from .. import kernels, parallel
from ..layers.conv import in_order
from .base import FastStep


class FastConvTranspose2D(FastStep):
    def __init__(self, layer):
        super().__init__(layer)
        self._scratch: dict = {}  # work arrays reused between training steps: thread slot -> {name: array}

    def _store(self, slot):
        return self._scratch.setdefault(slot, {})

    def _image_bytes(self, itemsize):
        """Bytes of the columns per image, which set the chunks of the batch: one per output
        channel, kernel tap and input position."""
        L = self.layer
        (kh, kw), (_, h, w) = L.k, L.in_shape
        return L.f * kh * kw * h * w * itemsize

    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> y : (N, F, Ho, Wo), a view of a channel-major (F, N, Ho, Wo) array.

        Per chunk: the columns W^T x (one product per group) folded onto the padded output
        (col2im), whose padding is then cut away; plus the bias.
        """
        L = self.layer
        keep = train if record is None else record
        c, h, w = L.in_shape
        (kh, kw), (_, ho, wo) = L.k, L.out_shape
        wt = L._groups(L.params["W"].reshape(c, -1)).transpose(0, 2, 1)  # (G, F/G*kh*kw, C/G)
        b = L.params.get("b")
        n = x.shape[0]
        xt = kernels.channel_major(x)  # (C, N, H, W)
        y = np.empty((L.f, n, ho, wo), x.dtype)
        nb, runs = kernels.batch_chunks(n, self._image_bytes(x.dtype.itemsize))
        y_shape = (n, L.f, ho, wo)

        def work(slot, pieces):
            store = self._store(slot) if keep else kernels.Arena.here()
            for i in pieces:
                n0, n1 = runs[i]
                xc = xt[:, n0:n1]  # (C, m, H, W)
                if L.s == (1, 1):
                    y[:, n0:n1] = kernels.col2im_flat(wt, xc, y_shape, L.k, L.pads, L.d, store, nb)
                else:
                    # (G, F/G*kh*kw, m*H*W): every input value times every tap of its filters
                    cols = kernels.grouped_matmul(wt, L._groups(xc.reshape(c, -1)))
                    cols = cols.reshape(L.f * kh * kw, -1)
                    y[:, n0:n1] = kernels.channel_major(
                        kernels.col2im(cols, (n1 - n0, *y_shape[1:]), L.k, L.s, L.pads, L.d, windows=(h, w))
                    )
                if b is not None:
                    y[:, n0:n1] += b[:, None, None, None]

        parallel.run(work, len(runs))
        self.cache = x if keep else None
        return y.transpose(1, 0, 2, 3)

    def backward(self, dy, taps=None):
        """dy : (N, F, Ho, Wo) -> dx : (N, C, H, W); fills the layer's dW, db.

        Per chunk: the columns of dL/dy (im2col, Q's windows, one at each input position);
        dL/dx = W @ cols and dL/dW += x @ cols^T per group; dL/db += the sums of dL/dy.
        """
        x = self._saved(dy)
        L = self.layer
        W = L.params["W"]
        n, c, h, w = x.shape
        (kh, kw), fk = L.k, L.f * L.k[0] * L.k[1]
        w3 = L._groups(W.reshape(c, -1))  # (G, C/G, F/G*kh*kw)
        dyt = kernels.channel_major(dy)  # (F, N, Ho, Wo)
        want_dx = L.needs_input_grad
        dxt = np.empty((c, n, h, w), dy.dtype) if want_dx else None
        nb, runs = kernels.batch_chunks(n, self._image_bytes(dy.dtype.itemsize))
        parts, bias_parts = [None] * len(runs), [None] * len(runs)
        want_db = "b" in L.params
        (pt, pb), (pl, pr) = L.pads
        _, ho, wo = L.out_shape

        def work(slot, pieces):
            store = self._store(slot)
            for i in pieces:
                n0, n1 = runs[i]
                m = n1 - n0
                dpad = kernels.buffer(store, "dpad", (L.f, nb, pt + ho + pb, pl + wo + pr), dy.dtype, zero=True)
                out = kernels.buffer(store, "cols", (fk, nb * h * w), dy.dtype)[:, : m * h * w]
                cols = kernels.im2col(
                    dy[n0:n1], L.k, L.s, L.pads, L.d, out.reshape(L.f, kh, kw, m, h, w), dpad[:, :m], windows=(h, w)
                )[0]  # (F*kh*kw, m*H*W)
                # cols @ x^T per group, with x^T : (m*H*W, C) contiguous: (G, F/G*kh*kw, C/G)
                xt_chunk = np.ascontiguousarray(x[n0:n1].transpose(0, 2, 3, 1)).reshape(-1, c)
                parts[i] = kernels.grouped_dot(cols, xt_chunk, L.g)
                if want_db:
                    bias_parts[i] = dyt[:, n0:n1].sum(axis=(1, 2, 3))
                if want_dx:
                    dx = kernels.grouped_matmul(w3, L._groups(cols))  # (G, C/G, m*H*W)
                    dxt[:, n0:n1] = dx.reshape(c, m, h, w)

        parallel.run(work, len(runs))
        # (G, F/G*kh*kw, C/G) -> (G, C/G, F/G*kh*kw) = W's layout
        L.grads["W"] = np.ascontiguousarray(in_order(parts).transpose(0, 2, 1)).reshape(W.shape)
        if want_db:
            L.grads["b"] = in_order(bias_parts)
        return dxt.transpose(1, 0, 2, 3) if want_dx else None
