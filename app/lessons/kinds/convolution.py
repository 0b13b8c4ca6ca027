"""One cell of a convolution by hand: forward, dL/dW and dL/dX.

Small integer matrices (inputs 4x4 to 6x6, kernels 2x2 or 3x3, stride 1 or 2, padding 0 or
1), so every answer is a whole number a student can reach on paper. Rows and columns are
counted from 0, the kernel's too (the lecture counts W from its centre; the sums are the
same). The answers are the engine's Conv2D forward and backward, in float64.
"""

from __future__ import annotations

import numpy as np

from ..exercise import Exercise, Kind, ints, pick, signed
from ..formats import Integer
from .engine_calls import exact_int, network, one_image

LECTURE_X = [[0, 1, 2, 1, 0], [4, 1, 0, 1, 0], [2, 0, 1, 1, 1], [1, 2, 3, 1, 0], [0, 4, 3, 2, 0]]
LECTURE_W = [[0, 1, 0], [1, 0, 1], [2, 1, 0]]


def draw_setup(rng: np.random.Generator, max_out: int = 6) -> dict:
    """x, w, stride, padding with an output of 2x2 to max_out x max_out."""
    while True:
        n, k = int(rng.integers(4, 7)), pick(rng, [2, 3, 3])
        s, p = pick(rng, [1, 1, 2]), pick(rng, [0, 0, 1])
        if 2 <= (n + 2 * p - k) // s + 1 <= max_out:
            return {"x": ints(rng, 0, 4, (n, n)), "w": ints(rng, -1, 2, (k, k)), "stride": s, "padding": p}


def lecture_setup() -> dict:
    return {"x": [row[:] for row in LECTURE_X], "w": [row[:] for row in LECTURE_W], "stride": 1, "padding": 0}


def output_side(g: dict) -> int:
    return (len(g["x"]) + 2 * g["padding"] - len(g["w"])) // g["stride"] + 1


def run(g: dict, delta=None) -> dict:
    """The engine's conv of x by w: its output y, and with delta also dL/dW and dL/dX."""
    n, k = len(g["x"]), len(g["w"])
    layer = {
        "type": "conv2d",
        "out_channels": 1,
        "kernel_size": k,
        "stride": g["stride"],
        "padding": g["padding"],
        "bias": False,
    }
    net = network([1, n, n], [layer], {"layers[0].W": g["w"]})
    out = {"y": net.forward(one_image(g["x"]), record=True)[0, 0]}
    if delta is not None:
        out["dx"] = net.backward(one_image(delta))[0, 0]
        out["dw"] = net.layer("layers[0]").grads["W"][0, 0]
    return out


def windows_covering(g: dict) -> np.ndarray:
    """How many windows cover each input cell: the engine's dL/dX for W and δ all ones."""
    k, side, n = len(g["w"]), output_side(g), len(g["x"])
    ones = {**g, "x": np.zeros((n, n)).tolist(), "w": np.ones((k, k)).tolist()}
    return run(ones, np.ones((side, side)))["dx"]


def padded(g: dict) -> np.ndarray:
    return np.pad(np.asarray(g["x"]), g["padding"])


def setup_text(g: dict) -> str:
    p = g["padding"]
    padding = f"padding {p} (a border of zeros)" if p else "no padding"
    return f"stride {g['stride']} and {padding}"


def term(a, b) -> str:
    return f"{signed(a)}×{signed(b)}"


