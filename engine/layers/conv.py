"""2-D convolution (cross-correlation, as in the lecture and in PyTorch), with PyTorch's
stride, padding, dilation and groups.

Forward, for output channel f at (a, b):
    y[n,f,a,b] = b[f] + sum_{c,i,j} W[f,c,i,j] * xpad[n, g*C/G + c, a*S + i*d, b*S + j*d]
  - the stride S moves the window S inputs at a time;
  - the dilation d spreads the kernel's K taps d apart: it spans d(K - 1) + 1 inputs
    (a wider view for the same weights), and N_out = (N_in + 2P - d(K - 1) - 1)/S + 1;
  - groups G split the channels into G convolutions side by side: filter f belongs to group
    g = f // (F/G) and sums only that group's C/G input channels (c above runs over them), so W
    is (F, C/G, kh, kw). G = C is a depthwise convolution: each channel gets its own filters.
Backward, with delta = dL/dy:
    dL/dW = X convolved with delta (for each (c,i,j), the sum over windows)
    dL/dX = delta, dilated by the stride and fully padded, convolved with W
            rotated 180 degrees (and dilated by d).
Both are computed through im2col as matrix products, one per group of channels: this
file writes them as the lecture does, the whole batch at once; tests check them against those
definitions written out as plain loops (tests/engine/reference.py). A network runs the same
computation through engine/fast/conv.py (chunks of the batch that stay in the cache, shared
among threads, kernels chosen by shape, a following ReLU fused in), tested to agree with this.
"""

from __future__ import annotations

import math

import numpy as np

from .. import kernels
from ..errors import SpecError
from ..init import init_weight
from .base import Layer
from .fields import STD, Field, init_field
from .shape import window_out

# the fields a convolution and a transposed convolution share, with PyTorch's names
OUT_CHANNELS = Field("out_channels", "int", required=True, min=1, max=65536, help="number of filters")
KERNEL_SIZE = Field("kernel_size", "int2", required=True, min=1, max=1024, help="filter size K (or [kh, kw])")
STRIDE = Field("stride", "int2", default=1, min=1, max=1024, help="step S between windows")
DILATION = Field(
    "dilation",
    "int2",
    default=1,
    min=1,
    max=1024,
    help="spacing d between the kernel's taps: K taps span d(K - 1) + 1 inputs",
)
GROUPS = Field(
    "groups",
    "int",
    default=1,
    min=1,
    max=65536,
    help="split the channels into groups convolved apart; in_channels is depthwise",
)
BIAS = Field("bias", "bool", default=True, help="add a learned bias per filter")


def check_groups(layer: Layer, in_channels: int, out_channels: int) -> None:
    """PyTorch's rule: groups divides both in_channels and out_channels."""
    g = layer.cfg["groups"]
    for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
        if n % g:
            both = math.gcd(in_channels, out_channels)
            fits = [str(q) for q in range(1, both + 1) if both % q == 0]
            shown = (
                ", ".join(fits[:-1]) + (" or " if len(fits) > 1 else "") + fits[-1]
                if len(fits) <= 12
                else f"a divisor of {both}"
            )
            raise SpecError(
                layer.path,
                f"groups {g} does not divide {name} {n}: each group takes in_channels/groups input "
                f"channels and gives out_channels/groups outputs (here in_channels {in_channels}, "
                f"out_channels {out_channels}); use groups {shown}",
                "groups",
            )


def pair(v):
    """(a, a) -> a, as PyTorch source writes it; (a, b) stays."""
    return v[0] if v[0] == v[1] else tuple(v)


def dilation_groups(layer) -> str:
    """', dilation=..., groups=...' for PyTorch source, where they are not its defaults (1)."""
    out = f", dilation={pair(layer.d)}" if layer.d != (1, 1) else ""
    return out + (f", groups={layer.g}" if layer.g != 1 else "")


def _shape(s):
    return "(" + ", ".join(map(str, s)) + ")"


def needs_image(layer: Layer) -> None:
    if len(layer.in_shape) != 3:
        raise SpecError(layer.path, f"{layer.type} needs a (C, H, W) input, got {_shape(layer.in_shape)}")


