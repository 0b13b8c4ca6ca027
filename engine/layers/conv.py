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
Both are computed through im2col as matrix products, one per group; tests check them
against those definitions written out as plain loops (tests/engine/reference.py).

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

import math

import numpy as np

from .. import kernels, parallel
from ..errors import SpecError
from ..init import init_weight
from .base import Layer
from .fields import STD, Field, init_field
from .shape import window_out

# the fields a convolution and a transposed convolution share, with PyTorch's names
OUT_CHANNELS = Field("out_channels", "int", required=True, min=1, max=65536,
                     help="number of filters")
KERNEL_SIZE = Field("kernel_size", "int2", required=True, min=1, max=1024,
                    help="filter size K (or [kh, kw])")
STRIDE = Field("stride", "int2", default=1, min=1, max=1024, help="step S between windows")
DILATION = Field("dilation", "int2", default=1, min=1, max=1024,
                 help="spacing d between the kernel's taps: K taps span d(K - 1) + 1 inputs")
GROUPS = Field("groups", "int", default=1, min=1, max=65536,
               help="split the channels into groups convolved apart; in_channels is depthwise")
BIAS = Field("bias", "bool", default=True, help="add a learned bias per filter")


def check_groups(layer: Layer, in_channels: int, out_channels: int) -> None:
    """PyTorch's rule: groups divides both in_channels and out_channels."""
    g = layer.cfg["groups"]
    for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
        if n % g:
            both = math.gcd(in_channels, out_channels)
            fits = [str(q) for q in range(1, both + 1) if both % q == 0]
            shown = ", ".join(fits[:-1]) + (" or " if len(fits) > 1 else "") + fits[-1] \
                if len(fits) <= 12 else f"a divisor of {both}"
            raise SpecError(
                layer.path,
                f"groups {g} does not divide {name} {n}: each group takes in_channels/groups input "
                f"channels and gives out_channels/groups outputs (here in_channels {in_channels}, "
                f"out_channels {out_channels}); use groups {shown}", "groups")


def _shape(s):
    return "(" + ", ".join(map(str, s)) + ")"


def needs_image(layer: Layer) -> None:
    if len(layer.in_shape) != 3:
        raise SpecError(layer.path,
                        f"{layer.type} needs a (C, H, W) input, got {_shape(layer.in_shape)}")


class Conv2D(Layer):
    type = "conv2d"
    has_params = True
    summary_doc = "slides out_channels filters of kernel_size over the input; each output is a dot product plus a bias"
    fields = (
        OUT_CHANNELS,
        KERNEL_SIZE,
        STRIDE,
        Field("padding", "padding", default=0, min=0, max=1024,
              help='zeros P added on each side; "same" keeps the size at stride 1 '
                   "(an even span pads one more at the bottom and right)"),
        DILATION,
        GROUPS,
        BIAS,
        init_field("he_normal"),
        STD,
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
        self._scratch: dict = {}  # work arrays reused between training steps: thread slot -> {name: array}

    def _padding(self, pad) -> tuple:
        if pad == "valid":
            return ((0, 0), (0, 0))
        if pad == "same":
            if self.s != (1, 1):
                raise SpecError(self.path, 'padding "same" needs stride 1 (PyTorch refuses '
                                "it for a strided convolution); give the padding as a number",
                                "padding")
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
        return (tuple(size[a] + (spans[a] - 1) * jump[a] for a in range(2)),
                tuple(jump[a] * self.s[a] for a in range(2)))

    def init_params(self, rng, dtype=np.float32):
        c, (kh, kw) = self.in_shape[0] // self.g, self.k
        # fans as PyTorch reckons them from W's shape (F, C/G, kh, kw)
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
        (kh, kw), ((pt, pb), (pl, pr)) = self.k, self.pads
        (_, ho, wo), (c, h, w) = self.out_shape, self.in_shape
        m = n1 - n0
        xpad = kernels.buffer(store, "xpad", (c, nb, pt + h + pb, pl + w + pr), x.dtype, zero=True)
        out = kernels.buffer(store, name, (c * kh * kw, nb * ho * wo), x.dtype)[:, :m * ho * wo]
        return kernels.im2col(x[n0:n1], self.k, self.s, self.pads, self.d,
                              out.reshape(c, kh, kw, m, ho, wo), xpad[:, :m])[0]

    def _groups(self, a):
        """(rows, ...) -> (G, rows/G, ...): the blocks of one group of channels each."""
        return a.reshape((self.g, -1) + a.shape[1:])

    def fuses(self, nxt):
        return nxt.type == "relu"

    def forward(self, x, train=False, record=None, then=None):
        """x : (N, C, H, W) -> y : (N, F, Ho, Wo), a view of a channel-major (F, N, Ho, Wo) array.

        Chunk by chunk: the chunk's columns are built and multiplied while they
        are still in the cache (one product per group of channels). They are kept
        for backward when the whole batch's columns are small (kernels.KEEP_BYTES);
        otherwise backward builds them again. With then=relu (the next layer, see
        fuses), each chunk also goes through the ReLU while it is in the cache, and y
        is the ReLU's output, recorded as that layer's own forward would.
        """
        keep = train if record is None else record
        w3 = self._groups(self.params["W"].reshape(self.f, -1))  # (G, F/G, C/G*kh*kw)
        b = self.params.get("b")
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
                # (G, F/G, m*Ho*Wo) = (G, F/G, C/G*kh*kw) @ (G, C/G*kh*kw, m*Ho*Wo)
                out = self._groups(yc.reshape(self.f, -1))
                kernels.grouped_matmul(w3, self._groups(cols), out=out)
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

        Per chunk and group of channels: dL/dW += delta @ cols^T, and
        dL/dX = col2im(W^T delta), each column's gradient going back to the inputs it
        read; dL/db += the sums of delta. The chunks' parts of dL/dW and dL/db are
        added in chunk order, whichever thread computed them.
        """
        x, kept = self._saved(dy)
        W = self.params["W"]
        n, c, h, w = x.shape
        wt = self._groups(W.reshape(self.f, -1)).transpose(0, 2, 1)  # (G, C/G*kh*kw, F/G)
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
                d2 = d.reshape(self.f, -1)  # (F, m*Ho*Wo), in this order whatever dy's layout
                parts[i] = kernels.grouped_dot(cols, np.ascontiguousarray(d2.T), self.g)
                if want_db:  # while this chunk of delta is in the cache
                    bias_parts[i] = d2.sum(axis=1)
                if not want_dx:
                    continue
                if self.s == (1, 1):
                    dxt[:, n0:n1] = kernels.col2im_flat(wt, d, x.shape, self.k, self.pads, self.d,
                                                        store, nb)
                else:
                    dcols = kernels.grouped_matmul(wt, self._groups(d2))  # (G, C/G*kh*kw, m*Ho*Wo)
                    dcols = dcols.reshape(c * self.k[0] * self.k[1], -1)
                    dxt[:, n0:n1] = kernels.channel_major(kernels.col2im(
                        dcols, (n1 - n0, c, h, w), self.k, self.s, self.pads, self.d))

        parallel.run(work, len(runs))
        # (G, C/G*kh*kw, F/G) -> (G, F/G, C/G*kh*kw) = W's layout
        self.grads["W"] = np.ascontiguousarray(in_order(parts).transpose(0, 2, 1)).reshape(W.shape)
        if want_db:
            self.grads["b"] = in_order(bias_parts)
        return dxt.transpose(1, 0, 2, 3) if want_dx else None


def in_order(parts):
    """parts[0] + parts[1] + ..., added in that order (into parts[0])."""
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total
