"""Vectorized kernels for sliding windows: im2col, col2im and pooling.

The loops here run over kernel offsets (kh*kw of them), never over the batch
or over pixels: each step moves a whole strided slice of the batch at once.
tests/engine/reference.py holds the plain-loop versions these are checked
against.

Layout. Convolutions work channel-major: im2col's columns are ordered
(n, a, b) within each row, so the product W(F, C*kh*kw) @ cols is
(F, N*Ho*Wo) -- the output's memory is (F, N, Ho, Wo), and the layer hands
it on as the (N, F, Ho, Wo) view `y.transpose(1, 0, 2, 3)` without copying.
The next layer reads that view back as a contiguous (F, N, Ho, Wo) block
(`channel_major`), so stacks of conv / relu / pool / batch norm never
transpose.
"""

from __future__ import annotations

import numpy as np

# A convolution works through a batch in chunks of images whose im2col columns
# take about CHUNK_BYTES (about one core's L2 cache), and in at least MIN_CHUNKS
# chunks when the batch allows, so that threads have pieces to share (see
# parallel.py). The split depends only on the shapes, never on the thread
# count, so results do not either. Columns of a whole batch up to KEEP_BYTES
# are kept from forward for backward; larger ones are built again, which costs
# less than reading them back from memory.
CHUNK_BYTES = 2 << 20
MIN_CHUNKS = 4
KEEP_BYTES = 10 << 20


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


