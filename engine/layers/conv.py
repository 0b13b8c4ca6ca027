"""2-D convolution (cross-correlation, as in the lecture and in PyTorch).

Forward, for output channel f at (a, b):
    y[n,f,a,b] = b[f] + sum_{c,i,j} W[f,c,i,j] * xpad[n,c,a*S+i,b*S+j]
Backward, with delta = dL/dy:
    dL/dW = X convolved with delta (for each (c,i,j), the sum over windows)
    dL/dX = delta, dilated by the stride and fully padded, convolved with W
            rotated 180 degrees.
Both are computed through im2col as matrix products; tests check them
against those definitions written out as plain loops.

Memory layout: the product W @ cols comes out as (F, N*Ho*Wo), i.e. the
output is channel-major and is returned as a transposed view (see
kernels.py); nothing is transposed back and forth between layers.

The batch is worked through in chunks of a few images (kernels.batch_chunks),
shared among threads when engine.set_threads asks for more than one (see
parallel.py). While recording for a training step the work arrays are kept
and reused from one step to the next (self._scratch, one set per thread), so
large arrays are not re-allocated.
"""

from __future__ import annotations

import numpy as np

from .. import kernels, parallel
from ..errors import SpecError
from ..init import init_weight
from .base import Layer
from .fields import STD, Field, init_field
from .shape import window_out


