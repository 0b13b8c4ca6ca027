"""Weight initialization: how the variance of one layer sets up the next.

fan_in is the number of inputs each output unit sums (C*kh*kw for a
convolution, in_features for a linear layer), fan_out the number of outputs
each input feeds. Xavier (Glorot) keeps the variance of activations and of
gradients about equal across layers: Var(W) = 2/(fan_in + fan_out).
He (Kaiming) compensates for ReLU zeroing half the units: Var(W) = 2/fan_in.
LeCun: Var(W) = 1/fan_in.
"""

from __future__ import annotations

import numpy as np


def weight_variance(kind: str, fan_in: int, fan_out: int, std: float = 0.01) -> float:
    """Var(W) that initializer `kind` draws with, for the given fans (what init_weight's draws
    have on average; a uniform on [-a, a] has variance a^2/3)."""
    if kind == "zeros":
        return 0.0
    if kind == "normal":
        return std * std
    if kind in ("xavier_uniform", "xavier_normal"):
        return 2.0 / (fan_in + fan_out)
    if kind in ("he_uniform", "he_normal"):
        return 2.0 / fan_in
    if kind == "lecun_normal":
        return 1.0 / fan_in
    raise ValueError(f"unknown init '{kind}'")


def init_weight(
    kind: str, shape: tuple, fan_in: int, fan_out: int, rng: np.random.Generator, std: float = 0.01, dtype=np.float32
) -> np.ndarray:
    """A weight array of `shape` drawn by initializer `kind`."""
    if kind == "zeros":
        return np.zeros(shape, dtype)
    if kind == "normal":
        w = rng.standard_normal(shape) * std
    elif kind == "xavier_uniform":
        a = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-a, a, shape)
    elif kind == "xavier_normal":
        w = rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))
    elif kind == "he_uniform":
        a = np.sqrt(6.0 / fan_in)
        w = rng.uniform(-a, a, shape)
    elif kind == "he_normal":
        w = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    elif kind == "lecun_normal":
        w = rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)
    else:
        raise ValueError(f"unknown init '{kind}'")
    return w.astype(dtype)
