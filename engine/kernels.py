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

Groups. im2col's rows are ordered (c, i, j), so the rows of a group of
channels are consecutive: a grouped convolution is one product per group
(grouped_matmul, grouped_dot) on the same columns. Dilation only spaces
the taps a window reads (im2col's strides), and padding may differ between
the near and far sides ("same" for an even span).
"""

from __future__ import annotations

import math
import threading

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


def pad(x: np.ndarray, ph: int, pw: int, value: float = 0.0) -> np.ndarray:
    """x : (N, C, H, W) -> (N, C, H+2ph, W+2pw)."""
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


def channel_major(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> the (C, N, H, W) view; free when x came from a conv."""
    return x.transpose(1, 0, 2, 3)


def as_rows(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (C, N*H*W), copying only if x is not channel-major."""
    c = x.shape[1]
    return channel_major(x).reshape(c, -1)


# The largest work array a thread keeps between inference calls (see Arena): enough for any
# chunk of a batch (CHUNK_BYTES) and one image of the presets' larger layers; a bigger one
# (one 224x224 image's columns can take 100 MB) is allocated for the call and let go.
ARENA_BYTES = 8 << 20


class Arena:
    """One thread's work arrays for inference, shared by every layer that thread runs.

    Inference keeps nothing between layers (a layer's columns are done with before the next
    layer starts), so one array per name serves them all, viewed at each layer's shape. It
    saves the fresh allocation of every call, which for arrays of more than a few hundred KB
    costs a page fault per 4 KB touched until the allocator has seen a few: in a fresh server
    process, ResNet-8's one-image feature maps took 1.56 ms with them and take 0.91. Training
    keeps a store per layer instead (FastConv2D._store): backward reads what forward left.
    """

    _local = threading.local()

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}  # name -> its bytes, grown as asked
        self.views: dict[tuple, np.ndarray] = {}  # (name, shape, dtype) -> a view of them

    @classmethod
    def here(cls) -> Arena:
        """This thread's arena."""
        arena = getattr(cls._local, "arena", None)
        if arena is None:
            arena = cls._local.arena = cls()
        return arena

    def take(self, name: str, shape: tuple, dtype, zero: bool) -> np.ndarray:
        """An array of that shape, zeroed if asked: a view of this thread's `name` array."""
        key = (name, shape, dtype)
        out = self.views.get(key)
        if out is None:
            nbytes = math.prod(shape) * np.dtype(dtype).itemsize
            if nbytes > ARENA_BYTES:
                return (np.zeros if zero else np.empty)(shape, dtype)
            flat = self.arrays.get(name)
            if flat is None or flat.nbytes < nbytes:
                flat = self.arrays[name] = np.empty(nbytes, np.uint8)
                self.views = {k: v for k, v in self.views.items() if k[0] != name}  # views of the old bytes
            if len(self.views) >= 256:  # the shapes of many networks: keep the arrays, forget the views
                self.views.clear()
            out = self.views[key] = flat[:nbytes].view(dtype).reshape(shape)
        if zero:  # another layer may have left other numbers here
            out.fill(0)
        return out


def buffer(store: dict | Arena | None, name: str, shape: tuple, dtype, zero: bool = False) -> np.ndarray:
    """An uninitialized array, reused from `store` when one of that shape is there.

    Layers pass their scratch dict while recording for a training step, and this thread's
    Arena for inference (None allocates afresh). zero=True starts a new array at zero; a
    reused one from a dict holds what was last written to it, which is what a caller that
    only ever writes the interior of a padded array wants (an Arena's is zeroed each time).
    """
    make = np.zeros if zero else np.empty
    if store is None:
        return make(shape, dtype)
    if isinstance(store, Arena):
        return store.take(name, shape, dtype, zero)
    buf = store.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = store[name] = make(shape, dtype)
    return buf


def batch_chunks(n: int, per_image_bytes: int) -> tuple[int, list[tuple[int, int]]]:
    """Split a batch of n into runs of images whose work arrays take about CHUNK_BYTES,
    at least MIN_CHUNKS runs when n allows: (images per run, [(n0, n1), ...])."""
    nb = max(1, min(-(-n // MIN_CHUNKS), CHUNK_BYTES // max(per_image_bytes, 1)))
    return nb, [(n0, min(n, n0 + nb)) for n0 in range(0, n, nb)]


def pads(p) -> tuple:
    """Padding as ((top, bottom), (left, right)); an int for an axis pads both its sides alike."""
    return tuple(q if isinstance(q, tuple) else (q, q) for q in p)


def pad_cm(xt: np.ndarray, p, out: np.ndarray | None = None) -> np.ndarray:
    """(C, N, H, W) -> zero-padded (C, N, top+H+bottom, left+W+right); xt itself when there is
    no padding. p as for `pads`.

    `out`, if given, is the padded array with its border already zero: only the
    interior is written.
    """
    (pt, pb), (pl, pr) = pads(p)
    if pt == pb == pl == pr == 0:
        return xt
    c, n, h, w = xt.shape
    xp = np.zeros((c, n, pt + h + pb, pl + w + pr), dtype=xt.dtype) if out is None else out
    xp[:, :, pt : pt + h, pl : pl + w] = xt
    return xp


def fit(n: int, k: int, s: int, before: int, after: int, d: int = 1) -> int:
    """How many windows of k taps dilated by d fit along a padded axis, stride s apart."""
    return (before + n + after - d * (k - 1) - 1) // s + 1


def grouped_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a : (G, m, k), b : (G, k, n) -> (G, m, n): one matrix product per group of channels.

    With one group, a plain 2-D product; with more, NumPy's stacked matmul, which hands each
    group's product to BLAS in turn.
    """
    if a.shape[0] == 1:
        if out is None:
            return np.matmul(a[0], b[0])[None]
        np.matmul(a[0], b[0], out=out[0])
        return out
    if a.shape[2] == 1:  # outer products (a depthwise convolution's dL/dX): one multiply each,
        return np.multiply(a, b, out=out)  # which the stacked matmul does several times slower
    return np.matmul(a, b, out=out)


def grouped_dot(a: np.ndarray, b: np.ndarray, groups: int) -> np.ndarray:
    """a : (G*m, k), b : (k, G*n) -> (G, m, n): each group's rows of a times its columns of b.

    For a weight gradient, cols @ delta^T with delta^T made contiguous: of the ways to write
    this product, the one that BLAS runs fastest here, and the only one that runs well in two
    threads at once.
    """
    if groups == 1:
        return np.dot(a, b)[None]
    a3 = a.reshape(groups, -1, a.shape[1])
    b3 = b.reshape(b.shape[0], groups, -1).transpose(1, 0, 2)  # (G, k, n), rows still contiguous
    return np.matmul(a3, b3)


# dL/dW = cols @ delta^T. With few rows (C*kh*kw up to SMALL_DW_ROWS: a first layer on one
# channel, a 1x1 shortcut) BLAS runs np.dot(cols, delta.T) fast as it is; with more rows, a
# contiguous copy of delta^T first pays for itself (see grouped_dot).
SMALL_DW_ROWS = 32


def weight_gradient(cols: np.ndarray, d2: np.ndarray, groups: int) -> np.ndarray:
    """cols : (C*kh*kw, M), d2 : (F, M) (delta) -> (G, C/G*kh*kw, F/G), chosen by shape."""
    if groups == 1 and cols.shape[0] <= SMALL_DW_ROWS:
        return np.dot(cols, d2.T)[None]
    return grouped_dot(cols, np.ascontiguousarray(d2.T), groups)


def im2col(
    x: np.ndarray,
    k: tuple,
    s: tuple,
    p,
    d: tuple = (1, 1),
    out: np.ndarray | None = None,
    xpad: np.ndarray | None = None,
    windows: tuple | None = None,
) -> tuple[np.ndarray, int, int]:
    """Unfold windows into columns.

    x : (N, C, H, W) -> cols : (C*kh*kw, N*Ho*Wo), row order (c, i, j) to
    match W.reshape(F, C*kh*kw) (so the rows of a group of channels are
    consecutive), column order (n, a, b); column (n, a, b), row (c, i, j) holds
    xpad[n, c, a*sh + i*dh, b*sw + j*dw]. p as for `pads`, d the dilation.
    `windows`: (Ho, Wo), if not as many as fit. `out`, if given, is a
    (C, kh, kw, N, Ho, Wo) array to fill; `xpad` a zero-bordered padded
    (C, N, Hp, Wp) array for the padded input (see pad_cm).
    """
    (kh, kw), (sh, sw), (dh, dw) = k, s, d
    (pt, pb), (pl, pr) = pads(p)
    n, c, h, w = x.shape
    ho, wo = windows or (fit(h, kh, sh, pt, pb, dh), fit(w, kw, sw, pl, pr, dw))
    cols = np.empty((c, kh, kw, n, ho, wo), dtype=x.dtype) if out is None else out
    xp = pad_cm(channel_major(x), p, xpad)  # (C, N, Hp, Wp)
    # all kh*kw window offsets in one copy:
    # view[c,i,j,n,a,b] = xp[c, n, a*sh + i*dh, b*sw + j*dw]
    st_c, st_n, st_h, st_w = xp.strides
    cols[...] = np.lib.stride_tricks.as_strided(
        xp, (c, kh, kw, n, ho, wo), (st_c, st_h * dh, st_w * dw, st_n, st_h * sh, st_w * sw), writeable=False
    )
    return cols.reshape(c * kh * kw, n * ho * wo), ho, wo


def col2im(
    cols: np.ndarray,
    x_shape: tuple,
    k: tuple,
    s: tuple,
    p,
    d: tuple = (1, 1),
    windows: tuple | None = None,
    xpad: np.ndarray | None = None,
) -> np.ndarray:
    """Fold columns back, summing overlaps: the adjoint of im2col (same arguments).

    cols : (C*kh*kw, N*Ho*Wo) -> dx : (N, C, H, W), returned as the view of
    a channel-major (C, N, H, W) array (of `xpad`, a padded (C, N, Hp, Wp)
    work array, if given).
    """
    (kh, kw), (sh, sw), (dh, dw) = k, s, d
    (pt, pb), (pl, pr) = pads(p)
    n, c, h, w = x_shape
    ho, wo = windows or (fit(h, kh, sh, pt, pb, dh), fit(w, kw, sw, pl, pr, dw))
    cols = cols.reshape(c, kh, kw, n, ho, wo)
    if xpad is None:
        dxp = np.zeros((c, n, pt + h + pb, pl + w + pr), dtype=cols.dtype)
    else:
        dxp = xpad
        dxp.fill(0)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            columns = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            dxp[:, :, rows, columns] += cols[:, i, j]
    return dxp[:, :, pt : pt + h, pl : pl + w].transpose(1, 0, 2, 3)


def col2im_flat(
    wt: np.ndarray,
    dyt: np.ndarray,
    x_shape: tuple,
    k: tuple,
    p,
    d: tuple = (1, 1),
    store: dict | None = None,
    nb: int | None = None,
) -> np.ndarray:
    """col2im(wt @ delta) for stride 1, folded on the flat padded grid.

    wt : (G, C/G*kh*kw, F/G), one block per group of channels (W's blocks
    transposed); dyt : (F, m, Ho, Wo) (channel-major) -> dx : (C, m, H, W), a
    channel-major view of a work array (copy it out before the next call).
    delta is laid on the padded (Hp, Wp) grid with zeros outside (Ho, Wo), so a
    kernel offset (i, j) is a shift by i*dh*Wp + j*dw of the flat (m*Hp*Wp) index and
    each of its additions is one contiguous run per channel, instead of m*Ho
    runs of Wo: fewer, longer inner loops for a few more multiply-adds.
    `store` keeps the work arrays between calls (see `buffer`), sized for nb
    images (default m): call with at most nb images.
    """
    (kh, kw), (dh, dw) = k, d
    (pt, pb), (pl, pr) = pads(p)
    _, c, h, w = x_shape
    f, m, ho, wo = dyt.shape
    g = wt.shape[0]
    nb = nb or m
    hp, wp = pt + h + pb, pl + w + pr
    size, tail = m * hp * wp, (kh - 1) * dh * wp + (kw - 1) * dw
    # zeros outside (Ho, Wo) stay
    grid = buffer(store, "dgrid", (f, nb, hp, wp), dyt.dtype, zero=True)[:, :m]
    grid[:, :, :ho, :wo] = dyt
    dcols = buffer(store, "dcols", (c * kh * kw, nb * hp * wp), dyt.dtype)[:, :size]
    grouped_matmul(wt, grid.reshape(g, f // g, size), out=dcols.reshape(g, -1, size))
    dcols = dcols.reshape(c, kh * kw, size)
    dxp = buffer(store, "dxflat", (c, nb * hp * wp + tail), dyt.dtype)[:, : size + tail]
    dxp.fill(0)
    for i in range(kh):
        for j in range(kw):
            off = i * dh * wp + j * dw
            dxp[:, off : off + size] += dcols[:, i * kw + j]
    return dxp[:, :size].reshape(c, m, hp, wp)[:, :, pt : pt + h, pl : pl + w]


def windows(xp: np.ndarray, k: tuple, s: tuple, ho: int, wo: int):
    """Yield (i, j, view) for each kernel offset: view[n,c,a,b] = xp[n,c,a*sh+i,b*sw+j]."""
    (kh, kw), (sh, sw) = k, s
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, :, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw]