def channel_major(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> the (C, N, H, W) view; free when x came from a conv."""
    return x.transpose(1, 0, 2, 3)


def as_rows(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (C, N*H*W), copying only if x is not channel-major."""
    c = x.shape[1]
    return channel_major(x).reshape(c, -1)


def buffer(store: dict | None, name: str, shape: tuple, dtype, zero: bool = False) -> np.ndarray:
    """An uninitialized array, reused from `store` when one of that shape is there.

    Layers pass their scratch dict only while recording for a training step,
    so inference allocates afresh and stays re-entrant. zero=True starts a new
    array at zero; a reused one holds what was last written to it, which is
    what a caller that only ever writes the interior of a padded array wants.
    """
    make = np.zeros if zero else np.empty
    if store is None:
        return make(shape, dtype)
    buf = store.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = store[name] = make(shape, dtype)
    return buf


def batch_chunks(n: int, per_image_bytes: int) -> tuple[int, list[tuple[int, int]]]:
    """Split a batch of n into runs of images whose work arrays take about CHUNK_BYTES,
    at least MIN_CHUNKS runs when n allows: (images per run, [(n0, n1), ...])."""
    nb = max(1, min(-(-n // MIN_CHUNKS), CHUNK_BYTES // max(per_image_bytes, 1)))
    return nb, [(n0, min(n, n0 + nb)) for n0 in range(0, n, nb)]


def pad_cm(xt: np.ndarray, ph: int, pw: int, out: np.ndarray | None = None) -> np.ndarray:
    """(C, N, H, W) -> zero-padded (C, N, H+2ph, W+2pw); xt itself when there is no padding.

    `out`, if given, is the padded array with its border already zero: only the
    interior is written.
    """
    if ph == 0 and pw == 0:
        return xt
    c, n, h, w = xt.shape
    xp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=xt.dtype) if out is None else out
    xp[:, :, ph:ph + h, pw:pw + w] = xt
    return xp


def im2col(x: np.ndarray, k: tuple, s: tuple, p: tuple, out: np.ndarray | None = None,
           xpad: np.ndarray | None = None) -> tuple[np.ndarray, int, int]:
    """Unfold windows into columns.

    x : (N, C, H, W) -> cols : (C*kh*kw, N*Ho*Wo), row order (c, i, j) to
    match W.reshape(F, C*kh*kw), column order (n, a, b). `out`, if given, is
    a (C, kh, kw, N, Ho, Wo) array to fill; `xpad` a zero-bordered
    (C, N, H+2ph, W+2pw) array for the padded input (see pad_cm).
    """
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    n, c, h, w = x.shape
    ho, wo = out_size(h, kh, sh, ph), out_size(w, kw, sw, pw)
    cols = np.empty((c, kh, kw, n, ho, wo), dtype=x.dtype) if out is None else out
    xp = pad_cm(channel_major(x), ph, pw, xpad)  # (C, N, Hp, Wp)
    # all kh*kw window offsets in one copy: view[c,i,j,n,a,b] = xp[c, n, a*sh + i, b*sw + j]
    st_c, st_n, st_h, st_w = xp.strides
    cols[...] = np.lib.stride_tricks.as_strided(
        xp, (c, kh, kw, n, ho, wo), (st_c, st_h, st_w, st_n, st_h * sh, st_w * sw), writeable=False)
    return cols.reshape(c * kh * kw, n * ho * wo), ho, wo


def col2im(cols: np.ndarray, x_shape: tuple, k: tuple, s: tuple, p: tuple,
           xpad: np.ndarray | None = None) -> np.ndarray:
    """Fold columns back, summing overlaps: the adjoint of im2col.

    cols : (C*kh*kw, N*Ho*Wo) -> dx : (N, C, H, W), returned as the view of
    a channel-major (C, N, H, W) array (of `xpad`, a (C, N, H+2ph, W+2pw)
    work array, if given).
    """
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    n, c, h, w = x_shape
    ho, wo = out_size(h, kh, sh, ph), out_size(w, kw, sw, pw)
    cols = cols.reshape(c, kh, kw, n, ho, wo)
    if xpad is None:
        dxp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    else:
        dxp = xpad
        dxp.fill(0)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += cols[:, i, j]
    return dxp[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)


def col2im_flat(wt: np.ndarray, dyt: np.ndarray, x_shape: tuple, k: tuple, p: tuple,
                store: dict | None = None, nb: int | None = None) -> np.ndarray:
    """col2im(wt @ delta) for stride 1, folded on the flat padded grid.

    wt : (C*kh*kw, F), dyt : (F, m, Ho, Wo) (channel-major) -> dx : (C, m, H, W), a
    channel-major view of a work array (copy it out before the next call).
    delta is laid on the padded (Hp, Wp) grid with zeros outside (Ho, Wo), so a
    kernel offset (i, j) is a shift by i*Wp + j of the flat (m*Hp*Wp) index and
    each of its additions is one contiguous run per channel, instead of m*Ho
    runs of Wo: fewer, longer inner loops for a few more multiply-adds.
    `store` keeps the work arrays between calls (see `buffer`), sized for nb
    images (default m): call with at most nb images.
    """
    (kh, kw), (ph, pw) = k, p
    _, c, h, w = x_shape
    f, m, ho, wo = dyt.shape
    nb = nb or m
    hp, wp = h + 2 * ph, w + 2 * pw
    size, tail = m * hp * wp, (kh - 1) * wp + kw - 1
    d = buffer(store, "dgrid", (f, nb, hp, wp), dyt.dtype, zero=True)[:, :m]  # zeros outside (Ho, Wo) stay
    d[:, :, :ho, :wo] = dyt
    dcols = buffer(store, "dcols", (c * kh * kw, nb * hp * wp), dyt.dtype)[:, :size]
    np.matmul(wt, d.reshape(f, size), out=dcols)
    dcols = dcols.reshape(c, kh * kw, size)
    dxp = buffer(store, "dxflat", (c, nb * hp * wp + tail), dyt.dtype)[:, :size + tail]
    dxp.fill(0)
    for i in range(kh):
        for j in range(kw):
            off = i * wp + j
            dxp[:, off:off + size] += dcols[:, i * kw + j]
    return dxp[:, :size].reshape(c, m, hp, wp)[:, :, ph:ph + h, pw:pw + w]


def windows(xp: np.ndarray, k: tuple, s: tuple, ho: int, wo: int):
    """Yield (i, j, view) for each kernel offset: view[n,c,a,b] = xp[n,c,a*sh+i,b*sw+j]."""
    (kh, kw), (sh, sw) = k, s
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
