"""Residual blocks: the gradient through y = ReLU(W x) + x. The answer is the engine's
residual block (a linear layer and a ReLU as its body, the identity as its shortcut)."""

from __future__ import annotations

import numpy as np

from ..exercise import Exercise, Kind, ints, signed
from ..formats import Integer
from .engine_calls import exact_int, network

SIZE = 2
BLOCK = [{"type": "residual", "body": [{"type": "linear", "out_features": SIZE, "bias": False}, {"type": "relu"}]}]


def pre_activation(g: dict) -> list[int]:
    return [sum(g["w"][k][i] * g["x"][i] for i in range(SIZE)) for k in range(SIZE)]


class ResidualGradient(Kind):
    name = "residual_gradient"
    title = "The gradient through a residual sum"
    lesson = "residual"
    format_type = "integer"

    def make(self, seed, rng):
        while True:
            g = {
                "x": ints(rng, -3, 3, SIZE),
                "w": ints(rng, -2, 2, (SIZE, SIZE)),
                "dy": ints(rng, -2, 2, SIZE),
                "index": int(rng.integers(SIZE)),
            }
            z, i = pre_activation(g), g["index"]
            # a ReLU at exactly 0 has no single slope; and the body adds to the shortcut's part,
            # or the sum would not be seen
            body = sum(g["w"][k][i] * g["dy"][k] for k in range(SIZE) if z[k] > 0)
            if all(v != 0 for v in z) and body != 0:
                break
        prompt = (
            f"A residual block computes y = ReLU(W x) + x for x = {g['x']} and W = {g['w']} "
            "(rows are outputs). The gradient of the loss with respect to y is dL/dy = "
            f"{g['dy']}. What is dL/dx[{i}] (counted from 0)?"
        )
        return Exercise(self.name, seed, prompt, g, Integer(example=2))

    def answer(self, ex):
        g = ex.given
        net = network([SIZE], BLOCK, {"layers[0].body[0].W": g["w"]})
        net.forward(np.asarray([g["x"]], dtype=np.float64), record=True)
        dx = net.backward(np.asarray([g["dy"]], dtype=np.float64))
        return exact_int(dx[0, g["index"]])

    @staticmethod
    def _z_text(g) -> list[str]:
        w, x = g["w"], g["x"]
        return [
            f"(W x)[{k}] = " + " + ".join(f"{signed(w[k][i])}×{signed(x[i])}" for i in range(SIZE)) for k in range(SIZE)
        ]

    def hint(self, ex, given):
        g = ex.given
        i, w, dy = g["index"], g["w"], g["dy"]
        terms = " + ".join(f"{signed(w[k][i])}×{signed(dy[k])}×[(W x)[{k}] > 0]" for k in range(SIZE))
        return (
            "A sum passes its gradient unchanged to both of its inputs. Through the shortcut "
            "x gets dL/dy as it is; through the body it gets Wᵀ(dL/dy ⊙ ReLU′(W x)), where "
            f"ReLU′ is 1 where W x > 0 and 0 elsewhere. dL/dx[{i}] = dL/dy[{i}] + Σ_k "
            f"W[k,{i}]×dL/dy[k]×[(W x)[k] > 0] = {signed(dy[i])} + {terms}, with " + " and ".join(self._z_text(g)) + "."
        )

    def solution(self, ex):
        g, n = ex.given, self.answer(ex)
        i, w, dy, z = g["index"], g["w"], g["dy"], pre_activation(g)
        gates = [1 if v > 0 else 0 for v in z]
        body = sum(w[k][i] * dy[k] * gates[k] for k in range(SIZE))
        through = " + ".join(f"{signed(w[k][i])}×{signed(dy[k])}×{gates[k]}" for k in range(SIZE))
        return [
            " and ".join(f"{t} = {v}" for t, v in zip(self._z_text(g), z))
            + f": the ReLU passes gradient at {[k for k in range(SIZE) if gates[k]]}.",
            f"Through the shortcut: dL/dy[{i}] = {dy[i]}.",
            f"Through the body: {through} = {body}.",
            (
                f"dL/dx[{i}] = {dy[i]} + {signed(body)} = {n}. However small the body's part, the "
                "shortcut's is always there: that is why deep residual networks still train."
            ),
        ]


KINDS = [ResidualGradient()]
