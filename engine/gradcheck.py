"""Numerical gradient check: central differences against backward, in float64.

For each parameter tensor (and the input), perturb entries by +-h, measure
the loss, and compare (L(w+h) - L(w-h)) / 2h with the analytic gradient:
    relative error = |num - ana| / max(|num| + |ana|, 1e-8)
(the floor keeps gradients that are truly zero, such as a bias before batch
norm, from dividing rounding noise by nothing)
Below about 1e-6 in float64 the backward is right.
"""

from __future__ import annotations

import numpy as np

from .losses import LOSSES


def gradcheck(
    net, x, y, loss: str = "cross_entropy", train: bool = False, h: float = 1e-5, max_entries: int = 20, seed: int = 0
) -> list[dict]:
    """Check every parameter tensor of `net` (a float64 copy is used).

    Returns one row per tensor: key, shape, checked entries, max relative
    error, and max absolute error. `train` runs layers in training mode
    (batch norm on batch statistics); dropout is then fixed per evaluation
    by reseeding, so the loss is a deterministic function of the weights.
    """
    net = net.copy().astype(np.float64)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    dropouts = [l for l in net.layers() if l.type == "dropout"]

    def run(record):
        for i, d in enumerate(dropouts):
            d.rng = np.random.default_rng([seed, i])
        z = net.logits(x, train=train, record=record)
        return LOSSES[loss](z, y)

    # batch norm in training mode moves its running statistics; put them back after every pass
    buffers = {(l.path, k): v.copy() for l in net.layers() for k, v in l.buffers.items()}

    def restore():
        for l in net.layers():
            for k in l.buffers:
                l.buffers[k][...] = buffers[(l.path, k)]

    restore()
    _, dz = run(True)
    dx = net.trunk.backward(dz)
    restore()
    targets = [(p.key, p.value, p.grad) for p in net.parameters()] + [("input", x, dx)]
    rows = []
    for key, arr, grad in targets:
        flat = arr.reshape(-1)
        n = flat.size
        idx = rng.choice(n, size=min(n, max_entries), replace=False)
        num = np.empty(len(idx))
        for t, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + h
            lp, _ = run(False)
            restore()
            flat[i] = old - h
            lm, _ = run(False)
            restore()
            flat[i] = old
            num[t] = (lp - lm) / (2 * h)
        ana = grad.reshape(-1)[idx]
        rel = np.abs(num - ana) / np.maximum(np.abs(num) + np.abs(ana), 1e-8)
        rows.append(
            {
                "key": key,
                "shape": list(arr.shape),
                "checked": int(len(idx)),
                "max_rel_error": float(rel.max()),
                "max_abs_error": float(np.abs(num - ana).max()),
            }
        )
    return rows
