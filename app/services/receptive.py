"""The receptive field of one unit: the input pixels it depends on, in theory and in effect.

Theoretical: the unit's rows and columns walked back layer by layer to the input. A window of
K taps d apart, with stride S and padding P (before), reads for outputs a..b the inputs
a*S - P .. b*S - P + d(K - 1); a transposed convolution undoes that; an elementwise layer keeps
the rows; a flatten makes every position count. The walk is made twice: as the summary counts
the field (padding belongs to it, so its size is the summary's receptive field), and clipped
to each layer's real rows, which gives exactly the pixels that can change the unit. What the
first has beyond the second lies in padding.

Effective (Luo et al. 2016): |d unit / d input| from one backward pass from the unit, summed
over the input's channels. It is usually far smaller than the theoretical field and peaked
in its middle: the smallest square holding 90% of it says how much of the field the unit
really uses, for this input (a ReLU that is off passes no gradient).
"""

from __future__ import annotations

import numpy as np

from engine.layers import Concat, Layer, Residual, Sequence

from ..errors import Invalid
from ..runs.events import clean
from .inspect import _check_memory, _entry, _pick, _summary, _untouched, b64, bad, resolve_input
from .layer_chain import layers_to, run_chain

SHARE = 0.9  # of the gradient's mass, for the effective field's size


# ---- the theoretical field -----------------------------------------------------------------
# Walked back per axis, in two ways: as a span (first, last), padding included, which is how
# the summary counts the field; and as the exact rows (columns) read, clipped to each layer's
# real ones, which holds the gaps a stride or a dilation leaves. A box is a pair of them, one
# per axis, or None for every unit of a vector.
Span = tuple[int, int]
Box = tuple | None


def _taps(layer: Layer, axis: int) -> tuple[int, int, int, int] | None:
    """(K, S, P before, d) of the layer's window along an axis; None without one."""
    if layer.type == "conv_transpose2d":
        return layer.k[axis], layer.s[axis], layer.p[axis], layer.d[axis]
    window = layer.window()
    if window is None:
        return None
    k, s, p = (v[axis] for v in window)
    return k, s, p, layer.d[axis] if hasattr(layer, "d") else 1


