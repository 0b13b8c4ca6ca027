"""Batch norm: what it learns, and one value through it in training. The answers are the
engine's summary (parameter count) and its BatchNorm1D forward on the exercise's batch."""

from __future__ import annotations

import numpy as np

from ..exercise import Exercise, Kind, ints, pick, signed
from ..formats import Integer, Number, Tolerance
from .engine_calls import network, summary_row

OUTPUT_TOLERANCE = Tolerance(absolute=0.01)
EPS = 1e-5
BATCH = 4


class BatchNormParams(Kind):
    name = "batchnorm_params"
    title = "Parameters of a batch-norm layer"
    lesson = "batch_norm"
    format_type = "integer"

    def make(self, seed, rng):
        if rng.random() < 0.7:
            side = pick(rng, [4, 7, 8, 14, 16, 28, 32])
            channels = pick(rng, [6, 8, 16, 20, 32, 64, 128])
            g = {"layer": "batchnorm2d", "input": [channels, side, side]}
            where = f"the {channels}×{side}×{side} output (channels × height × width) of a conv layer"
        else:
            g = {"layer": "batchnorm1d", "input": [pick(rng, [10, 32, 84, 100, 120, 256])]}
            where = f"the {g['input'][0]} outputs of a linear layer"
        prompt = f"A {g['layer']} layer normalizes {where}. How many parameters does it learn?"
        return Exercise(self.name, seed, prompt, g, Integer(example=6))

    def answer(self, ex):
        return summary_row(ex.given["input"], [{"type": ex.given["layer"]}])["params"]

    def hint(self, ex, given):
        c, *positions = ex.given["input"]
        per = "channel" if positions else "feature"
        shared = f", shared by all {positions[0]}×{positions[1]} positions" if positions else ""
        return (
            f"Batch norm learns one scale γ and one shift β per {per}{shared}: 2 × {c}. The "
            "running mean and variance it also keeps are statistics, not learned."
        )

    def solution(self, ex):
        c, n = ex.given["input"][0], self.answer(ex)
        per = "channel" if ex.given["layer"] == "batchnorm2d" else "feature"
        return [
            f"There are {c} {per}s; each has its own γ and β.",
            (f"2 × {c} = {n} learned parameters (plus 2 × {c} running statistics, which are not learned)."),
        ]


class BatchNormOutput(Kind):
    name = "batchnorm_output"
    title = "One value through batch norm"
    lesson = "batch_norm"
    format_type = "number"

    def make(self, seed, rng):
        while True:
            batch = ints(rng, 0, 9, BATCH)
            if len(set(batch)) > 1:  # a batch of equal values has no variance to divide by
                break
        g = {
            "batch": batch,
            "gamma": pick(rng, [0.5, 1, 1.5, 2, 3]),
            "beta": pick(rng, [-2, -1, 0, 0.5, 1, 2]),
            "index": int(rng.integers(BATCH)),
            "eps": EPS,
        }
        prompt = (
            f"In training, batch norm sees the values {batch} of one feature across a batch "
            f"of {BATCH}. It has γ = {g['gamma']:g} and β = {g['beta']:g} (ε = {EPS:g}). "
            f"What does it output for the value at position {g['index']} "
            f"({batch[g['index']]})? ({OUTPUT_TOLERANCE.describe().capitalize()} counts.)"
        )
        return Exercise(self.name, seed, prompt, g, Number(tolerance=OUTPUT_TOLERANCE, example=-1.34))

    def answer(self, ex):
        g = ex.given
        net = network(
            [1],
            [{"type": "batchnorm1d", "eps": g["eps"]}],
            {"layers[0].gamma": [g["gamma"]], "layers[0].beta": [g["beta"]]},
        )
        y = net.forward(np.asarray(g["batch"], dtype=np.float64)[:, None], train=True)
        return float(y[g["index"], 0])

    def _mean_var(self, g) -> tuple[str, str]:
        b = g["batch"]
        mean = f"μ = ({' + '.join(map(str, b))})/{BATCH}"
        var = f"σ² = ({' + '.join(f'({v} - μ)²' for v in b)})/{BATCH}"
        return mean, var

    def hint(self, ex, given):
        g = ex.given
        mean, var = self._mean_var(g)
        x = g["batch"][g["index"]]
        return (
            f"y = γ × (x - μ)/√(σ² + ε) + β = {g['gamma']:g} × ({x} - μ)/√(σ² + "
            f"{g['eps']:g}) + {signed(g['beta'])}, with the batch's own mean and variance: "
            f"{mean} and {var} (divided by {BATCH}, not {BATCH - 1})."
        )

    def solution(self, ex):
        g, y = ex.given, self.answer(ex)
        b = np.asarray(g["batch"], dtype=np.float64)
        mu, var = b.mean(), b.var()
        x, sd = g["batch"][g["index"]], np.sqrt(var + g["eps"])
        xhat = (x - mu) / sd
        return [
            f"μ = ({' + '.join(map(str, g['batch']))})/{BATCH} = {mu:g}.",
            f"σ² = mean of the squared deviations = {var:.4g}; √(σ² + ε) ≈ {sd:.4g}.",
            f"Normalized: ({x} - {mu:g})/{sd:.4g} ≈ {xhat:.4g}.",
            (f"Scaled and shifted: {g['gamma']:g} × {xhat:.4g} + {signed(g['beta'])} ≈ {y:.4g}."),
        ]


KINDS = [BatchNormParams(), BatchNormOutput()]
