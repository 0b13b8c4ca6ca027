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

Both go through the kernels Conv2D uses: forward folds the columns W^T x into the output
(col2im), backward unfolds dL/dy into columns (im2col) and multiplies, one product per group of
channels. This file writes them as the lecture does, the whole batch at once; tests check them against the plain loops (tests/engine/reference.py) and
PyTorch. A network runs the same computation through engine/fast/conv_transpose.py (chunks of
the batch that stay in the cache, shared among threads, col2im on the flat grid at stride 1),
tested to agree with this.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd

import numpy as np

from .. import kernels
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
        self.pads = tuple((p, p) for p in self.p)  # Q's padding: ((top, bottom), (left, right))

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

    def _groups(self, a):
        """(rows, ...) -> (G, rows/G, ...): the blocks of one group of channels each."""
        return a.reshape((self.g, -1) + a.shape[1:])

    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> y : (N, F, Ho, Wo).

        cols = W^T : (F*kh*kw, C) @ x : (C, N*H*W), one column per input position: its value
        times every tap of its filters (one product per group of channels);
        y = col2im(cols) + b: each column added into the window of Q's output it came from,
        overlaps summed, the padding P cut away.
        """
        c, h, w = self.in_shape
        n = x.shape[0]
        W = self._groups(self.params["W"].reshape(c, -1))  # (G, C/G, F/G*kh*kw)
        xs = self._groups(x.transpose(1, 0, 2, 3).reshape(c, -1))  # (G, C/G, N*H*W)
        cols = np.matmul(W.transpose(0, 2, 1), xs).reshape(-1, n * h * w)  # (F*kh*kw, N*H*W)
        y = kernels.col2im(cols, (n,) + self.out_shape, self.k, self.s, self.pads, self.d, windows=(h, w))
        if "b" in self.params:
            y += self.params["b"][:, None, None]
        self.cache = x if (train if record is None else record) else None
        return y  # (N, F, Ho, Wo)

    def backward(self, dy):
        """dy : (N, F, Ho, Wo) -> dx : (N, C, H, W); fills dW : (C, F/G, kh, kw) and db : (F,).

        cols = im2col(dy) : (F*kh*kw, N*H*W), Q's windows, one at each input position;
        dx = W : (C, F*kh*kw) @ cols,  dW = x : (C, N*H*W) @ cols^T,  db = the sums of dy;
        one product per group of channels.
        """
        x = self._saved(dy)
        W = self.params["W"]
        n, c, h, w = x.shape
        cols, _, _ = kernels.im2col(dy, self.k, self.s, self.pads, self.d, windows=(h, w))
        c3 = self._groups(cols)  # (G, F/G*kh*kw, N*H*W)
        xs = self._groups(x.transpose(1, 0, 2, 3).reshape(c, -1))  # (G, C/G, N*H*W)
        self.grads["W"] = np.matmul(xs, c3.transpose(0, 2, 1)).reshape(W.shape)
        if "b" in self.params:
            self.grads["b"] = dy.sum(axis=(0, 2, 3))
        if not self.needs_input_grad:  # the network's first layer in training: nobody needs dL/dx
            return None
        W3 = self._groups(W.reshape(c, -1))  # (G, C/G, F/G*kh*kw)
        dx = np.matmul(W3, c3).reshape(c, n, h, w)  # (C, N, H, W)
        return dx.transpose(1, 0, 2, 3)
