"""One convolution worked through by hand, as in the lecture.

For a single-channel input X (H, W), a kernel W (kh, kw), stride S, padding P
and dilation d, explain() returns the forward pass cell by cell (each window's
elementwise products and their sum), the backward pass for an upstream
gradient delta (dL/dW and dL/dX), and the same pair computed again as the
lecture writes them, as convolutions:

    dL/dW = Xpad  (*)  delta dilated by S                     (valid, stride 1),
            read every d-th row and column
    dL/dX = (delta dilated by S, zero-padded by d(K-1))  (*)  rot180(W dilated by d),
            then the P border rows and columns are cut away

(a kernel "dilated by d" has d-1 zeros between its taps; with d = 1 nothing changes.)

((*) is cross-correlation, which deep-learning libraries call convolution.)
The forward and backward come from the engine's own Conv2D and pooling
layers in float64; the definitions written out here must agree with them up to
the rounding of float64 sums, and a disagreement is an error, never a silent
answer.
"""

from __future__ import annotations

import numpy as np

from engine.layers import make_layer
from engine.layers.shape import formula

from ..errors import Invalid

MAX_SIZE = 32
MAX_PADDING = 8
# Every number shown is a sum of products of two entries: at most
# (MAX_SIZE + 2 * MAX_PADDING) ** 2 = 2,304 products (dW with a 1x1 kernel and the most padding).
# Entries up to 1e150 keep each sum below 2,304 * 1e300, well inside float64's largest number
# (about 1.8e308); larger ones may overflow to infinity, which JSON cannot carry.
MAX_TERMS = (MAX_SIZE + 2 * MAX_PADDING) ** 2
MAX_ABS = 1e150


def _bad(field: str, msg: str) -> Invalid:
    return Invalid([{"loc": ["body", field], "msg": msg, "type": "value_error"}])


def _matrix(value, field: str) -> np.ndarray:
    """A non-empty rectangular 2-D list of finite numbers up to MAX_ABS, at most MAX_SIZE a side."""
    if not isinstance(value, list) or not value or not all(isinstance(r, list) for r in value):
        raise _bad(field, "expected a 2-D list of numbers (a list of rows)")
    widths = {len(r) for r in value}
    if len(widths) != 1:
        raise _bad(field, f"rows have different lengths ({', '.join(map(str, sorted(widths)))}); "
                          "every row needs the same number of columns")
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _bad(field, "expected numbers in every cell") from None
    if a.ndim != 2 or 0 in a.shape:
        raise _bad(field, f"expected a non-empty 2-D list, got shape {list(a.shape)}")
    if max(a.shape) > MAX_SIZE:
        raise _bad(field, f"is {a.shape[0]}x{a.shape[1]}; at most {MAX_SIZE}x{MAX_SIZE} is allowed")
    if not np.isfinite(a).all():
        raise _bad(field, "contains NaN or infinity; use finite numbers")
    big = np.argwhere(np.abs(a) > MAX_ABS)
    if len(big):
        shown = ", ".join(f"{field}[{r}][{c}] = {a[r, c]:g}" for r, c in big[:3])
        more = f" and {len(big) - 3} more" if len(big) > 3 else ""
        raise _bad(field, f"has values too large: {shown}{more}. Use values between "
                          f"{-MAX_ABS:g} and {MAX_ABS:g}: each result sums up to {MAX_TERMS:,} "
                          "products of two entries, and larger ones can overflow float64 to "
                          "infinity")
    return a


def dilate(d: np.ndarray, s: int) -> np.ndarray:
    """Insert s-1 zeros between neighbouring entries (what a stride does to the gradient's spacing)."""
    if s == 1:
        return d.copy()
    out = np.zeros(((d.shape[0] - 1) * s + 1, (d.shape[1] - 1) * s + 1))
    out[::s, ::s] = d
    return out