class Conv2D(Layer):
    type = "conv2d"
    has_params = True
    summary_doc = "slides out_channels filters of kernel_size over the input; each output is a dot product plus a bias"
    fields = (
        Field("out_channels", "int", required=True, min=1, max=65536, help="number of filters"),
        Field("kernel_size", "int2", required=True, min=1, max=1024, help="filter size K (or [kh, kw])"),
        Field("stride", "int2", default=1, min=1, max=1024, help="step S between windows"),
        Field("padding", "padding", default=0, min=0, max=1024, help='zeros P added on each side; "same" keeps the size at stride 1'),
        Field("bias", "bool", default=True, help="add a learned bias per filter"),
        init_field("he_normal"),
        STD,
    )

    def __init__(self, in_shape, path, cfg):
        super().__init__(in_shape, path, cfg)
        if len(self.in_shape) != 3:
            raise SpecError(path, f"conv2d needs a (C, H, W) input, got {_shape(self.in_shape)}")
        _, h, w = self.in_shape
        self.k, self.s = cfg["kernel_size"], cfg["stride"]
        pad = cfg["padding"]
        if pad == "valid":
            pad = (0, 0)
        elif pad == "same":
            if self.s != (1, 1):
                raise SpecError(path, 'padding "same" needs stride 1', "padding")
            if self.k[0] % 2 == 0 or self.k[1] % 2 == 0:
                raise SpecError(path, 'padding "same" needs an odd kernel_size', "padding")
            pad = ((self.k[0] - 1) // 2, (self.k[1] - 1) // 2)
        self.p = pad
        self.f = cfg["out_channels"]
        ho, wo = window_out(self, (h, w), self.k, self.s, self.p)
        self.out_shape = (self.f, ho, wo)
        self._scratch: dict = {}  # work arrays reused between training steps: thread slot -> {name: array}

    def param_shapes(self):
        c = self.in_shape[0]
        shapes = {"W": (self.f, c) + self.k}
        if self.cfg["bias"]:
            shapes["b"] = (self.f,)
        return shapes

    def param_formula(self):
        (kh, kw), c = self.k, self.in_shape[0]
        inner = f"{kh}x{kw}x{c}" + (" + 1" if self.cfg["bias"] else "")
        return f"{self.f} x ({inner})"

    def macs(self):
        c = self.in_shape[0]
        return self.out_shape[0] * self.out_shape[1] * self.out_shape[2] * c * self.k[0] * self.k[1]

    def window(self):
        return self.k, self.s, self.p

    def init_params(self, rng, dtype=np.float32):
        c, (kh, kw) = self.in_shape[0], self.k
        self.params["W"] = init_weight(self.cfg["init"], (self.f, c, kh, kw), c * kh * kw,
                                       self.f * kh * kw, rng, self.cfg["std"], dtype)
        if self.cfg["bias"]:
            self.params["b"] = np.zeros(self.f, dtype)

    def _col_bytes(self, itemsize=4):
        """Bytes of im2col columns per image."""
        (kh, kw), (_, ho, wo) = self.k, self.out_shape
        return self.in_shape[0] * kh * kw * ho * wo * itemsize

    def _store(self, slot):
        """The work arrays of one thread slot."""
        return self._scratch.setdefault(slot, {})

    def _cols(self, x, n0, n1, nb, store, name="cols"):
        """im2col of images n0:n1 of x : (N, C, H, W) -> (C*kh*kw, m*Ho*Wo), m = n1 - n0,
        in work arrays sized for nb images (kept in `store` under `name` when it is given)."""
        (kh, kw), (ph, pw), (_, ho, wo), (c, h, w) = self.k, self.p, self.out_shape, self.in_shape
        m = n1 - n0
        xpad = kernels.buffer(store, "xpad", (c, nb, h + 2 * ph, w + 2 * pw), x.dtype, zero=True)
        out = kernels.buffer(store, name, (c * kh * kw, nb * ho * wo), x.dtype)[:, :m * ho * wo]
        return kernels.im2col(x[n0:n1], self.k, self.s, self.p, out.reshape(c, kh, kw, m, ho, wo), xpad[:, :m])[0]

    def fuses(self, nxt):
        return nxt.type == "relu"

    def forward(self, x, train=False, record=None, then=None):
        """x : (N, C, H, W) -> y : (N, F, Ho, Wo), a view of a channel-major (F, N, Ho, Wo) array.

        Chunk by chunk: the chunk's columns are built and multiplied while they
        are still in the cache. They are kept for backward when the whole
        batch's columns are small (kernels.KEEP_BYTES); otherwise backward
        builds them again. With then=relu (the next layer, see fuses), each
        chunk also goes through the ReLU while it is in the cache, and y is the
        ReLU's output, recorded as that layer's own forward would.
        """
        keep = train if record is None else record
        w2, b = self.params["W"].reshape(self.f, -1), self.params.get("b")
        n = x.shape[0]
        y = np.empty((self.f, n) + self.out_shape[1:], x.dtype)
        per_image = self._col_bytes(x.dtype.itemsize)
        nb, runs = kernels.batch_chunks(n, per_image)
        keep_cols = keep and n * per_image <= kernels.KEEP_BYTES
        kept = [None] * len(runs)

        def work(slot, pieces):
            store = self._store(slot) if keep else None
            for i in pieces:
                n0, n1 = runs[i]
                yc = y[:, n0:n1]
                cols = self._cols(x, n0, n1, nb, store, f"kept{i}" if keep_cols else "cols")
                np.matmul(w2, cols, out=yc.reshape(self.f, -1))  # (F, m*Ho*Wo)
                if b is not None:
                    yc += b[:, None, None, None]
                if then is not None:
                    then.apply(yc, yc)
                kept[i] = cols if keep_cols else None

        parallel.run(work, len(runs))
        self.cache = (x, kept if keep_cols else None) if keep else None
        y = y.transpose(1, 0, 2, 3)
        if then is not None:
            then.cache = y if keep else None
        return y

    def backward(self, dy, gate=None):
        """dy : (N, F, Ho, Wo) -> dx : (N, C, H, W); fills dW, db. With gate=relu (the
        next layer, fused in forward), dy is the gradient at the ReLU's output, and
        each chunk of it goes through the ReLU's backward while it is in the cache.

        Per chunk: dL/dW += delta @ cols^T, and dL/dX = col2im(W^T delta), each
        column's gradient going back to the inputs it read; dL/db += the sums of
        delta. The chunks' parts of dL/dW and dL/db are added in chunk order,
        whichever thread computed them.
        """
        x, kept = self._saved(dy)
        W = self.params["W"]
        n, c, h, w = x.shape
        w2 = W.reshape(self.f, -1)
        dyt = kernels.channel_major(dy)  # (F, N, Ho, Wo)
        relu_out = kernels.channel_major(gate._saved(dy)) if gate is not None else None  # (F, N, Ho, Wo)
        want_dx = self.needs_input_grad
        dxt = np.empty((c, n, h, w), dy.dtype) if want_dx else None  # (C, N, H, W)
        nb, runs = kernels.batch_chunks(n, self._col_bytes(x.dtype.itemsize))
        parts = [None] * len(runs)
        bias_parts = [None] * len(runs)
        want_db = "b" in self.params

        def work(slot, pieces):
            store = self._store(slot)
            for i in pieces:
                n0, n1 = runs[i]
                d = dyt[:, n0:n1]  # (F, m, Ho, Wo)
                if relu_out is not None:  # the fused ReLU's backward, on this chunk
                    gated = kernels.buffer(store, "gated", (self.f, nb) + self.out_shape[1:], dy.dtype)
                    d = gate.pass_gradient(d, relu_out[:, n0:n1], gated[:, :n1 - n0])
                cols = self._cols(x, n0, n1, nb, store) if kept is None else kept[i]
                # cols @ delta^T with delta^T made contiguous: of the ways to write this product,
                # the one that BLAS runs fastest here, and the only one that runs well in two
                # threads at once
                d2 = d.reshape(self.f, -1)  # (F, m*Ho*Wo), in this order whatever dy's layout
                parts[i] = np.dot(cols, np.ascontiguousarray(d2.T))
                if want_db:  # while this chunk of delta is in the cache
                    bias_parts[i] = d2.sum(axis=1)
                if not want_dx:
                    continue
                if self.s == (1, 1):
                    dxt[:, n0:n1] = kernels.col2im_flat(w2.T, d, x.shape, self.k, self.p, store, nb)
                else:
                    dcols = w2.T @ d2  # (C*kh*kw, m*Ho*Wo)
                    dxt[:, n0:n1] = kernels.channel_major(
                        kernels.col2im(dcols, (n1 - n0, c, h, w), self.k, self.s, self.p))

        parallel.run(work, len(runs))
        self.grads["W"] = np.ascontiguousarray(_in_order(parts).T).reshape(W.shape)
        if want_db:
            self.grads["b"] = _in_order(bias_parts)
        return dxt.transpose(1, 0, 2, 3) if want_dx else None


def _in_order(parts):
    """parts[0] + parts[1] + ..., added in that order (into parts[0])."""
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total


def _shape(s):
    return "(" + ", ".join(map(str, s)) + ")"
