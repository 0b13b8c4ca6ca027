"""Dropout and L1/L2: the inverted-dropout scale, and one SGD step with a penalty. The answers
are the engine's Dropout layer and its SGD optimizer (which adds the penalty's gradient)."""

from __future__ import annotations

import numpy as np

import engine

from ..exercise import Exercise, Kind, pick, signed
from ..formats import Number, Tolerance
from .engine_calls import network

DROPOUT_TOLERANCE = Tolerance(absolute=0.01)
STEP_TOLERANCE = Tolerance(absolute=0.001)
UNITS = 256  # copies of the unit sent through the layer: some are surely kept


class DropoutScale(Kind):
    name = "dropout_scale"
    title = "The inverted-dropout scale"
    lesson = "dropout"
    format_type = "number"

    def make(self, seed, rng):
        g = {
            "p": pick(rng, [0.1, 0.2, 0.25, 0.4, 0.5, 0.6, 0.75, 0.8]),
            "value": pick(rng, [1, 2, 3, 4, 5, 6, 1.2, 1.5, 2.4, 0.6]),
            "phase": "testing" if rng.random() < 0.25 else "training",
        }
        p, v = f"{g['p']:g}", f"{g['value']:g}"
        if g["phase"] == "training":
            prompt = (
                f"Inverted dropout with p = {p} (the probability of dropping a unit) runs in "
                f"training. A unit holding {v} is kept. What value does it pass on?"
            )
        else:
            prompt = (
                f"A network trained with inverted dropout (p = {p}, the probability of "
                f"dropping a unit) is now tested. A unit holding {v} reaches the dropout "
                "layer. What value does it pass on?"
            )
        return Exercise(self.name, seed, prompt, g, Number(tolerance=DROPOUT_TOLERANCE, example=2))

    def answer(self, ex):
        g = ex.given
        net = network([UNITS], [{"type": "dropout", "p": g["p"]}], seed=ex.seed)
        y = net.forward(np.full((1, UNITS), float(g["value"])), train=g["phase"] == "training")
        kept = y[y != 0]
        if not len(kept) or not np.allclose(kept, kept[0]):
            raise RuntimeError(f"{ex.id}: the kept units of a constant input differ: {np.unique(kept)}")
        return float(kept[0])

    def hint(self, ex, given):
        p, v = f"{ex.given['p']:g}", f"{ex.given['value']:g}"
        if ex.given["phase"] == "testing":
            return (
                "Dropout is a training device: when testing nothing is dropped. Inverted "
                f"dropout already scaled the kept units by 1/(1 - p) = 1/(1 - {p}) in "
                f"training, so at test time the layer leaves {v} as it is."
            )
        return (
            "In training, the kept units are divided by the probability of keeping one, 1 - p, "
            f"so that the expected value stays what it was: value / (1 - p) = {v} / (1 - {p})."
        )

    def solution(self, ex):
        g, out = ex.given, self.answer(ex)
        v = f"{g['value']:g}"
        if g["phase"] == "testing":
            return [
                ("When testing, dropout is not applied: every unit is kept and nothing is scaled."),
                (
                    "Training already divided the kept units by 1 - p, so the expected value "
                    f"matched: the unit passes on {out:g}."
                ),
            ]
        keep = f"{1 - g['p']:g}"
        return [
            (
                f"A unit is kept with probability 1 - p = {keep}; its expected output is then "
                f"{keep} × its scaled value, which should equal {v}."
            ),
            f"So kept units are divided by 1 - p: {v} / {keep} = {out:.4g}.",
            "At test time nothing is dropped or scaled.",
        ]


class RegularizedStep(Kind):
    name = "regularized_step"
    title = "One SGD step with an L1 or L2 penalty"
    lesson = "regularization"
    format_type = "number"

    def make(self, seed, rng):
        while True:
            g = {
                "w": pick(rng, [v / 10 for v in range(-20, 21) if v]),
                "grad": pick(rng, [v / 10 for v in range(-10, 11)]),
                "lr": pick(rng, [0.1, 0.5, 1.0]),
                "penalty": pick(rng, ["l2", "l1"]),
                "strength": pick(rng, [0.1, 0.2, 0.5]),
            }
            if self._clear_of_mistakes(g):
                break
        lam = f"{g['strength']:g}"
        penalty = (
            f"the L2 penalty (λ/2)·w² with λ = {lam} (weight decay)"
            if g["penalty"] == "l2"
            else f"the L1 penalty λ·|w| with λ = {lam}"
        )
        prompt = (
            f"A weight w = {g['w']:g} has the loss gradient dL/dw = {g['grad']:g}. The loss "
            f"also has {penalty}. What is w after one plain SGD step with learning rate "
            f"{g['lr']:g}? ({STEP_TOLERANCE.describe().capitalize()} counts.)"
        )
        return Exercise(self.name, seed, prompt, g, Number(tolerance=STEP_TOLERANCE, example=0.45))

    @staticmethod
    def by_definition(w: float, grad: float, lr: float, penalty: str, lam: float) -> float:
        return w - lr * (grad + (lam * w if penalty == "l2" else lam * float(np.sign(w))))

    def _clear_of_mistakes(self, g) -> bool:
        """The step without a penalty, or with the other one, lands well outside the tolerance."""
        w, grad, lr, lam = g["w"], g["grad"], g["lr"], g["strength"]
        right = self.by_definition(w, grad, lr, g["penalty"], lam)
        other = "l1" if g["penalty"] == "l2" else "l2"
        wrong = [self.by_definition(w, grad, lr, other, lam), w - lr * grad]
        return all(abs(right - v) > 10 * STEP_TOLERANCE.absolute for v in wrong)

    def answer(self, ex):
        g = ex.given
        net = network([1], [{"type": "linear", "out_features": 1, "bias": False}], {"layers[0].W": [[g["w"]]]})
        layer = net.layer("layers[0]")
        layer.grads["W"] = np.array([[g["grad"]]])
        penalty = {"weight_decay" if g["penalty"] == "l2" else "l1": g["strength"]}
        engine.make_optimizer("sgd", net.parameters(), lr=g["lr"], **penalty).step()
        return float(layer.params["W"][0, 0])

    def _formula(self, g) -> str:
        lam, w = f"{g['strength']:g}", g["w"]
        if g["penalty"] == "l2":
            general, pull = "w - lr × (dL/dw + λ·w)", f"{lam} × {signed(w)}"
        else:
            general, pull = "w - lr × (dL/dw + λ·sign(w))", f"{lam} × sign({w:g})"
        return f"{general} = {signed(w)} - {g['lr']:g} × ({signed(g['grad'])} + {pull})"

    def hint(self, ex, given):
        why = (
            "the gradient of (λ/2)·w² is λ·w: L2 pulls a weight towards 0 in proportion to its size"
            if ex.given["penalty"] == "l2"
            else "the gradient of λ·|w| is λ·sign(w): L1 pulls every weight towards 0 by the same amount"
        )
        return f"The penalty's gradient is added to the loss's before the step ({why}): {self._formula(ex.given)}."

    def solution(self, ex):
        g, v = ex.given, self.answer(ex)
        l2 = g["penalty"] == "l2"
        pull = g["strength"] * (g["w"] if l2 else float(np.sign(g["w"])))
        return [
            f"The penalty's gradient: {'λ·w' if l2 else 'λ·sign(w)'} = {pull:.4g}.",
            (f"The whole gradient: {g['grad']:g} + {signed(round(pull, 6))} = {g['grad'] + pull:.4g}."),
            f"{self._formula(g)} = {v:.4g}.",
        ]


KINDS = [DropoutScale(), RegularizedStep()]