class ConvOutputCell(Kind):
    name = "conv_output_cell"
    title = "One cell of a convolution's output"
    lesson = "conv_forward"
    format_type = "integer"

    def make(self, seed, rng):
        if seed < 9:  # the lecture's example, one cell per seed: 9 5 4 / 8 8 10 / 8 15 12
            g = lecture_setup()
            g["cell"] = [seed // 3, seed % 3]
        else:
            g = draw_setup(rng)
            side = output_side(g)
            g["cell"] = [int(rng.integers(side)), int(rng.integers(side))]
        (i, j), n, k = g["cell"], len(g["x"]), len(g["w"])
        prompt = (
            f"The {n}×{n} input X is convolved (cross-correlated, as in PyTorch) with the "
            f"{k}×{k} kernel W, {setup_text(g)}, no bias. What is I[{i}, {j}], the output at "
            f"row {i}, column {j} (counted from 0)?"
        )
        return Exercise(self.name, seed, prompt, g, Integer(example=7))

    def answer(self, ex):
        i, j = ex.given["cell"]
        return exact_int(run(ex.given)["y"][i, j])

    def _window(self, g) -> tuple[int, int, int]:
        """(top, left, K) of the cell's window in the padded X."""
        (i, j), s = g["cell"], g["stride"]
        return i * s, j * s, len(g["w"])

    def _products(self, g) -> list[str]:
        top, left, k = self._window(g)
        xp, w = padded(g), g["w"]
        return [term(w[a][b], int(xp[top + a, left + b])) for a in range(k) for b in range(k)]

    def hint(self, ex, given):
        g = ex.given
        (i, j), s, (top, left, k) = g["cell"], g["stride"], self._window(g)
        where = "of X padded with zeros" if g["padding"] else "of X"
        return (
            f"I[i,j] = Σ_a Σ_b W[a,b] × X[i×S + a, j×S + b]: the window of I[{i},{j}] covers "
            f"rows {top} to {top + k - 1} and columns {left} to {left + k - 1} {where} "
            f"(S = {s}). Multiply it by W entry by entry and add: " + " + ".join(self._products(g)) + "."
        )

    def solution(self, ex):
        g, n = ex.given, self.answer(ex)
        (i, j), s, (top, left, k) = g["cell"], g["stride"], self._window(g)
        window = padded(g)[top : top + k, left : left + k].tolist()
        where = " of the zero-padded X" if g["padding"] else ""
        return [
            (f"The window of I[{i},{j}] starts at row {i}×{s} = {top} and column {j}×{s} = {left}{where}: {window}."),
            "Entry by entry times W: " + " + ".join(self._products(g)) + f" = {n}.",
            f"I[{i},{j}] = {n}.",
        ]


class ConvWeightGradientCell(Kind):
    name = "conv_dw_cell"
    title = "One cell of dL/dW"
    lesson = "conv_backward"
    format_type = "integer"

    def make(self, seed, rng):
        # dL/dW[a,b] sums a term per output: at most 4x4 of them, to stay a hand computation
        g = lecture_setup() if seed == 0 else draw_setup(rng, max_out=4)
        n, side, k = len(g["x"]), output_side(g), len(g["w"])
        g["delta"] = ints(rng, -2, 2, (side, side))
        dw = run(g, g["delta"])["dw"]
        # a cell whose gradient is not 0 where there is one: 0 is too easy a guess
        cells = np.argwhere(dw != 0).tolist() or np.argwhere(dw == 0).tolist()
        g["cell"] = cells[int(rng.integers(len(cells)))]
        g["kernel_size"] = k
        del g["w"]  # dL/dW does not depend on W
        a, b = g["cell"]
        prompt = (
            f"A {k}×{k} kernel W slides over the {n}×{n} input X with {setup_text(g)}. The "
            f"gradient of the loss with respect to the {side}×{side} output is δ = dL/dI. "
            f"What is dL/dW[{a}, {b}] (rows and columns counted from 0)?"
        )
        return Exercise(self.name, seed, prompt, g, Integer(example=6))

    def answer(self, ex):
        a, b = ex.given["cell"]
        k = ex.given["kernel_size"]
        zeros = {**ex.given, "w": np.zeros((k, k)).tolist()}  # W's values do not enter dL/dW
        return exact_int(run(zeros, ex.given["delta"])["dw"][a, b])

    def _terms(self, g) -> list[str]:
        (a, b), s, d, xp = g["cell"], g["stride"], g["delta"], padded(g)
        side = len(d)
        return [term(d[i][j], int(xp[i * s + a, j * s + b])) for i in range(side) for j in range(side)]

    def hint(self, ex, given):
        g = ex.given
        (a, b), s = g["cell"], g["stride"]
        where = f" (X padded with {g['padding']} zeros)" if g["padding"] else ""
        return (
            f"W[{a},{b}] is used by every window, so its gradient adds up over all outputs: "
            f"dL/dW[a,b] = Σ_i Σ_j δ[i,j] × X[i×S + a, j×S + b]{where}, with S = {s}: "
            + " + ".join(self._terms(g))
            + "."
        )

    def solution(self, ex):
        g, n = ex.given, self.answer(ex)
        (a, b), s = g["cell"], g["stride"]
        where = " (X padded with zeros)" if g["padding"] else ""
        dilated = f" dilated by the stride {s}" if s > 1 else ""
        return [
            (
                f"Output (i, j) reads X[i×{s} + {a}, j×{s} + {b}] with the weight W[{a},{b}], so "
                f"dL/dW[{a},{b}] = Σ_i Σ_j δ[i,j] × X[i×{s} + {a}, j×{s} + {b}]{where}."
            ),
            "Term by term: " + " + ".join(self._terms(g)) + f" = {n}.",
            (f"The same sum for every (a, b) is X convolved with δ{dilated}: dL/dW[{a},{b}] = {n}."),
        ]


class ConvInputGradientCell(Kind):
    name = "conv_dx_cell"
    title = "One cell of dL/dX"
    lesson = "conv_backward"
    format_type = "integer"

    def make(self, seed, rng):
        g = lecture_setup() if seed == 0 else draw_setup(rng)
        n, side, k = len(g["x"]), output_side(g), len(g["w"])
        g["delta"] = ints(rng, -2, 2, (side, side))
        # a cell some window covers (a cut-off last row gets no gradient), and one whose gradient
        # is not 0 when there is such a cell: 0 is too easy a guess
        covered = np.argwhere(windows_covering(g) > 0).tolist()
        dx = run(g, g["delta"])["dx"]
        cells = [c for c in covered if dx[c[0], c[1]] != 0] or covered
        g["cell"] = cells[int(rng.integers(len(cells)))]
        g["size"] = n
        del g["x"]  # dL/dX does not depend on X
        i, j = g["cell"]
        prompt = (
            f"A {k}×{k} kernel W slides over a {n}×{n} input X with {setup_text(g)}. The "
            f"gradient of the loss with respect to the {side}×{side} output is δ = dL/dI. "
            f"What is dL/dX[{i}, {j}] (rows and columns counted from 0)?"
        )
        return Exercise(self.name, seed, prompt, g, Integer(example=3))

    def answer(self, ex):
        i, j = ex.given["cell"]
        n = ex.given["size"]
        zeros = {**ex.given, "x": np.zeros((n, n)).tolist()}  # X's values do not enter dL/dX
        return exact_int(run(zeros, ex.given["delta"])["dx"][i, j])

    def _terms(self, g) -> list[tuple[int, int, int, int, str]]:
        """(r, c, a, b, product) for every output (r, c) whose window puts W[a,b] over X[i,j]."""
        (i, j), s, p, w, d = g["cell"], g["stride"], g["padding"], g["w"], g["delta"]
        out = []
        for r in range(len(d)):
            for c in range(len(d)):
                a, b = i + p - r * s, j + p - c * s
                if 0 <= a < len(w) and 0 <= b < len(w):
                    out.append((r, c, a, b, term(d[r][c], w[a][b])))
        return out

    def hint(self, ex, given):
        g = ex.given
        (i, j), s, p = g["cell"], g["stride"], g["padding"]
        terms = self._terms(g)
        count = f"{len(terms)} windows cover" if len(terms) > 1 else "1 window covers"
        return (
            f"X[{i},{j}] reaches the loss through every output whose window covers it, each "
            "time with the weight of W that lies over it: dL/dX[i,j] = Σ over those outputs "
            f"(r, c) of δ[r,c] × W[i + {p} - r×{s}, j + {p} - c×{s}]. Here {count} it: "
            + " + ".join(t[-1] for t in terms)
            + "."
        )

    def solution(self, ex):
        g, n = ex.given, self.answer(ex)
        (i, j), s, p = g["cell"], g["stride"], g["padding"]
        steps = [
            (
                f"The output (r, c) puts W[a,b] over X[{i},{j}] with a = {i} + {p} - r×{s} and "
                f"b = {j} + {p} - c×{s}, when 0 ≤ a, b < {len(g['w'])}:"
            )
        ]
        steps += [
            f"output ({r},{c}) with W[{a},{b}]: δ[{r},{c}] × W[{a},{b}] = {t}" for r, c, a, b, t in self._terms(g)
        ]
        steps.append(
            f"Sum: dL/dX[{i},{j}] = {n}. For every cell at once, this is δ padded fully, "
            "convolved with W rotated 180 degrees."
        )
        return steps


KINDS = [ConvOutputCell(), ConvWeightGradientCell(), ConvInputGradientCell()]
