"""One convolution worked through by hand, as in the lecture.

For an input X of C channels (C, H, W), one filter W (C, kh, kw) with an optional bias b,
stride S, padding P and dilation d, then an activation f, explain() returns

    the forward pass cell by cell:  I[i,j] = sum_c sum_ab W[c,a,b] Xpad[c, iS + ad, jS + bd] + b,
                                    O[i,j] = f(I[i,j]),
      each window's products, its sum per channel and the bias;
    the backward pass for an upstream gradient dL/dO:
                                    delta = dL/dI = dL/dO * f'(I),
                                    dL/dW[c,a,b] = sum_ij delta[i,j] Xpad[c, iS + ad, jS + bd],
                                    dL/db = sum_ij delta[i,j],
                                    dL/dX[c,y,x] = sum of delta[i,j] W[c,a,b] over the (i,j,a,b)
                                                   whose tap lands on (y, x),
      each cell of dL/dW and dL/dX with the terms that make it;
    the same pair computed again as the lecture writes them, as convolutions (conv_backward);
    the parameter count of a layer of such filters; and pooling of X (conv_pooling).

Every number comes from the engine's own layers in float64; the definitions written out here
must agree with them up to the rounding of float64 sums, and a disagreement is an error, never a
silent answer.
"""

from __future__ import annotations

import numpy as np

import engine
from engine.layers import make_layer
from engine.layers.shape import formula

from ..errors import Invalid, TooLarge
from . import conv_activation
from .conv_backward import as_convolutions, terms_by_cell
from .conv_pooling import explain_pooling

MAX_SIZE = 32
MAX_PADDING = 8
MAX_CHANNELS = 4
MAX_FILTERS = 1024  # only counted, never computed
# Every number shown is a sum of products of two entries (and the bias): at most
# MAX_CHANNELS * (MAX_SIZE + 2 * MAX_PADDING) ** 2 = 9,216 products (an output cell of four
# channels and a 32x32 kernel on a padded input; or dW with a 1x1 kernel and the most padding).
# Entries up to 1e150 keep each sum below 9,217 * 1e300, well inside float64's largest number
# (about 1.8e308); larger ones may overflow to infinity, which JSON cannot carry.
MAX_TERMS = MAX_CHANNELS * (MAX_SIZE + 2 * MAX_PADDING) ** 2
MAX_ABS = 1e150
# C * kh * kw * Ho * Wo: the products of the forward pass, each listed. One channel never has
# more than 360,000 (a 24x24 kernel on a 48x48 padded input); four channels could have four
# times that, which no student steps through.
MAX_PRODUCTS = 400_000
# The backward pass lists the same products again, once for dL/dW and once for dL/dX, with
# their indices: only up to this many, so that the answer stays a few megabytes.
MAX_LISTED_TERMS = 20_000


def _bad(field: str, msg: str) -> Invalid:
    return Invalid([{"loc": ["body", field], "msg": msg, "type": "value_error"}])


def _matrix(value, field: str) -> np.ndarray:
    """A non-empty rectangular 2-D list of finite numbers up to MAX_ABS, at most MAX_SIZE a side."""
    if not isinstance(value, list) or not value or not all(isinstance(r, list) for r in value):
        raise _bad(field, "expected a 2-D list of numbers (a list of rows)")
    widths = {len(r) for r in value}
    if len(widths) != 1:
        raise _bad(
            field,
            f"rows have different lengths ({', '.join(map(str, sorted(widths)))}); "
            "every row needs the same number of columns",
        )
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _bad(field, "expected numbers in every cell") from None
    if a.ndim != 2 or 0 in a.shape:
        raise _bad(field, f"expected a non-empty 2-D list, got shape {list(a.shape)}")
    if max(a.shape) > MAX_SIZE:
        raise _bad(field, f"is {a.shape[0]}x{a.shape[1]}; at most {MAX_SIZE}x{MAX_SIZE} is allowed")
    _finite_and_small(a, field)
    return a


def _channels(value, field: str) -> np.ndarray:
    """One channel as a 2-D list, or up to MAX_CHANNELS as a list of them: (C, H, W)."""
    is_3d = (
        isinstance(value, list) and value and isinstance(value[0], list) and value[0] and isinstance(value[0][0], list)
    )
    if not is_3d:
        return _matrix(value, field)[None]
    if len(value) > MAX_CHANNELS:
        raise _bad(field, f"has {len(value)} channels; at most {MAX_CHANNELS} are allowed")
    planes = [_matrix(plane, f"{field}[{c}]") for c, plane in enumerate(value)]
    if len({p.shape for p in planes}) != 1:
        shapes = ", ".join(f"{p.shape[0]}x{p.shape[1]}" for p in planes)
        raise _bad(field, f"channels have different sizes ({shapes}); every channel needs the same")
    return np.stack(planes)


