"""The activation after a convolution, O = f(I), and the first step of its backward pass.

The lecture: delta[i,j] = dL/dI[i,j] = dL/dO[i,j] * f'(I[i,j]). The engine's own layers give
O and delta; the definitions written out here give them again, with f'(I) on its own, and the
two must agree (conv_explain checks it).
"""

from __future__ import annotations

import numpy as np

from engine.layers import make_layer

LEAKY_SLOPE = 0.01  # the engine's default negative_slope

# name -> (what f does, what f' is), as the page shows them
FORMULAS = {
    "none": ("O = I (no activation, as in the lecture's example)", "f'(I) = 1"),
    "relu": ("O = max(0, I)", "f'(I) = 1 where I > 0, else 0"),
    "leaky_relu": (f"O = I where I > 0, else {LEAKY_SLOPE} I", f"f'(I) = 1 where I > 0, else {LEAKY_SLOPE}"),
    "sigmoid": ("O = 1 / (1 + e^(−I))", "f'(I) = O (1 − O)"),
    "tanh": ("O = tanh(I)", "f'(I) = 1 − O²"),
}
NAMES = tuple(FORMULAS)


def by_definition(name: str, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(O, f'(I)) for the output I (Ho, Wo), written out as the formulas above."""
    if name == "none":
        return i.copy(), np.ones_like(i)
    if name == "relu":
        return np.maximum(i, 0), (i > 0).astype(np.float64)
    if name == "leaky_relu":
        return np.where(i > 0, i, LEAKY_SLOPE * i), np.where(i > 0, 1.0, LEAKY_SLOPE)
    if name == "sigmoid":
        o = 1 / (1 + np.exp(-np.clip(i, -700, 700)))  # e^700 is still finite in float64
        return o, o * (1 - o)
    if name == "tanh":
        o = np.tanh(i)
        return o, 1 - o * o
    raise ValueError(f"unknown activation {name!r}")


def by_engine(name: str, i: np.ndarray, dl_do: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(O, delta = dL/dI) from the engine's layer of that name (float64, one image)."""
    if name == "none":
        return i.copy(), dl_do.copy()
    layer = make_layer({"type": name}, (1,) + i.shape, "activation")
    o = layer.forward(i[None, None], record=True)[0, 0]
    return o, layer.backward(dl_do[None, None])[0, 0]
