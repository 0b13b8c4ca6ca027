"""Losses: each returns (mean loss over the batch, gradient w.r.t. its input)."""

from __future__ import annotations

import numpy as np


def log_softmax(z: np.ndarray) -> np.ndarray:
    """z : (N, K) -> log probabilities, stable for any magnitude of z."""
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(z))


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy on logits (N, K) with integer labels y (N,).

    dL/dz = (softmax(z) - onehot(y)) / N.
    """
    n = logits.shape[0]
    logp = log_softmax(logits)
    loss = -float(logp[np.arange(n), y].mean())
    d = np.exp(logp)
    d[np.arange(n), y] -= 1
    return loss, (d / n).astype(logits.dtype, copy=False)


def mse(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements; integer labels become one-hot targets."""
    if target.ndim == 1 and pred.ndim == 2 and np.issubdtype(target.dtype, np.integer):
        onehot = np.zeros_like(pred)
        onehot[np.arange(pred.shape[0]), target] = 1
        target = onehot
    diff = pred - target
    return float((diff**2).mean()), (2 * diff / diff.size).astype(pred.dtype, copy=False)


LOSSES = {"cross_entropy": cross_entropy, "mse": mse}