def _finite_and_small(a: np.ndarray, field: str) -> None:
    if not np.isfinite(a).all():
        raise _bad(field, "contains NaN or infinity; use finite numbers")
    big = np.argwhere(np.abs(a) > MAX_ABS)
    if len(big):
        shown = ", ".join(f"{field}{''.join(f'[{i}]' for i in idx)} = {a[tuple(idx)]:g}" for idx in big[:3])
        more = f" and {len(big) - 3} more" if len(big) > 3 else ""
        raise _bad(
            field,
            f"has values too large: {shown}{more}. Use values between "
            f"{-MAX_ABS:g} and {MAX_ABS:g}: each result sums up to {MAX_TERMS:,} "
            "products of two entries, and larger ones can overflow float64 to "
            "infinity",
        )


def _agree(name: str, mine: np.ndarray, engine_value: np.ndarray, size) -> None:
    """Fail unless the definition and the engine agree up to rounding. size: the same sums taken
    over absolute values (or a bound of them); two orders of summing n terms differ by at most
    about 2 n eps times it, which matters when large terms cancel."""
    mine, engine_value = np.asarray(mine, np.float64), np.asarray(engine_value, np.float64)
    slack = 1e-9 + 1e-9 * np.abs(engine_value) + 2 * MAX_TERMS * np.finfo(np.float64).eps * size
    if mine.shape != engine_value.shape or not (np.abs(mine - engine_value) <= slack).all():
        raise RuntimeError(
            f"{name}: the definition and the engine disagree ({mine.tolist()} vs {engine_value.tolist()})"
        )


def _taps(r: int, c: int, kh: int, kw: int, s: int, d: int) -> tuple[slice, slice, slice]:
    """Output cell (r, c)'s window in Xpad, every channel: taps d apart from (rS, cS)."""
    return (slice(None), slice(r * s, r * s + d * (kh - 1) + 1, d), slice(c * s, c * s + d * (kw - 1) + 1, d))


def _by_definition(xp: np.ndarray, w: np.ndarray, b: float, delta: np.ndarray, s: int, d: int = 1):
    """I, dL/dW and dL/dXpad written out window by window, and each window's arithmetic.
    xp (C, Hp, Wp), w (C, kh, kw), b the bias (0 without one), delta (Ho, Wo)."""
    (_, kh, kw), (ho, wo) = w.shape, delta.shape
    cells, out = [], np.zeros((ho, wo))
    dW, dxp = np.zeros_like(w), np.zeros_like(xp)
    for r in range(ho):
        for c in range(wo):
            taps = _taps(r, c, kh, kw, s, d)
            win = xp[taps]
            prod = win * w
            channel_sums = prod.sum(axis=(1, 2))
            out[r, c] = channel_sums.sum() + b
            dW += delta[r, c] * win
            dxp[taps] += delta[r, c] * w
            window = {"top": r * s, "left": c * s, "rows": kh, "cols": kw, "dilation": d}
            cells.append(
                {
                    "row": r,
                    "col": c,
                    "window": window,
                    "products": prod.tolist(),
                    "channel_sums": channel_sums.tolist(),
                    "sum": float(out[r, c]),
                }
            )
    return out, dW, dxp, cells


def _conv_layer(spec: dict, x: np.ndarray, w: np.ndarray, b: float | None):
    """The engine's Conv2D for one filter over x (C, H, W), with the given weights (float64)."""
    layer = make_layer(spec, x.shape, "conv")
    layer.init_params(np.random.default_rng(0), np.float64)
    layer.params["W"] = w[None].copy()
    if b is not None:
        layer.params["b"] = np.array([b], np.float64)
    return layer


