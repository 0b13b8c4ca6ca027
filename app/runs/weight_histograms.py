"""A run's weights as histograms: at its start, after epochs, and as it ends.

What L1 and L2 do to a network is seen in its weights: L2 shrinks every weight in
proportion to its size (the histogram narrows), L1 pulls every weight toward 0 by
the same amount (a spike grows at 0). A snapshot holds, for every layer's weights W
and for all of them together, a histogram of BINS equal bins over -range..range and
the share of weights at 0 or near it, so it stays a few kilobytes whatever the
network's size. The bins cover the bulk of the weights, not the few largest: with the
largest |w| often six standard deviations out, bins up to it would leave the hill a
handful of bins wide; the few beyond are counted apart.

The worker makes a snapshot when a run starts and at each epoch's checkpoint (thinned
to about MAX_EPOCH_SNAPSHOTS), and one of the weights a run keeps when it ends
elsewhere (stopped mid-epoch, or early stopping went back to its best weights); each
is a "weights" event of the run, so it is saved with the run and a reload, another
tab and the API see it.
"""

from __future__ import annotations

import math

import numpy as np

import engine

BINS = 41  # odd: the middle bin is centred on 0, where L1's weights gather
NEAR_ZERO = 1e-3  # |w| below this counts as "at 0": L1's steps leave weights hovering there
COVER = 99.5  # the bins cover at least this percentile of |w| (2.8 std for a bell)...
LARGEST_SHARE = 0.25  # ...and a quarter of the largest |w|, for a layer L1 took almost all of
MAX_EPOCH_SNAPSHOTS = 25  # more epochs than this: a snapshot every few epochs, and the last
_DIGITS = 6  # significant digits kept of each statistic


STEPS = (1, 1.5, 2, 3, 4, 5, 6, 8, 10)


def nice_range(largest: float) -> float:
    """The smallest round number (1, 1.5, 2, 3, 4, 5, 6 or 8 times a power of 10) that is at
    least `largest` (1 for 0): round ranges make two snapshots share their bins when they can."""
    if not largest > 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(largest))
    return float(next(s * power for s in STEPS if s * power >= largest * (1 - 1e-12)))


def covered(finite: np.ndarray) -> float:
    """The |w| the bins reach: COVER's percentile of |w|, or a quarter of the largest if more."""
    if not finite.size:
        return 0.0
    size = np.abs(finite)
    return float(max(np.percentile(size, COVER), LARGEST_SHARE * size.max()))


def _short(v: float) -> float:
    return float(f"{v:.{_DIGITS}g}")


def histogram(w: np.ndarray) -> dict:
    """BINS counts over -range..range (range: nice_range of what the bins cover), those below and
    above it, and the shares of weights exactly 0 and below NEAR_ZERO in size; non-finite values
    are counted apart."""
    w = np.asarray(w, dtype=np.float64).ravel()
    finite = w[np.isfinite(w)]
    r = nice_range(covered(finite))
    counts, _ = np.histogram(finite, bins=BINS, range=(-r, r))
    n = max(finite.size, 1)
    stats = (
        {"mean": finite.mean(), "std": finite.std(), "min": finite.min(), "max": finite.max()}
        if finite.size
        else dict.fromkeys(("mean", "std", "min", "max"))
    )
    return {
        "range": r,
        "counts": counts.tolist(),
        "below": int((finite < -r).sum()),
        "above": int((finite > r).sum()),
        "n": int(w.size),
        "nonfinite": int(w.size - finite.size),
        **{k: None if v is None else _short(v) for k, v in stats.items()},
        "zeros": _short((finite == 0).sum() / n),
        "near_zero": _short((np.abs(finite) < NEAR_ZERO).sum() / n),
    }


def snapshot(net: engine.Network, at: str, epoch: int, step: int) -> dict:
    """A "weights" event: `at` is "start", "epoch" or "end"; a histogram per layer with weights W
    (path, type and name, as the spec says), and one of all of them together."""
    layers = [layer for layer in net.layers() if "W" in layer.params]
    per_layer = [
        {"path": layer.path, "type": layer.type, "name": layer.name or None, **histogram(layer.params["W"])}
        for layer in layers
    ]
    together = np.concatenate([layer.params["W"].ravel() for layer in layers] or [np.zeros(0)])
    return {
        "type": "weights",
        "at": at,
        "epoch": int(epoch),
        "step": int(step),
        "bins": BINS,
        "near_zero_below": NEAR_ZERO,
        "all": histogram(together),
        "layers": per_layer,
    }


def due(epoch: int, epochs: int) -> bool:
    """Whether the checkpoint after `epoch` of `epochs` gets a snapshot: every epoch of a short
    run; of a long one, about MAX_EPOCH_SNAPSHOTS evenly spaced, and always the last."""
    every = max(1, math.ceil(epochs / MAX_EPOCH_SNAPSHOTS))
    return epoch % every == 0 or epoch == epochs
