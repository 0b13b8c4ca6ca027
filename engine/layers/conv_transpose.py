"""Transposed convolution (PyTorch's ConvTranspose2d): a convolution's backward pass to its
input, used as a layer of its own to make maps larger (a U-Net's decoder, a GAN's generator).

Take the convolution Q with this layer's kernel_size, stride, padding, dilation and groups,
from this layer's output shape to its input shape. This layer's forward is Q's gradient with
respect to its input: the lecture's "dL/dX is delta fully convolved with W rotated 180
degrees", with this layer's input in the place of delta. Written out, each input value spreads
into the output through the kernel:

    y[n, f, a*S - P + i*d, b*S - P + j*d] += x[n, c, a, b] * W[c, f, i, j]     (+ b[f])

for W : (C, F/G, kh, kw), f among the F/G outputs of c's group (tests/engine/reference.py
has it as plain loops). Its backward is Q's forward: dL/dx is dL/dy convolved with W, and
dL/dW[c, f, i, j] sums x[n, c, a, b] times the entries of dL/dy that x * W[c, f, i, j] went to.

The output size inverts the convolution's formula:

    N_out = (N_in - 1)S - 2P + d(K - 1) + output_padding + 1

A stride S > 1 floors S sizes of Q's input to one output size; output_padding (smaller than
the stride or the dilation, as PyTorch requires) says which of them this layer gives, by adding
rows and columns at the bottom and right.

Like Conv2D it works through the batch in chunks shared among threads (parallel.py), with the
same im2col and col2im kernels: forward folds W^T x into the output (col2im), backward unfolds
dL/dy into columns (im2col) and multiplies, one product per group of channels.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd

import numpy as np

from .. import kernels, parallel
from ..errors import SpecError
from ..init import init_weight
from .base import Layer
from .conv import (
    BIAS,
    DILATION,
    GROUPS,
    KERNEL_SIZE,
    OUT_CHANNELS,
    STRIDE,
    check_groups,
    dilation_groups,
    in_order,
    needs_image,
    pair,
)
from .fields import STD, Field, init_field
from .shape import MAX_SIZE


class ConvTranspose2D(Layer):
    type = "conv_transpose2d"
    has_params = True
    summary_doc = (
        "a convolution run backwards: each input value adds a copy of the filters, "
        "scaled by it, into a larger output (upsampling)"
    )
    fields = (
        OUT_CHANNELS,
        KERNEL_SIZE,
        STRIDE,
        Field(
            "padding", "int2", default=0, min=0, max=1024, help="rows and columns P cut from each side of the output"
        ),
        Field(
            "output_padding",
            "int2",
            default=0,
            min=0,
            max=1023,
            help="rows and columns added at the bottom and right (less than the stride or the dilation)",
        ),
        DILATION,
        GROUPS,
        BIAS,
        init_field("he_normal"),
        STD,
    )

    def torch_module(self, nested):
        extra = f", output_padding={pair(self.op)}" if self.op != (0, 0) else ""
        return (
            f"nn.ConvTranspose2d({self.in_shape[0]}, {self.cfg['out_channels']}, "
            f"kernel_size={pair(self.k)}, stride={pair(self.s)}, padding={pair(self.p)}"
            f"{extra}{dilation_groups(self)}, bias={self.cfg['bias']})"
        )

    def __init__(self, in_shape, path, cfg):
        super().__init__(in_shape, path, cfg)
        needs_image(self)
        c, h, w = self.in_shape
        self.f, self.g = cfg["out_channels"], cfg["groups"]
        self.k, self.s, self.p = cfg["kernel_size"], cfg["stride"], cfg["padding"]
        self.d, self.op = cfg["dilation"], cfg["output_padding"]
        check_groups(self, c, self.f)
        out, self.formulas = [], []
        axes = zip(("height", "width"), (h, w), self.k, self.s, self.p, self.d, self.op)
        for name, n, k, s, p, d, op in axes:
            if op >= s and op >= d:
                raise SpecError(
                    path,
                    f"output_padding {op} must be smaller than the stride {s} or "
                    f"the dilation {d} (as in PyTorch): it only picks one of the "
                    f"{name}s a strided convolution maps to the same size",
                    "output_padding",
                )
            o = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
            kernel = f"({k} - 1)" if d == 1 else f"{d}*({k} - 1)"
            text = f"({n} - 1)*{s} - 2*{p} + {kernel} + {op} + 1 = {o}"
            if o < 1:
                raise SpecError(path, f"the output {name} {text} is less than 1; use less padding", "padding")
            if o > MAX_SIZE:
                raise SpecError(
                    path, f"the output {name} {text} is more than {MAX_SIZE}; use a smaller stride or kernel", "stride"
                )
            out.append(o)
            if text not in self.formulas:
                self.formulas.append(text)
        self.out_shape = (self.f, *out)
        self._scratch: dict = {}  # work arrays reused between steps: thread slot -> {name: array}

    def param_shapes(self):
        shapes = {"W": (self.in_shape[0], self.f // self.g) + self.k}
        if self.cfg["bias"]:
            shapes["b"] = (self.f,)
        return shapes

    def param_formula(self):
        """in_channels x (kh x kw x out_channels/groups) + out_channels."""
        (kh, kw), c = self.k, self.in_shape[0]
        per_input = f"{kh}x{kw}x{self.f}" if self.g == 1 else f"{kh}x{kw}x({self.f}/{self.g})"
        return f"{c} x ({per_input})" + (f" + {self.f}" if self.cfg["bias"] else "")

    def macs(self):
        c, h, w = self.in_shape
        return c * h * w * (self.f // self.g) * self.k[0] * self.k[1]

    def receptive_field(self, size, jump):
        """Neighbouring outputs are 1/S of an input apart. One output sums the inputs whose
        kernel taps land on it: at most floor((K - 1)g/S) d/g + 1 of them along an axis, inputs
        that taps a multiple of S/g apart reach (g = gcd(d, S))."""
        size, jump = list(size), list(jump)
        for a, (k, s, d) in enumerate(zip(self.k, self.s, self.d)):
            g = gcd(d, s)
            size[a] += ((k - 1) * g // s) * (d // g) * jump[a]
            jump[a] = Fraction(jump[a]) / s
        return tuple(size), tuple(jump)

    def init_params(self, rng, dtype=np.float32):
        c, fg, (kh, kw) = self.in_shape[0], self.f // self.g, self.k
        # fans as PyTorch reckons them from W's shape (C, F/G, kh, kw)
        self.params["W"] = init_weight(
            self.cfg["init"], (c, fg, kh, kw), fg * kh * kw, c * kh * kw, rng, self.cfg["std"], dtype
        )
        if self.cfg["bias"]:
            self.params["b"] = np.zeros(self.f, dtype)

    # ---- the convolution Q this layer runs backwards --------------------------------------
    def _pads(self):
        return tuple((p, p) for p in self.p)

    def _col_bytes(self, itemsize=4):
        """Bytes of the columns per image: one per output channel, kernel tap and input position."""
        (kh, kw), (_, h, w) = self.k, self.in_shape
        return self.f * kh * kw * h * w * itemsize

    def _store(self, slot):
        return self._scratch.setdefault(slot, {})

    def _groups(self, a):
        """(rows, ...) -> (G, rows/G, ...): the blocks of one group of channels each."""
        return a.reshape((self.g, -1) + a.shape[1:])

    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> y : (N, F, Ho, Wo), a view of a channel-major (F, N, Ho, Wo) array.

        Per chunk: the columns W^T x (one product per group) folded onto the padded output
        (col2im), whose padding is then cut away; plus the bias.
        """
        keep = train if record is None else record
        c, h, w = self.in_shape
        (kh, kw), (_, ho, wo) = self.k, self.out_shape
        wt = self._groups(self.params["W"].reshape(c, -1)).transpose(0, 2, 1)  # (G, F/G*kh*kw, C/G)
        b = self.params.get("b")
        n = x.shape[0]
        xt = kernels.channel_major(x)  # (C, N, H, W)
        y = np.empty((self.f, n, ho, wo), x.dtype)
        nb, runs = kernels.batch_chunks(n, self._col_bytes(x.dtype.itemsize))
        pads = self._pads()
        y_shape = (n, self.f, ho, wo)

        def work(slot, pieces):
            store = self._store(slot) if keep else None
            for i in pieces:
                n0, n1 = runs[i]
                xc = xt[:, n0:n1]  # (C, m, H, W)
                if self.s == (1, 1):
                    y[:, n0:n1] = kernels.col2im_flat(wt, xc, y_shape, self.k, pads, self.d, store, nb)
                else:
                    # (G, F/G*kh*kw, m*H*W): every input value times every tap of its filters
                    cols = kernels.grouped_matmul(wt, self._groups(xc.reshape(c, -1)))
                    cols = cols.reshape(self.f * kh * kw, -1)
                    y[:, n0:n1] = kernels.channel_major(
                        kernels.col2im(cols, (n1 - n0, *y_shape[1:]), self.k, self.s, pads, self.d, windows=(h, w))
                    )
                if b is not None:
                    y[:, n0:n1] += b[:, None, None, None]

        parallel.run(work, len(runs))
        self.cache = x if keep else None
        return y.transpose(1, 0, 2, 3)

    def backward(self, dy):
        """dy : (N, F, Ho, Wo) -> dx : (N, C, H, W); fills dW, db.

        Per chunk: the columns of dL/dy (im2col, Q's windows, one at each input position);
        dL/dx = W @ cols and dL/dW += x @ cols^T per group; dL/db += the sums of dL/dy. The
        chunks' parts are added in chunk order, whichever thread computed them.
        """
        x = self._saved(dy)
        W = self.params["W"]
        n, c, h, w = x.shape
        (kh, kw), fk = self.k, self.f * self.k[0] * self.k[1]
        w3 = self._groups(W.reshape(c, -1))  # (G, C/G, F/G*kh*kw)
        dyt = kernels.channel_major(dy)  # (F, N, Ho, Wo)
        want_dx = self.needs_input_grad
        dxt = np.empty((c, n, h, w), dy.dtype) if want_dx else None
        nb, runs = kernels.batch_chunks(n, self._col_bytes(dy.dtype.itemsize))
        parts, bias_parts = [None] * len(runs), [None] * len(runs)
        want_db = "b" in self.params
        (pt, pb), (pl, pr) = pads = self._pads()
        _, ho, wo = self.out_shape

        def work(slot, pieces):
            store = self._store(slot)
            for i in pieces:
                n0, n1 = runs[i]
                m = n1 - n0
                dpad = kernels.buffer(store, "dpad", (self.f, nb, pt + ho + pb, pl + wo + pr), dy.dtype, zero=True)
                out = kernels.buffer(store, "cols", (fk, nb * h * w), dy.dtype)[:, : m * h * w]
                cols = kernels.im2col(
                    dy[n0:n1],
                    self.k,
                    self.s,
                    pads,
                    self.d,
                    out.reshape(self.f, kh, kw, m, h, w),
                    dpad[:, :m],
                    windows=(h, w),
                )[0]  # (F*kh*kw, m*H*W)
                # cols @ x^T per group, with x^T : (m*H*W, C) contiguous: (G, F/G*kh*kw, C/G)
                xt_chunk = np.ascontiguousarray(x[n0:n1].transpose(0, 2, 3, 1)).reshape(-1, c)
                parts[i] = kernels.grouped_dot(cols, xt_chunk, self.g)
                if want_db:
                    bias_parts[i] = dyt[:, n0:n1].sum(axis=(1, 2, 3))
                if want_dx:
                    dx = kernels.grouped_matmul(w3, self._groups(cols))  # (G, C/G, m*H*W)
                    dxt[:, n0:n1] = dx.reshape(c, m, h, w)

        parallel.run(work, len(runs))
        # (G, F/G*kh*kw, C/G) -> (G, C/G, F/G*kh*kw) = W's layout
        self.grads["W"] = np.ascontiguousarray(in_order(parts).transpose(0, 2, 1)).reshape(W.shape)
        if want_db:
            self.grads["b"] = in_order(bias_parts)
        return dxt.transpose(1, 0, 2, 3) if want_dx else None