def _span_back(layer: Layer, axis: int, span: Span) -> Span:
    """The input rows (axis 0) or columns (axis 1) from the first to the last that outputs
    `span` read, padding included."""
    taps = _taps(layer, axis)
    if taps is None:
        return span
    (lo, hi), (k, s, p, d) = span, taps
    if layer.type == "conv_transpose2d":  # output o gets input i from tap t when o = i*S - P + t*d
        return -((-(lo + p - (k - 1) * d)) // s), (hi + p) // s
    return lo * s - p, hi * s - p + (k - 1) * d


def _rows_back(layer: Layer, axis: int, rows: np.ndarray) -> np.ndarray:
    """The input rows (or columns) that output `rows` really read: no padding, no gaps."""
    taps = _taps(layer, axis)
    if taps is None:
        return rows
    k, s, p, d = taps
    t = np.arange(k) * d
    if layer.type == "conv_transpose2d":
        reached = rows[:, None] + p - t
        read = reached[reached % s == 0] // s
    else:
        read = (rows[:, None] * s - p + t).ravel()
    n = layer.in_shape[1 + axis]
    return np.unique(read[(read >= 0) & (read < n)])


def _union(boxes: list, exact: bool) -> Box:
    """The box holding all of `boxes` (each per axis, None for a vector)."""
    if any(b is None for b in boxes):
        return None
    if exact:
        real = [b for b in boxes if all(len(rows) for rows in b)]
        if not real:
            return boxes[0]
        return tuple(np.unique(np.concatenate([b[axis] for b in real])) for axis in range(2))
    return tuple((min(b[axis][0] for b in boxes), max(b[axis][1] for b in boxes)) for axis in range(2))


def _layer_back(layer: Layer, box: Box, channel: int | None, exact: bool) -> Box:
    """What `box` of the layer's output reads of its input (`channel` only narrows a concat to
    the branch that channel comes from)."""
    if isinstance(layer, (Residual, Concat)):
        branches = layer.children()
        if isinstance(layer, Concat) and channel is not None:
            branches = [branches[int(np.searchsorted(layer.splits, channel, side="right"))]]
        return _union([_walk_back(b.layers, box, None, exact) for b in branches], exact)
    if len(layer.out_shape) != 3:  # a vector: a flatten reads every position of its maps
        if len(layer.in_shape) != 3:
            return None
        _, h, w = layer.in_shape
        return (np.arange(h), np.arange(w)) if exact else ((0, h - 1), (0, w - 1))
    back = _rows_back if exact else _span_back
    return tuple(back(layer, axis, box[axis]) for axis in range(2))


def _walk_back(chain: list[Layer], box: Box, channel: int | None, exact: bool) -> Box:
    for i, layer in enumerate(reversed(chain)):
        box = _layer_back(layer, box, channel if i == 0 else None, exact)
    return box


def _side(n: int, what: str, where: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''} {where}"


def theoretical(chain: list[Layer], channel: int, row: int, col: int) -> dict:
    """The unit's theoretical field on the input: its size as the summary counts it and where
    it lies (`unclipped`, padding included); how many of its rows and columns lie beyond the
    image's edges, in the padding (`clipped`); and the box of the pixels that can change the
    unit (top to bottom, left to right, inclusive; None when only padding reaches it). That box
    can be smaller than the field within the image: a layer's padding, a stride or a dilation
    may leave its outer rows unread."""
    _, h, w = chain[0].in_shape
    spatial = len(chain[-1].out_shape) == 3
    full = _walk_back(chain, ((row, row), (col, col)) if spatial else None, channel, exact=False)
    read = _walk_back(chain, (np.array([row]), np.array([col])) if spatial else None, channel, exact=True)
    size = [hi - lo + 1 for lo, hi in full]
    (up, down), (first, last) = full
    clipped = {
        "top": max(0, -up),
        "left": max(0, -first),
        "bottom": max(0, down - (h - 1)),
        "right": max(0, last - (w - 1)),
    }
    out = {"size": size, "unclipped": {"top": up, "left": first, "bottom": down, "right": last}, "clipped": clipped}
    said = f"theoretical {size[0]}×{size[1]}"
    if not all(len(rows) for rows in read):
        out.update(
            top=None,
            left=None,
            bottom=None,
            right=None,
            text=f"{said}: only padding reaches this unit, no pixel of the input",
        )
        return out
    (top, bottom), (left, right) = ((int(rows[0]), int(rows[-1])) for rows in read)
    outside = [
        _side(clipped[k], what, where)
        for k, what, where in (
            ("top", "row", "above the image"),
            ("bottom", "row", "below it"),
            ("left", "column", "left of it"),
            ("right", "column", "right of it"),
        )
        if clipped[k]
    ]
    text = f"{said}: rows {top} to {bottom}, columns {left} to {right}" + (
        f"; {', '.join(outside)} in the padding" if outside else ""
    )
    out.update(top=top, left=left, bottom=bottom, right=right, text=text)
    return out


# ---- the effective field -------------------------------------------------------------------
def unit_gradient(seq: Sequence, y: np.ndarray, channel: int, row: int, col: int) -> np.ndarray:
    """d unit / d input (C, H, W), one backward pass through `seq` after a recorded forward
    that gave y : (1, ...)."""
    dy = np.zeros_like(y)
    dy[(0, channel, row, col) if y.ndim == 4 else (0, channel)] = 1
    return seq.backward(dy)[0]


def smallest_square(mass: np.ndarray, share: float = SHARE) -> dict | None:
    """The smallest k×k window (cut to the image) holding `share` of the non-negative (H, W)
    `mass`, and where it lies; None when there is no mass."""
    total = float(mass.sum())
    if not total > 0:
        return None
    h, w = mass.shape
    cum = np.zeros((h + 1, w + 1))
    cum[1:, 1:] = mass.astype(np.float64).cumsum(0).cumsum(1)

    def best(k: int) -> tuple[float, int, int, int, int]:
        kh, kw = min(k, h), min(k, w)
        sums = cum[kh:, kw:] - cum[:-kh, kw:] - cum[kh:, :-kw] + cum[:-kh, :-kw]
        top, left = np.unravel_index(int(sums.argmax()), sums.shape)
        return float(sums[top, left]), kh, kw, int(top), int(left)

    lo, hi = 1, max(h, w)
    while lo < hi:  # a larger window holds at least as much: the first k that holds enough
        mid = (lo + hi) // 2
        if best(mid)[0] >= share * total * (1 - 1e-9):
            hi = mid
        else:
            lo = mid + 1
    _, kh, kw, top, left = best(lo)
    return {"size": [kh, kw], "top": top, "left": left, "bottom": top + kh - 1, "right": left + kw - 1}


# ---- the request ---------------------------------------------------------------------------
def _check_unit(layer: Layer, body) -> None:
    shape = layer.out_shape
    where = layer.name or layer.path
    if len(shape) == 3:
        for field, value, n in (
            ("channel", body.channel, shape[0]),
            ("row", body.row, shape[1]),
            ("col", body.col, shape[2]),
        ):
            if value >= n:
                raise bad(
                    field,
                    f"{field} {value} is out of range: {where} is {shape[0]}×"
                    f"{shape[1]}×{shape[2]} (channels, rows, columns; {field} 0 to "
                    f"{n - 1})",
                )
        return
    if body.channel >= shape[0]:
        raise bad(
            "channel", f"unit {body.channel} is out of range: {where} has {shape[0]} values (0 to {shape[0] - 1})"
        )
    if body.row or body.col:
        raise bad("row", f"{where} is a vector: give its unit as channel, with row and col 0")


def receptive_field(services, network_id: str, body) -> dict:
    summary = _summary(services, network_id)
    _check_memory(services, summary, 1, "a receptive field", factor=3)
    entry = _entry(services, network_id)
    with entry.reading() as net:
        if len(net.input_shape) != 3:
            raise Invalid(f"receptive fields need an image input (C, H, W); the network takes {list(net.input_shape)}")
        (path,) = _pick(net, [body.layer], "layer")
        if path == "input":
            raise bad("layer", "the input's own pixels have no field: pick a layer after it")
        layer = net.layer(path)
        _check_unit(layer, body)
        chain = layers_to(net.root, path)
        x, _ = resolve_input(services, net, body)
        with _untouched(net):
            y, seq = run_chain(chain, net.input_shape, x[None].astype(net.dtype), record=True)
            grad = unit_gradient(seq, y, body.channel, body.row, body.col)
        value = float(y[(0, body.channel, body.row, body.col) if y.ndim == 4 else (0, body.channel)])
    field = theoretical(chain, body.channel, body.row, body.col)
    mass = np.abs(grad.astype(np.float64)).sum(axis=0)
    square = smallest_square(mass)
    size = f"{field['size'][0]}×{field['size'][1]}"
    if square is None:
        said = (
            f"theoretical {size}; no gradient reaches the input: this unit is flat here "
            "(a ReLU on its way is off for this input)"
        )
    else:
        said = (
            f"theoretical {size}; {round(100 * SHARE)}% of the gradient within {square['size'][0]}×{square['size'][1]}"
        )
    return clean(
        {
            "layer": path,
            "type": layer.type,
            "name": layer.name,
            "channel": body.channel,
            "row": body.row,
            "col": body.col,
            "value": value,
            "theoretical": field,
            "effective": {
                "shape": list(mass.shape),
                "encoding": "float32",
                "dtype": "<f4",
                "map": b64(mass.astype("<f4")),
                "max": float(mass.max()),
                "total": float(mass.sum()),
                "within_90": square["size"] if square else None,
                "square": square,
                "share": SHARE,
            },
            "text": said,
        }
    )
