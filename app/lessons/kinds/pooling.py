"""Pooling and its derivative: where a max-pool sends a gradient, and what an average pool
sends. The answers are the engine's MaxPool2D and AvgPool2D backward, in float64."""

from __future__ import annotations

import numpy as np

from ..exercise import Exercise, Kind, ints, pick
from ..formats import Cell, Number, Tolerance
from .convolution import LECTURE_X
from .engine_calls import network, one_image

AVG_TOLERANCE = Tolerance(absolute=0.01)


def pooled(kind: str, g: dict, delta) -> np.ndarray:
    """The engine's dL/dX of a pooling layer with g's window and stride, for the gradient delta."""
    n = g["size"]
    layer = {"type": kind, "kernel_size": g["kernel_size"], "stride": g["stride"]}
    net = network([1, n, n], [layer])
    net.forward(one_image(g.get("x", np.zeros((n, n)))), record=True)
    return net.backward(one_image(delta))[0, 0]


def output_side(g: dict) -> int:
    return (g["size"] - g["kernel_size"]) // g["stride"] + 1


def draw_window(rng) -> tuple[int, int, int]:
    """(size, K, S) with an output of at least 2x2; windows may overlap (S < K)."""
    while True:
        n, k = int(rng.integers(4, 7)), pick(rng, [2, 2, 3])
        s = pick(rng, [k, k, k - 1 or 1])
        if (n - k) // s + 1 >= 2:
            return n, k, s


def window_text(g: dict) -> str:
    k, s = g["kernel_size"], g["stride"]
    return f"({k}×{k} windows, stride {s}" + (", which overlap)" if s < k else ")")


def window_rows_cols(g: dict, cell) -> str:
    (r, c), k, s = cell, g["kernel_size"], g["stride"]
    return f"rows {r}×{s} to {r}×{s} + {k} - 1 and columns {c}×{s} to {c}×{s} + {k} - 1 (r×S to r×S + K - 1)"


class MaxPoolRoute(Kind):
    name = "maxpool_route"
    title = "Where a max-pool sends its gradient"
    lesson = "pooling"
    format_type = "cell"

    def make(self, seed, rng):
        while True:
            if seed == 0:  # the lecture's X: the first window's largest value, 4, is at [1, 0]
                g = {"x": [row[:] for row in LECTURE_X], "size": 5, "kernel_size": 3, "stride": 2, "cell": [0, 0]}
            else:
                n, k, s = draw_window(rng)
                side = (n - k) // s + 1
                g = {
                    "x": ints(rng, 0, 9, (n, n)),
                    "size": n,
                    "kernel_size": k,
                    "stride": s,
                    "cell": [int(rng.integers(side)), int(rng.integers(side))],
                }
            window = self._window(g)
            if (window == window.max()).sum() == 1:  # a tie is settled by convention, not the idea
                break
        (r, c), side = g["cell"], output_side(g)
        prompt = (
            f"Max pooling {window_text(g)} turns the {g['size']}×{g['size']} input X into a "
            f"{side}×{side} output. The output at row {r}, column {c} gets a gradient from "
            "the loss. Which input receives it? Answer with its [row, column] in X, counted "
            "from 0."
        )
        return Exercise(self.name, seed, prompt, g, Cell(shape=(g["size"], g["size"]), of="X"))

    def _window(self, g) -> np.ndarray:
        (r, c), k, s = g["cell"], g["kernel_size"], g["stride"]
        return np.asarray(g["x"])[r * s : r * s + k, c * s : c * s + k]

    def answer(self, ex):
        g = ex.given
        delta = np.zeros((output_side(g), output_side(g)))
        delta[tuple(g["cell"])] = 1.0
        (hit,) = np.argwhere(pooled("maxpool2d", g, delta) != 0)  # exactly one input gets it
        return (int(hit[0]), int(hit[1]))

    def hint(self, ex, given):
        g = ex.given
        (r, c), k, s = g["cell"], g["kernel_size"], g["stride"]
        text = (
            f"In forward, the output ({r}, {c}) copied the largest value of its window, "
            f"{window_rows_cols(g, g['cell'])}; the window's other inputs did not change it. "
            "Its gradient goes back to that one input, and the others get 0."
        )
        if given is not None and not (r * s <= given[0] < r * s + k and c * s <= given[1] < c * s + k):
            text += f" [{given[0]}, {given[1]}] is not in that window."
        return text

    def solution(self, ex):
        g = ex.given
        (r, c), k, s = g["cell"], g["kernel_size"], g["stride"]
        a, b = self.answer(ex)
        return [
            (
                f"The window of output ({r}, {c}) covers rows {r * s} to {r * s + k - 1} and "
                f"columns {c * s} to {c * s + k - 1} of X: {self._window(g).tolist()}."
            ),
            (f"Its largest value is {g['x'][a][b]}, at row {a}, column {b}: the output is a copy of that input."),
            (
                f"So X[{a},{b}] gets the whole gradient of output ({r}, {c}), and the window's "
                f"other inputs get 0 from it: the answer is [{a}, {b}]."
            ),
        ]