def _parameters(spec: dict, shape: tuple, filters: int) -> dict:
    """The parameter count of a layer of `filters` such filters, by the engine's summary, checked
    against the lecture's F x (K x K x C + 1)."""
    layer = engine.summarize({"input": list(shape), "layers": [{**spec, "out_channels": filters}]})
    row = layer["layers"][0]
    (kh, kw), channels = spec["kernel_size"], shape[0]
    per_filter = kh * kw * channels + (1 if spec["bias"] else 0)
    if row["params"] != filters * per_filter:
        raise RuntimeError(f"parameters: the engine counts {row['params']}, the formula {filters} x {per_filter}")
    return {
        "filters": filters,
        "per_filter": per_filter,
        "count": row["params"],
        "formula": row["param_formula"],
        "bias": spec["bias"],
    }


def explain(
    x,
    w,
    stride: int = 1,
    padding: int = 0,
    dl_do=None,
    dilation: int = 1,
    *,
    bias: float | None = None,
    activation: str = "none",
    filters: int = 1,
    pool_kernel: int = 2,
    pool_stride: int | None = None,
    pool_padding: int = 0,
    pool_delta=None,
) -> dict:
    """x, w: 2-D lists (one channel) or lists of them (C channels); bias None for none."""
    x, w = _channels(x, "x"), _channels(w, "w")
    s, p, d = int(stride), int(padding), int(dilation)
    if x.shape[0] != w.shape[0]:
        raise _bad(
            "w",
            f"has {w.shape[0]} channel{'s' if w.shape[0] != 1 else ''} but x has "
            f"{x.shape[0]}: a filter has one kernel per input channel",
        )
    if activation not in conv_activation.NAMES:
        raise _bad("activation", f"unknown activation {activation!r}; use one of {', '.join(conv_activation.NAMES)}")
    if bias is not None:
        _finite_and_small(np.array([float(bias)]), "bias")
    (channels, h, wd), (_, kh, kw) = x.shape, w.shape
    span_h, span_w = d * (kh - 1) + 1, d * (kw - 1) + 1  # what a dilated window spans
    for axis, n, k, span in (("height", h, kh, span_h), ("width", wd, kw, span_w)):
        if span > n + 2 * p:
            what = f"the kernel {axis} {k}"
            if d > 1:
                what += f" dilated by {d} spans {span}, which"
            raise _bad(
                "w",
                f"{what} is larger than the padded input {axis} {n} + 2*{p} = "
                f"{n + 2 * p}: {formula(n, k, s, p, d)} leaves no output; use a "
                "smaller kernel" + (" or dilation" if d > 1 else "") + " or more padding",
            )
    ho, wo = (h + 2 * p - span_h) // s + 1, (wd + 2 * p - span_w) // s + 1
    products = channels * kh * kw * ho * wo
    if products > MAX_PRODUCTS:
        raise TooLarge(
            f"{channels} channel(s) x {kh}x{kw} taps x {ho}x{wo} outputs = {products:,} "
            f"products to list, over the limit of {MAX_PRODUCTS:,}; use fewer channels, "
            "a smaller input or kernel, or a larger stride"
        )
    if dl_do is None:
        dl_do_ = np.ones((ho, wo))
    else:
        dl_do_ = _matrix(dl_do, "dl_do")
        if dl_do_.shape != (ho, wo):
            raise _bad(
                "dl_do",
                f"is {dl_do_.shape[0]}x{dl_do_.shape[1]} but the output is "
                f"{ho}x{wo}; give one gradient per output cell",
            )
    pool_delta_ = None if pool_delta is None else _matrix(pool_delta, "pool_delta")
    b = 0.0 if bias is None else float(bias)

    # ---- forward and backward by the engine --------------------------------------------
    spec = {
        "type": "conv2d",
        "out_channels": 1,
        "kernel_size": [kh, kw],
        "stride": s,
        "padding": p,
        "dilation": d,
        "bias": bias is not None,
    }
    conv = _conv_layer(spec, x, w, bias)
    # what flooring the output size leaves unread, in the engine's words (as the Build view says)
    warnings = [text.removeprefix(f"{conv.path}: ") for text in conv.warnings]
    i_out = conv.forward(x[None], record=True)[0, 0]
    o_out, delta = conv_activation.by_engine(activation, i_out, dl_do_)
    dx = conv.backward(delta[None, None])[0]
    dW = conv.grads["W"][0]
    db = float(conv.grads["b"][0]) if bias is not None else None

    # ---- the same by definition -----------------------------------------------------------
    xp = np.pad(x, ((0, 0), (p, p), (p, p)))
    o_def, slope = conv_activation.by_definition(activation, i_out)
    _agree("activation", o_def, o_out, np.abs(i_out))
    _agree("delta = dL/dO * f'(I)", dl_do_ * slope, delta, np.abs(dl_do_))
    out, dW_def, dxp_def, cells = _by_definition(xp, w, b, delta, s, d)
    dx_def = dxp_def[:, p : p + h, p : p + wd]
    # the same sums over absolute values: how much rounding the comparisons must allow
    size_y, size_dW, size_dxp, _ = _by_definition(np.abs(xp), np.abs(w), abs(b), np.abs(delta), s, d)
    size_dx = size_dxp[:, p : p + h, p : p + wd]
    _agree("output", out, i_out, size_y)
    _agree("dW", dW_def, dW, size_dW)
    _agree("dX", dx_def, dx, size_dx)
    if bias is not None:
        _agree("db", delta.sum(), db, np.abs(delta).sum())
    for cell, o in zip(cells, o_out.ravel()):
        cell["bias"] = bias
        cell["activated"] = float(o)

    listed = products <= MAX_LISTED_TERMS
    dW_cells, dX_cells = terms_by_cell(xp, w, delta, s, d, p) if listed else (None, None)
    if listed:  # the cells come in the arrays' own order: channel, row, column
        for name, cells_, engine_value, size in (("dW", dW_cells, dW, size_dW), ("dX", dX_cells, dx, size_dx)):
            by_terms = np.reshape([cell["sum"] for cell in cells_], engine_value.shape)
            _agree(f"{name}, term by term", by_terms, engine_value, size)
    dW_conv, dX_conv = as_convolutions(xp, w, delta, s, d, p)
    _agree("dW as a convolution", dW_conv["output"], dW, size_dW)
    _agree("dX as a convolution", dX_conv["output"], dx, size_dx)

    # ---- what mathematics calls convolution: W rotated 180 degrees first ------------------------
    flipped = w[:, ::-1, ::-1].copy()
    y_true = _conv_layer(spec, x, flipped, bias).forward(x[None])[0, 0]
    true_def = _by_definition(xp, flipped, b, delta, s, d)[0]
    _agree(
        "true convolution",
        true_def,
        y_true,
        _by_definition(np.abs(xp), np.abs(flipped), abs(b), np.abs(delta), s, d)[0],
    )
    f_text, df_text = conv_activation.FORMULAS[activation]

    return {
        "channels": channels,
        "input_shape": [h, wd],
        "kernel_shape": [kh, kw],
        "stride": s,
        "padding": p,
        "dilation": d,
        "output_shape": [ho, wo],
        "formula": {"height": formula(h, kh, s, p, d), "width": formula(wd, kw, s, p, d)},
        "kernel": w.tolist(),
        "bias": bias,
        "parameters": _parameters(spec, x.shape, filters),
        "warnings": warnings,
        "output": i_out.tolist(),
        "activation": {
            "name": activation,
            "f": f_text,
            "df": df_text,
            "output": o_out.tolist(),
            "slope": slope.tolist(),
        },
        "true_convolution": {
            "kernel": flipped.tolist(),
            "output": y_true.tolist(),
            "description": (
                "The lecture's * slides W over X as it is: that is cross-correlation, which every "
                "deep-learning library (PyTorch's Conv2d, this engine) calls convolution. "
                "Mathematics' convolution first rotates W by 180 degrees (W[a, b] becomes "
                f"W[{kh - 1}-a, {kw - 1}-b]), which gives this output instead. A network learns "
                "its W either way, so the flip only matters when comparing with a "
                "signal-processing text."
            ),
        },
        "padded_x": xp.tolist(),
        "cells": cells,
        "backward": {
            "dl_do": dl_do_.tolist(),
            "slope": slope.tolist(),
            "delta": delta.tolist(),
            "dW": dW.tolist(),
            "db": db,
            "dX": dx.tolist(),
            "dW_cells": dW_cells,
            "dX_cells": dX_cells,
            "terms_note": None
            if listed
            else (
                f"the terms of each cell are listed up to {MAX_LISTED_TERMS:,} products; this "
                f"convolution has {products:,}, so only the results are shown"
            ),
            "dW_as_convolution": {**dW_conv, "output": dW_conv["output"].tolist()},
            "dX_as_convolution": {**dX_conv, "output": dX_conv["output"].tolist()},
        },
        "pooling": explain_pooling(x, pool_kernel, pool_stride or pool_kernel, pool_padding, pool_delta_, _agree, _bad),
    }