class Conv2D(Layer):
    type = "conv2d"
    has_params = True
    summary_doc = "slides out_channels filters of kernel_size over the input; each output is a dot product plus a bias"
    fields = (
        OUT_CHANNELS,
        KERNEL_SIZE,
        STRIDE,
        Field(
            "padding",
            "padding",
            default=0,
            min=0,
            max=1024,
            help='zeros P added on each side; "same" keeps the size at stride 1 '
            "(an even span pads one more at the bottom and right)",
        ),
        DILATION,
        GROUPS,
        BIAS,
        init_field("he_normal"),
        STD,
    )

    def torch_module(self, nested):
        pad = self.cfg["padding"] if isinstance(self.cfg["padding"], str) else pair(self.cfg["padding"])
        return (
            f"nn.Conv2d({self.in_shape[0]}, {self.f}, kernel_size={pair(self.k)}, stride={pair(self.s)}, "
            f"padding={pad!r}{dilation_groups(self)}, bias={self.cfg['bias']})"
        )

    def __init__(self, in_shape, path, cfg):
        super().__init__(in_shape, path, cfg)
        needs_image(self)
        c, h, w = self.in_shape
        self.f, self.g = cfg["out_channels"], cfg["groups"]
        self.k, self.s, self.d = cfg["kernel_size"], cfg["stride"], cfg["dilation"]
        check_groups(self, c, self.f)
        self.pads = self._padding(cfg["padding"])  # ((top, bottom), (left, right))
        self.p = (self.pads[0][0], self.pads[1][0])
        ho, wo = window_out(self, (h, w), self.k, self.s, self.pads, self.d)
        self.out_shape = (self.f, ho, wo)

    def _padding(self, pad) -> tuple:
        if pad == "valid":
            return ((0, 0), (0, 0))
        if pad == "same":
            if self.s != (1, 1):
                raise SpecError(
                    self.path,
                    'padding "same" needs stride 1 (PyTorch refuses '
                    "it for a strided convolution); give the padding as a number",
                    "padding",
                )
            # a span of d(K - 1) + 1 needs d(K - 1) zeros in all; when that is odd, the far
            # side (bottom, right) gets the one more, as in PyTorch
            totals = [d * (k - 1) for k, d in zip(self.k, self.d)]
            return tuple((t // 2, t - t // 2) for t in totals)
        return tuple((q, q) for q in pad)

    def param_shapes(self):
        c = self.in_shape[0]
        shapes = {"W": (self.f, c // self.g) + self.k}
        if self.cfg["bias"]:
            shapes["b"] = (self.f,)
        return shapes

    def param_formula(self):
        """out_channels x (kh x kw x in_channels/groups + 1)."""
        (kh, kw), c = self.k, self.in_shape[0]
        per_filter = f"{kh}x{kw}x{c}" if self.g == 1 else f"{kh}x{kw}x({c}/{self.g})"
        return f"{self.f} x ({per_filter}" + (" + 1)" if self.cfg["bias"] else ")")

    def macs(self):
        c = self.in_shape[0] // self.g
        return self.out_shape[0] * self.out_shape[1] * self.out_shape[2] * c * self.k[0] * self.k[1]

    def window(self):
        return self.k, self.s, self.p

    def receptive_field(self, size, jump):
        """A dilated kernel sees d(K - 1) + 1 inputs, not K."""
        spans = [d * (k - 1) + 1 for k, d in zip(self.k, self.d)]
        return (
            tuple(size[a] + (spans[a] - 1) * jump[a] for a in range(2)),
            tuple(jump[a] * self.s[a] for a in range(2)),
        )

    def init_params(self, rng, dtype=np.float32):
        c, (kh, kw) = self.in_shape[0] // self.g, self.k
        # fans as PyTorch reckons them from W's shape (F, C/G, kh, kw)
        self.params["W"] = init_weight(
            self.cfg["init"], (self.f, c, kh, kw), c * kh * kw, self.f * kh * kw, rng, self.cfg["std"], dtype
        )
        if self.cfg["bias"]:
            self.params["b"] = np.zeros(self.f, dtype)

    def col_bytes(self, itemsize=4):
        """Bytes of im2col columns per image."""
        (kh, kw), (_, ho, wo) = self.k, self.out_shape
        return self.in_shape[0] * kh * kw * ho * wo * itemsize

    def _groups(self, a):
        """(rows, ...) -> (G, rows/G, ...): the blocks of one group of channels each."""
        return a.reshape((self.g, -1) + a.shape[1:])

    def forward(self, x, train=False, record=None):
        """x : (N, C, H, W) -> y : (N, F, Ho, Wo).

        cols = im2col(x) : (C*kh*kw, N*Ho*Wo), one column per window;
        y = W : (F, C*kh*kw) @ cols + b : (F, N*Ho*Wo), one product per group of channels.
        """
        n = x.shape[0]
        _, ho, wo = self.out_shape
        cols, _, _ = kernels.im2col(x, self.k, self.s, self.pads, self.d)  # (C*kh*kw, N*Ho*Wo)
        W = self._groups(self.params["W"].reshape(self.f, -1))  # (G, F/G, C/G*kh*kw)
        y = np.matmul(W, self._groups(cols)).reshape(self.f, n, ho, wo)  # (F, N, Ho, Wo)
        if "b" in self.params:
            y += self.params["b"][:, None, None, None]
        self.cache = (x.shape, cols) if (train if record is None else record) else None
        return y.transpose(1, 0, 2, 3)  # (N, F, Ho, Wo)

    def backward(self, dy):
        """dy : (N, F, Ho, Wo) -> dx : (N, C, H, W); fills dW : (F, C/G, kh, kw) and db : (F,).

        With delta = dy as (F, N*Ho*Wo):  dW = delta @ cols^T,  db = the sums of delta,
        dcols = W^T @ delta, and dx = col2im(dcols): each column's gradient goes back to the
        inputs its window read, overlaps summed.
        """
        x_shape, cols = self._saved(dy)
        W = self.params["W"]
        delta = dy.transpose(1, 0, 2, 3).reshape(self.f, -1)  # (F, N*Ho*Wo)
        d3 = self._groups(delta)  # (G, F/G, N*Ho*Wo)
        c3 = self._groups(cols)  # (G, C/G*kh*kw, N*Ho*Wo)
        self.grads["W"] = np.matmul(d3, c3.transpose(0, 2, 1)).reshape(W.shape)
        if "b" in self.params:
            self.grads["b"] = delta.sum(axis=1)
        if not self.needs_input_grad:  # the network's first layer in training: nobody needs dL/dx
            return None
        W3 = self._groups(W.reshape(self.f, -1))  # (G, F/G, C/G*kh*kw)
        dcols = np.matmul(W3.transpose(0, 2, 1), d3).reshape(cols.shape)  # (C*kh*kw, N*Ho*Wo)
        return kernels.col2im(dcols, x_shape, self.k, self.s, self.pads, self.d)


def in_order(parts):
    """parts[0] + parts[1] + ..., added in that order (into parts[0])."""
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total