def correlate(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid cross-correlation with stride 1, written out: out[i, j] = sum_ab k[a, b] x[i+a, j+b]."""
    kh, kw = k.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (x[i:i + kh, j:j + kw] * k).sum()
    return out


def _agree(name: str, mine: np.ndarray, engine_value: np.ndarray, size) -> None:
    """Fail unless the definition and the engine agree up to rounding. size: the same sums taken
    over absolute values (or a bound of them); two orders of summing n terms differ by at most
    about 2 n eps times it, which matters when large terms cancel."""
    slack = 1e-9 + 1e-9 * np.abs(engine_value) + 2 * MAX_TERMS * np.finfo(np.float64).eps * size
    if mine.shape != engine_value.shape or not (np.abs(mine - engine_value) <= slack).all():
        raise RuntimeError(f"{name}: the definition and the engine disagree "
                           f"({mine.tolist()} vs {engine_value.tolist()})")


def _by_definition(xp: np.ndarray, w: np.ndarray, delta: np.ndarray, s: int, d: int = 1):
    """The output, dL/dW and dL/dXpad written out window by window, and each window's products.
    A window's taps are d apart: rows r*S, r*S + d, ..., r*S + d(kh - 1)."""
    (kh, kw), (ho, wo) = w.shape, delta.shape
    cells, out = [], np.zeros((ho, wo))
    dW, dxp = np.zeros_like(w), np.zeros_like(xp)
    for r in range(ho):
        for c in range(wo):
            taps = (slice(r * s, r * s + d * (kh - 1) + 1, d),
                    slice(c * s, c * s + d * (kw - 1) + 1, d))
            win = xp[taps]
            prod = win * w
            out[r, c] = prod.sum()
            dW += delta[r, c] * win
            dxp[taps] += delta[r, c] * w
            window = {"top": r * s, "left": c * s, "rows": kh, "cols": kw, "dilation": d}
            cells.append({"row": r, "col": c, "window": window, "products": prod.tolist(),
                          "sum": float(prod.sum())})
    return out, dW, dxp, cells


def _engine_layer(spec: dict, shape: tuple, path: str):
    layer = make_layer(spec, (1,) + shape, path)
    layer.init_params(np.random.default_rng(0), np.float64)
    return layer


def explain(x, w, stride: int = 1, padding: int = 0, delta=None, dilation: int = 1) -> dict:
    x, w = _matrix(x, "x"), _matrix(w, "w")
    s, p, d = int(stride), int(padding), int(dilation)
    (h, wd), (kh, kw) = x.shape, w.shape
    span_h, span_w = d * (kh - 1) + 1, d * (kw - 1) + 1  # what a dilated window spans
    for axis, n, k, span in (("height", h, kh, span_h), ("width", wd, kw, span_w)):
        if span > n + 2 * p:
            what = f"the kernel {axis} {k}"
            if d > 1:
                what += f" dilated by {d} spans {span}, which"
            raise _bad("w", f"{what} is larger than the padded input {axis} {n} + 2*{p} = "
                            f"{n + 2 * p}: {formula(n, k, s, p, d)} leaves no output; use a "
                            "smaller kernel" + (" or dilation" if d > 1 else "") + " or more padding")
    ho, wo = (h + 2 * p - span_h) // s + 1, (wd + 2 * p - span_w) // s + 1
    if delta is None:
        delta_ = np.ones((ho, wo))
    else:
        delta_ = _matrix(delta, "delta")
        if delta_.shape != (ho, wo):
            raise _bad("delta", f"is {delta_.shape[0]}x{delta_.shape[1]} but the output is "
                                f"{ho}x{wo}; give one gradient per output cell")

    # ---- forward and backward by the engine --------------------------------------------
    conv = _engine_layer({"type": "conv2d", "out_channels": 1, "kernel_size": [kh, kw], "stride": s,
                          "padding": p, "dilation": d, "bias": False}, (h, wd), "conv")
    # what flooring the output size leaves unread, in the engine's words (as the Build view says)
    warnings = [w.removeprefix(f"{conv.path}: ") for w in conv.warnings]
    conv.params["W"] = w[None, None].copy()
    y = conv.forward(x[None, None], record=True)[0, 0]
    dx = conv.backward(delta_[None, None])[0, 0]
    dW = conv.grads["W"][0, 0]

    # ---- the same by definition -----------------------------------------------------------
    xp = np.pad(x, p)
    out, dW_def, dxp_def, cells = _by_definition(xp, w, delta_, s, d)
    dx_def = dxp_def[p:p + h, p:p + wd]
    size_y, size_dW, size_dxp, _ = _by_definition(np.abs(xp), np.abs(w), np.abs(delta_), s, d)
    size_dx = size_dxp[p:p + h, p:p + wd]
    _agree("output", out, y, size_y)
    _agree("dW", dW_def, dW, size_dW)
    _agree("dX", dx_def, dx, size_dx)

    # ---- what mathematics calls convolution: W rotated 180 degrees first ------------------------
    flipped = w[::-1, ::-1].copy()
    conv.params["W"] = flipped[None, None].copy()
    y_true = conv.forward(x[None, None])[0, 0]
    true_def = _by_definition(xp, flipped, delta_, s, d)[0]
    _agree("true convolution", true_def, y_true, _by_definition(np.abs(xp), np.abs(flipped), np.abs(delta_), s, d)[0])

    # ---- the backward pass as convolutions --------------------------------------------------
    tap_a, tap_b = ("a", "b") if d == 1 else (f"{d}a", f"{d}b")  # a tap's offset in a window
    dd = dilate(delta_, s)
    # every d-th result, the first kh x kw of them: the others are where the stride or the
    # dilation skipped inputs
    dW_conv = correlate(xp, dd)[::d, ::d][:kh, :kw]
    full = np.pad(dd, ((span_h - 1, span_h - 1), (span_w - 1, span_w - 1)))
    rot = dilate(w, d)[::-1, ::-1]
    dxp_conv = np.zeros_like(xp)
    part = correlate(full, rot)  # covers the padded input up to the last row/column a window reached
    dxp_conv[:part.shape[0], :part.shape[1]] = part
    dx_conv = dxp_conv[p:p + h, p:p + wd]
    _agree("dW as a convolution", dW_conv, dW, size_dW)
    _agree("dX as a convolution", dx_conv, dx, size_dx)

    return {
        "input_shape": [h, wd], "kernel_shape": [kh, kw], "stride": s, "padding": p, "dilation": d,
        "output_shape": [ho, wo],
        "formula": {"height": formula(h, kh, s, p, d), "width": formula(wd, kw, s, p, d)},
        "kernel": w.tolist(),
        "warnings": warnings,
        "output": y.tolist(),
        "true_convolution": {
            "kernel": flipped.tolist(), "output": y_true.tolist(),
            "description": ("The lecture's * slides W over X as it is: that is cross-correlation, which every "
                            "deep-learning library (PyTorch's Conv2d, this engine) calls convolution. "
                            "Mathematics' convolution first rotates W by 180 degrees (W[a, b] becomes "
                            f"W[{kh - 1}-a, {kw - 1}-b]), which gives this output instead. A network learns its "
                            "W either way, so the flip only matters when comparing with a signal-processing "
                            "text."),
        },
        "padded_x": xp.tolist(),
        "cells": cells,
        "backward": {
            "delta": delta_.tolist(),
            "dW": dW.tolist(),
            "dX": dx.tolist(),
            "dW_as_convolution": {
                "input": xp.tolist(), "kernel": dd.tolist(), "output": dW_conv.tolist(),
                "description": (f"dL/dW[a,b] = sum over outputs (i,j) of delta[i,j] * "
                                f"Xpad[i*{s}+{tap_a}, j*{s}+{tap_b}]: "
                                "the padded input cross-correlated (stride 1) with delta"
                                + (f" dilated by the stride {s} ({s - 1} zeros between entries)" if s > 1 else "")
                                + (f", keeping the results {d} apart (the dilation), the first "
                                   if d > 1 else ", keeping the first ") + f"{kh}x{kw}"),
            },
            "dX_as_convolution": {
                "input": full.tolist(), "kernel": rot.tolist(), "output": dx_conv.tolist(),
                "description": (("delta dilated by the stride " + str(s) + ", then " if s > 1 else "delta ")
                                + (f"zero-padded by K-1 = {kh - 1}x{kw - 1}" if d == 1 else
                                   f"zero-padded by d(K-1) = {span_h - 1}x{span_w - 1}")
                                + " on every side (a full convolution), cross-correlated "
                                + "(stride 1) "
                                + ("with W rotated 180 degrees" if d == 1 else
                                   f"with W dilated by {d} ({d - 1} zero{'s' if d > 2 else ''} between its taps) and "
                                   "rotated 180 degrees")
                                + "; this gives dL/dXpad"
                                + (f", and the {p} border rows and columns of padding are cut away" if p else "")
                                + ". The lecture's dL/dX[i,j] = sum_ab delta[i-a, j-b] W[a,b]"),
            },
        },
        "pooling": _pooling(x, (kh, kw), s, p, delta_, d),
    }


def _pooling(x: np.ndarray, k: tuple, s: int, p: int, d: np.ndarray, dilation: int = 1) -> dict:
    """Max and average pooling with the same window and stride (padding too when at most K/2);
    the engine's pooling windows are not dilated."""
    h, wd = x.shape
    kh, kw = k
    pp = p if 2 * p <= min(kh, kw) else 0
    ho, wo = (h + 2 * pp - kh) // s + 1, (wd + 2 * pp - kw) // s + 1
    if ho < 1 or wo < 1:
        return {"padding": pp, "note": "the window does not fit without the convolution's padding", "max": None,
                "avg": None}
    dd = d if d.shape == (ho, wo) else np.ones((ho, wo))
    spec = {"kernel_size": [kh, kw], "stride": s, "padding": pp}
    notes = [f"pooling pads at most K/2, so padding {pp} is used instead of {p}"] if pp != p else []
    if dilation > 1:
        notes.append(f"pooling windows are not dilated here: {kh}x{kw} neighbouring inputs each")
    out = {"padding": pp, "delta": dd.tolist(), "note": "; ".join(notes) or None}

    # by definition: max over the window (padding never wins), the first maximum in reading order
    xp_max = np.pad(x, pp, constant_values=-np.inf)
    xp_avg = np.pad(x, pp)
    y_max, y_avg = np.zeros((ho, wo)), np.zeros((ho, wo))
    dx_max, dx_avg = np.zeros_like(xp_avg), np.zeros_like(xp_avg)
    argmax = []
    for r in range(ho):
        row = []
        for c in range(wo):
            win = xp_max[r * s:r * s + kh, c * s:c * s + kw]
            a, b = np.unravel_index(int(np.argmax(win)), win.shape)
            y_max[r, c] = win[a, b]
            dx_max[r * s + a, c * s + b] += dd[r, c]
            row.append([int(r * s + a - pp), int(c * s + b - pp)])
            y_avg[r, c] = xp_avg[r * s:r * s + kh, c * s:c * s + kw].mean()
            dx_avg[r * s:r * s + kh, c * s:c * s + kw] += dd[r, c] / (kh * kw)
        argmax.append(row)
    dx_max, dx_avg = dx_max[pp:pp + h, pp:pp + wd], dx_avg[pp:pp + h, pp:pp + wd]

    for kind, y_def, dx_def in (("maxpool2d", y_max, dx_max), ("avgpool2d", y_avg, dx_avg)):
        layer = _engine_layer({"type": kind, **spec}, (h, wd), kind)
        y = layer.forward(x[None, None], record=True)[0, 0]
        dx = layer.backward(dd[None, None])[0, 0]
        # a mean of window entries; a sum of at most kh*kw gradients per input
        _agree(kind, y_def, y, np.abs(x).max())
        _agree(f"{kind} dX", dx_def, dx, kh * kw * np.abs(dd).max())
    out["max"] = {"output": y_max.tolist(), "argmax": argmax, "dx": dx_max.tolist(),
                  "description": "each window passes its gradient to the one input that won the max "
                                 "(the first one in reading order on ties); the others get 0"}
    out["avg"] = {"output": y_avg.tolist(), "dx": dx_avg.tolist(),
                  "description": f"each window spreads its gradient evenly: 1/{kh * kw} to each of its inputs"
                                 + (" (padding counts as zeros)" if pp else "")}
    return out
