"""The engine, asked the way the exercise kinds need: a summary row, or a small float64
network holding the exercise's own weights."""

from __future__ import annotations

import numpy as np

import engine


def summary_row(input_shape: list[int], layers: list[dict], index: int = -1) -> dict:
    """The summary row (shapes, parameters, multiply-adds, receptive field, warnings) of the
    top-level layer `index` of a network made of `layers`."""
    summary = engine.summarize({"input": list(input_shape), "layers": layers})
    top = [r for r in summary["layers"] if r["depth"] == 0]
    return top[index]


def network(input_shape: list[int], layers: list[dict], weights: dict | None = None, seed: int = 0) -> engine.Network:
    """A float64 network; `weights` ("<layer path>.<name>" -> array) replace the drawn ones."""
    spec = {"input": list(input_shape), "layers": layers}
    net = engine.build_network(spec, seed=seed, dtype=np.float64)
    for key, value in (weights or {}).items():
        path, name = key.rsplit(".", 1)
        layer = net.layer(path)
        expected = layer.params[name].shape
        layer.params[name] = np.asarray(value, dtype=np.float64).reshape(expected)
    return net


def one_image(matrix) -> np.ndarray:
    """A (H, W) matrix as a batch of one single-channel image (1, 1, H, W)."""
    return np.asarray(matrix, dtype=np.float64)[None, None]


def exact_int(value: float) -> int:
    """A float64 result of small integers, which is an integer exactly."""
    n = round(float(value))
    if abs(value - n) > 1e-9:
        raise RuntimeError(f"expected a whole number from integer inputs, the engine gave {value!r}")
    return n
