"""Max and average pooling of X, with a window and stride of their own, and their derivatives.

Each channel is pooled on its own. Backward, as the lecture asks ("what's with derivative
here?"): max pooling hands each window's gradient to the one input that won the max, average
pooling spreads it evenly over the window. The engine's layers compute both; the definitions
written out here must agree with them.
"""

from __future__ import annotations

import numpy as np

from engine.errors import SpecError
from engine.layers import make_layer
from engine.layers.shape import formula


def explain_pooling(x: np.ndarray, k: int, s: int, p: int, delta, agree, bad) -> dict:
    """x (C, H, W); a k x k window, stride s, padding p; delta (Ho, Wo) or None (all ones), the
    same upstream gradient for every channel. agree(name, mine, engine's, size) fails on a
    disagreement; bad(field, message) makes the error for a delta of the wrong shape."""
    c, h, wd = x.shape
    spec = {"kernel_size": k, "stride": s, "padding": p}
    shown = {
        "kernel_size": k,
        "stride": s,
        "padding": p,
        "formula": {"height": formula(h, k, s, p), "width": formula(wd, k, s, p)},
    }
    try:
        layers = {
            kind: make_layer({"type": kind, **spec}, (c, h, wd), "pooling") for kind in ("maxpool2d", "avgpool2d")
        }
    except SpecError as e:  # in the engine's words; the convolution above still stands
        return {**shown, "error": e.message}
    _, ho, wo = layers["maxpool2d"].out_shape
    if delta is None:
        dd = np.ones((ho, wo))
    else:
        dd = np.asarray(delta, dtype=np.float64)
        if dd.shape != (ho, wo):
            raise bad(
                "pool_delta",
                f"is {dd.shape[0]}x{dd.shape[1]} but pooling gives {ho}x{wo}; give one gradient per pooled cell",
            )
    warnings = [w.removeprefix("pooling: ") for w in layers["maxpool2d"].warnings]

    y_max, dx_max, argmax = _max_by_definition(x, k, s, p, dd)
    y_avg, dx_avg = _avg_by_definition(x, k, s, p, dd)
    dd4 = np.broadcast_to(dd, (1, c, ho, wo)).copy()
    for kind, y_def, dx_def in (("maxpool2d", y_max, dx_max), ("avgpool2d", y_avg, dx_avg)):
        layer = layers[kind]
        y = layer.forward(x[None], record=True)[0]
        dx = layer.backward(dd4)[0]
        # a mean of window entries; a sum of at most k*k gradients per input
        agree(kind, y_def, y, np.abs(x).max())
        agree(f"{kind} dX", dx_def, dx, k * k * np.abs(dd).max())
    return {
        **shown,
        "error": None,
        "output_shape": [ho, wo],
        "warnings": warnings,
        "delta": dd.tolist(),
        "windows": [[{"top": r * s - p, "left": q * s - p, "size": k} for q in range(wo)] for r in range(ho)],
        "max": {
            "output": y_max.tolist(),
            "argmax": argmax,
            "dx": dx_max.tolist(),
            "description": "each window passes its gradient to the one input that won the max "
            "(the first one in reading order on ties); the others get 0",
        },
        "avg": {
            "output": y_avg.tolist(),
            "dx": dx_avg.tolist(),
            "description": f"each window spreads its gradient evenly: 1/{k * k} of it to each "
            "of its inputs" + (" (padding counts as zeros)" if p else ""),
        },
    }


def _max_by_definition(x, k, s, p, dd):
    """The max of each window (padding never wins; the first maximum in reading order), and
    dL/dX: each window's gradient added at its arg-max. argmax: (C, Ho, Wo) [row, col] of X."""
    c, h, wd = x.shape
    ho, wo = dd.shape
    xp = np.pad(x, ((0, 0), (p, p), (p, p)), constant_values=-np.inf)
    y, dxp, argmax = np.zeros((c, ho, wo)), np.zeros(xp.shape), []
    for ch in range(c):
        rows = []
        for r in range(ho):
            row = []
            for q in range(wo):
                win = xp[ch, r * s : r * s + k, q * s : q * s + k]
                a, b = np.unravel_index(int(np.argmax(win)), win.shape)
                y[ch, r, q] = win[a, b]
                dxp[ch, r * s + a, q * s + b] += dd[r, q]
                row.append([int(r * s + a - p), int(q * s + b - p)])
            rows.append(row)
        argmax.append(rows)
    return y, dxp[:, p : p + h, p : p + wd], argmax


def _avg_by_definition(x, k, s, p, dd):
    """The mean of each window (padding counts as zeros), and dL/dX: each window's gradient
    spread as 1/(k*k) over its inputs."""
    c, h, wd = x.shape
    ho, wo = dd.shape
    xp = np.pad(x, ((0, 0), (p, p), (p, p)))
    y, dxp = np.zeros((c, ho, wo)), np.zeros(xp.shape)
    for r in range(ho):
        for q in range(wo):
            y[:, r, q] = xp[:, r * s : r * s + k, q * s : q * s + k].mean(axis=(1, 2))
            dxp[:, r * s : r * s + k, q * s : q * s + k] += dd[r, q] / (k * k)
    return y, dxp[:, p : p + h, p : p + wd]
