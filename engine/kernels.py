"""Vectorized kernels for sliding windows: im2col, col2im and pooling.

The loops here run over kernel offsets (kh*kw of them), never over the batch
or over pixels: each step moves a whole strided slice of the batch at once.
tests/engine/reference.py holds the plain-loop versions these are checked
against.
"""

from __future__ import annotations

import numpy as np


def out_size(n: int, k: int, s: int, p: int) -> int:
    """N_out = floor((N_in + 2P - K)/S) + 1."""
    return (n + 2 * p - k) // s + 1


def pad(x: np.ndarray, ph: int, pw: int, value: float = 0.0) -> np.ndarray:
    """x : (N, C, H, W) -> (N, C, H+2ph, W+2pw)."""
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def im2col(x: np.ndarray, k: tuple, s: tuple, p: tuple) -> tuple[np.ndarray, int, int]:
    """Unfold windows into columns.

    x : (N, C, H, W) -> cols : (C*kh*kw, N*Ho*Wo), row order (c, i, j) to
    match W.reshape(F, C*kh*kw).
    """
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    n, c, h, w = x.shape
    ho, wo = out_size(h, kh, sh, ph), out_size(w, kw, sw, pw)
    xp = pad(x, ph, pw)
    cols = np.empty((c, kh, kw, n, ho, wo), dtype=x.dtype)
    xt = xp.transpose(1, 0, 2, 3)  # (C, N, Hp, Wp) view
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = xt[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
    return cols.reshape(c * kh * kw, n * ho * wo), ho, wo


def col2im(cols: np.ndarray, x_shape: tuple, k: tuple, s: tuple, p: tuple) -> np.ndarray:
    """Fold columns back, summing overlaps: the adjoint of im2col.

    cols : (C*kh*kw, N*Ho*Wo) -> dx : (N, C, H, W)
    """
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    n, c, h, w = x_shape
    ho, wo = out_size(h, kh, sh, ph), out_size(w, kw, sw, pw)
    cols = cols.reshape(c, kh, kw, n, ho, wo)
    dxp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += cols[:, i, j]
    return dxp[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)


def windows(xp: np.ndarray, k: tuple, s: tuple, ho: int, wo: int):
    """Yield (i, j, view) for each kernel offset: view[n,c,a,b] = xp[n,c,a*sh+i,b*sw+j]."""
    (kh, kw), (sh, sw) = k, s
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