class AvgPoolGradient(Kind):
    name = "avgpool_gradient"
    title = "What an average pool sends back"
    lesson = "pooling"
    format_type = "number"

    def make(self, seed, rng):
        n, k, s = draw_window(rng)
        side = (n - k) // s + 1
        g = {"size": n, "kernel_size": k, "stride": s, "delta": ints(rng, -3, 4, (side, side))}
        dx = pooled("avgpool2d", g, g["delta"])
        covered = pooled("avgpool2d", g, np.ones((side, side))) > 0  # a cut-off row gets nothing
        cells = np.argwhere(covered & (dx != 0)).tolist() or np.argwhere(covered).tolist()
        g["cell"] = cells[int(rng.integers(len(cells)))]
        i, j = g["cell"]
        prompt = (
            f"Average pooling {window_text(g)} turns a {n}×{n} input X into a {side}×{side} "
            f"output. The gradient of the loss with respect to that output is δ. What is "
            f"dL/dX[{i}, {j}] (rows and columns counted from 0)?"
        )
        return Exercise(self.name, seed, prompt, g, Number(tolerance=AVG_TOLERANCE, example=0.125))

    def answer(self, ex):
        i, j = ex.given["cell"]
        return float(pooled("avgpool2d", ex.given, ex.given["delta"])[i, j])

    def _covering(self, g) -> list[tuple[int, int]]:
        (i, j), k, s, side = g["cell"], g["kernel_size"], g["stride"], output_side(g)
        return [(r, c) for r in range(side) for c in range(side) if r * s <= i < r * s + k and c * s <= j < c * s + k]

    def _sum(self, g) -> str:
        k = g["kernel_size"]
        shares = " + ".join(str(g["delta"][r][c]) for r, c in self._covering(g))
        return f"({shares})/({k}×{k})"

    def hint(self, ex, given):
        g = ex.given
        (i, j), k = g["cell"], g["kernel_size"]
        return (
            f"Each output is the mean of its {k}×{k} window, so it sends δ/(K×K) to every "
            "input of the window. The window of output (r, c) covers "
            f"{window_rows_cols(g, ('r', 'c'))}. dL/dX[{i},{j}] adds the shares of all windows "
            f"that cover it: {self._sum(g)}."
        )

    def solution(self, ex):
        g, value = ex.given, self.answer(ex)
        (i, j), k, covering = g["cell"], g["kernel_size"], self._covering(g)
        outputs = "outputs " if len(covering) > 1 else "output "
        return [
            f"X[{i},{j}] is in the window of {outputs}" + ", ".join(f"({r}, {c})" for r, c in covering) + ".",
            f"Each sends δ/(K×K) = δ/{k * k} to it: {self._sum(g)} = {value:.4g}.",
            f"dL/dX[{i},{j}] = {value:.4g}.",
        ]


KINDS = [MaxPoolRoute(), AvgPoolGradient()]
