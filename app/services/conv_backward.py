"""The backward pass of one convolution, written out two ways, as the lecture writes it.

Cell by cell: each entry of dL/dW and dL/dX with the terms that make it. As convolutions:

    dL/dW = Xpad  (*)  delta dilated by S                     (valid, stride 1),
            read every d-th row and column
    dL/dX = (delta dilated by S, zero-padded by d(K-1))  (*)  rot180(W dilated by d),
            then the P border rows and columns are cut away

(a kernel "dilated by d" has d-1 zeros between its taps; with d = 1 nothing changes; (*) is
cross-correlation, which deep-learning libraries call convolution). conv_explain checks both
against the engine.
"""

from __future__ import annotations

import numpy as np


def dilate(d: np.ndarray, s: int) -> np.ndarray:
    """Insert s-1 zeros between neighbouring entries: what a stride does to the gradient's
    spacing."""
    if s == 1:
        return d.copy()
    out = np.zeros(((d.shape[0] - 1) * s + 1, (d.shape[1] - 1) * s + 1))
    out[::s, ::s] = d
    return out


def correlate(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid cross-correlation with stride 1, written out:
    out[i, j] = sum_ab k[a, b] x[i+a, j+b]."""
    kh, kw = k.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (x[i : i + kh, j : j + kw] * k).sum()
    return out


def terms_by_cell(xp: np.ndarray, w: np.ndarray, delta: np.ndarray, s: int, d: int, p: int):
    """Each cell of dL/dW and dL/dX with its terms, in the arrays' order (channel, row, column).

    A term of dL/dW[c,a,b] is delta[i,j] * Xpad[c, iS + ad, jS + bd]; the same pair (output
    (i,j), tap (a,b)) gives dL/dX[c, iS + ad - P, jS + bd - P] the term delta[i,j] * W[c,a,b],
    none when that tap lies on padding. xp (C, Hp, Wp), w (C, kh, kw), delta (Ho, Wo)."""
    (channels, kh, kw), (ho, wo) = w.shape, delta.shape
    h, wd = xp.shape[1] - 2 * p, xp.shape[2] - 2 * p
    dW_terms = {(c, a, b): [] for c in range(channels) for a in range(kh) for b in range(kw)}
    dX_terms = {(c, y, x): [] for c in range(channels) for y in range(h) for x in range(wd)}
    for c in range(channels):
        for i in range(ho):
            for j in range(wo):
                g = float(delta[i, j])
                for a in range(kh):
                    for b in range(kw):
                        row, col = i * s + a * d, j * s + b * d  # in Xpad
                        x = float(xp[c, row, col])
                        dW_terms[c, a, b].append(
                            {"out": [i, j], "at": [row, col], "delta": g, "x": x, "product": g * x}
                        )
                        if p <= row < p + h and p <= col < p + wd:
                            weight = float(w[c, a, b])
                            dX_terms[c, row - p, col - p].append(
                                {"out": [i, j], "tap": [a, b], "delta": g, "w": weight, "product": g * weight}
                            )

    def cells(terms):
        return [
            {"channel": c, "row": r, "col": q, "terms": t, "sum": float(sum(term["product"] for term in t))}
            for (c, r, q), t in terms.items()
        ]

    return cells(dW_terms), cells(dX_terms)


def as_convolutions(xp: np.ndarray, w: np.ndarray, delta: np.ndarray, s: int, d: int, p: int):
    """(dL/dW, dL/dX) each as the convolution it is: its input, kernel, output and description,
    channel by channel (the outputs (C, kh, kw) and (C, H, W))."""
    channels, kh, kw = w.shape
    h, wd = xp.shape[1] - 2 * p, xp.shape[2] - 2 * p
    span_h, span_w = d * (kh - 1) + 1, d * (kw - 1) + 1
    dd = dilate(delta, s)
    # every d-th result, the first kh x kw of them: the others are where the stride or the
    # dilation skipped inputs
    dW = np.stack([correlate(plane, dd)[::d, ::d][:kh, :kw] for plane in xp])
    full = np.pad(dd, ((span_h - 1, span_h - 1), (span_w - 1, span_w - 1)))
    rot = np.stack([dilate(kernel, d)[::-1, ::-1] for kernel in w])
    dxp = np.zeros_like(xp)
    for c in range(channels):
        part = correlate(full, rot[c])  # covers Xpad up to the last row/column a window reached
        dxp[c, : part.shape[0], : part.shape[1]] = part
    dx = dxp[:, p : p + h, p : p + wd]

    tap_a, tap_b = ("a", "b") if d == 1 else (f"{d}a", f"{d}b")  # a tap's offset in a window
    dW_words = (
        f"dL/dW[a,b] = sum over outputs (i,j) of delta[i,j] * "
        f"Xpad[i*{s}+{tap_a}, j*{s}+{tap_b}]: "
        "the padded input cross-correlated (stride 1) with delta"
        + (f" dilated by the stride {s} ({s - 1} zeros between entries)" if s > 1 else "")
        + (f", keeping the results {d} apart (the dilation), the first " if d > 1 else ", keeping the first ")
        + f"{kh}x{kw}"
        + (", channel by channel" if channels > 1 else "")
    )
    zeros = f"{d - 1} zero{'s' if d > 2 else ''}"
    dX_words = (
        (f"delta dilated by the stride {s}, then " if s > 1 else "delta ")
        + (
            f"zero-padded by K-1 = {kh - 1}x{kw - 1}"
            if d == 1
            else f"zero-padded by d(K-1) = {span_h - 1}x{span_w - 1}"
        )
        + " on every side (a full convolution), cross-correlated (stride 1) "
        + (
            "with W rotated 180 degrees"
            if d == 1
            else f"with W dilated by {d} ({zeros} between its taps) and rotated 180 degrees"
        )
        + (" (each channel's own W)" if channels > 1 else "")
        + "; this gives dL/dXpad"
        + (f", and the {p} border rows and columns of padding are cut away" if p else "")
        + ". The lecture's dL/dX[i,j] = sum_ab delta[i-a, j-b] W[a,b]"
    )
    return (
        {"input": xp.tolist(), "kernel": dd.tolist(), "output": dW, "description": dW_words},
        {"input": full.tolist(), "kernel": rot.tolist(), "output": dx, "description": dX_words},
    )
