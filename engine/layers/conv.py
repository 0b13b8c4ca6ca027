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
kernels.py); nothing is transposed back and forth between layers. While
recording for a training step the column buffers are kept and reused from
one step to the next (self._scratch), so large arrays are not re-allocated.
"""

from __future__ import annotations

import numpy as np

from .. import kernels
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
        self._scratch: dict = {}  # buffers reused between training steps

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

    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> y : (N, F, Ho, Wo), a view of a channel-major (F, N, Ho, Wo) array."""
        n = x.shape[0]
        keep = train if record is None else record
        scratch = self._scratch if keep else None
        (kh, kw), (ho, wo), c = self.k, self.out_shape[1:], self.in_shape[0]
        out = kernels.buffer(scratch, "cols", (c, kh, kw, n, ho, wo), x.dtype)
        cols, ho, wo = kernels.im2col(x, self.k, self.s, self.p, out=out)  # (C*kh*kw, N*Ho*Wo)
        y = self.params["W"].reshape(self.f, -1) @ cols  # (F, N*Ho*Wo)
        if "b" in self.params:
            y += self.params["b"][:, None]
        self.cache = (x.shape, cols) if keep else None
        return y.reshape(self.f, n, ho, wo).transpose(1, 0, 2, 3)

    def backward(self, dy):
        """dy : (N, F, Ho, Wo) -> dx : (N, C, H, W); fills dW, db."""
        x_shape, cols = self._saved(dy)
        W = self.params["W"]
        d = kernels.as_rows(dy)  # (F, N*Ho*Wo)
        # (cols @ d.T).T rather than d @ cols.T: BLAS runs this orientation much faster here
        self.grads["W"] = np.ascontiguousarray((cols @ d.T).T).reshape(W.shape)
        if "b" in self.params:
            self.grads["b"] = d.sum(axis=1)
        # dL/dX = col2im(W^T delta): each column's gradient goes back to the inputs it read
        if self.s == (1, 1):
            return kernels.col2im_flat(W.reshape(self.f, -1).T, dy, x_shape, self.k, self.p, self._scratch)
        dcols = W.reshape(self.f, -1).T @ d  # (C*kh*kw, N*Ho*Wo)
        return kernels.col2im(dcols, x_shape, self.k, self.s, self.p)


def _shape(s):
    return "(" + ", ".join(map(str, s)) + ")"
