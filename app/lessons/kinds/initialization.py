"""Initialization and vanishing gradients: the Xavier variance, and which initialization
makes a deep ReLU stack's gradient vanish.

The variance is the engine's own statement of what each initializer draws
(engine.init.weight_variance). Which stack vanishes is measured as the Initialization view
does it: the stack is built with the engine, run at step 0 on random inputs, and the gradient
reaching its first layer is compared with the one reaching its last.
"""

from __future__ import annotations

import numpy as np

from engine.init import weight_variance

from ..exercise import Exercise, Kind, pick
from ..formats import Choice, Number, Option, Tolerance
from .engine_calls import network

XAVIER_TOLERANCE = Tolerance(relative=0.01)
VANISHED = 0.01  # the first layer's gradient std below this fraction of the last's
SAMPLES = 64  # random inputs, as in the Initialization view
# drawn options keep clear of the line, so finite-width noise cannot move one across it
CLEARLY_VANISHED, CLEARLY_NOT = 0.001, 0.2
NAMED = {"xavier_normal": "Xavier normal", "he_normal": "He normal", "lecun_normal": "LeCun normal"}
STDS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def fans(g: dict) -> tuple[int, int]:
    """fan_in: how many inputs one output sums; fan_out: how many outputs one input feeds."""
    if g["layer"] == "conv2d":
        k2 = g["kernel_size"] ** 2
        return g["in_channels"] * k2, g["filters"] * k2
    return g["in_features"], g["out_features"]


class XavierVariance(Kind):
    name = "xavier_variance"
    title = "The Xavier variance"
    lesson = "initialization"
    format_type = "number"

    def make(self, seed, rng):
        if seed == 0:  # the lecture's conv layer
            g = {"layer": "conv2d", "in_channels": 3, "filters": 20, "kernel_size": 5}
        elif rng.random() < 0.5:
            g = {
                "layer": "conv2d",
                "in_channels": pick(rng, [1, 3, 8, 16, 32]),
                "filters": pick(rng, [4, 8, 16, 20, 32, 64]),
                "kernel_size": pick(rng, [1, 3, 5]),
            }
        else:
            g = {
                "layer": "linear",
                "in_features": pick(rng, [10, 16, 50, 84, 100, 120, 256, 400]),
                "out_features": pick(rng, [2, 10, 16, 50, 84, 100, 120]),
            }
        if g["layer"] == "conv2d":
            k = g["kernel_size"]
            what = f"a conv2d layer with {g['filters']} filters of {k}×{k} on a {g['in_channels']}-channel input"
        else:
            what = f"a linear layer from {g['in_features']} inputs to {g['out_features']} outputs"
        prompt = (
            f"Xavier (Glorot) initialization draws the weights of {what}. What is the "
            f"variance of each weight, Var(W)? ({XAVIER_TOLERANCE.describe().capitalize()} "
            "counts.)"
        )
        return Exercise(self.name, seed, prompt, g, Number(tolerance=XAVIER_TOLERANCE, example=0.04))

    def answer(self, ex):
        return weight_variance("xavier_normal", *fans(ex.given))

    def _fans_text(self, g) -> str:
        if g["layer"] == "conv2d":
            k = g["kernel_size"]
            return (
                f"fan_in = C × K × K = {g['in_channels']} × {k} × {k} (what one output sums) "
                f"and fan_out = F × K × K = {g['filters']} × {k} × {k} (what one input feeds)"
            )
        return f"fan_in = {g['in_features']} and fan_out = {g['out_features']}"

    def hint(self, ex, given):
        return (
            f"Var(W) = 2/(fan_in + fan_out), with {self._fans_text(ex.given)}. It keeps the "
            "variance of the activations going forward and of the gradients going back about "
            "the same."
        )

    def solution(self, ex):
        fan_in, fan_out = fans(ex.given)
        v = self.answer(ex)
        return [
            f"{self._fans_text(ex.given)}: {fan_in} and {fan_out}.",
            (f"Var(W) = 2/(fan_in + fan_out) = 2/({fan_in} + {fan_out}) = 2/{fan_in + fan_out} ≈ {v:.4g}."),
            (
                f"A normal draw has std √{v:.4g} ≈ {np.sqrt(v):.4g}; a uniform one is on "
                f"±√(3 × {v:.4g}) ≈ ±{np.sqrt(3 * v):.4g}."
            ),
        ]


def option_id(init: str, std: float | None) -> str:
    return init if std is None else f"normal(std={std:g})"


def option_variance(option: dict, width: int) -> float:
    return weight_variance(option["init"], width, width, option["std"] or 0.01)


def predicted_ratio(option: dict, width: int, depth: int) -> float:
    """(width × Var(W) / 2) ** ((depth - 1) / 2): going back one ReLU layer multiplies the
    gradient's variance by fan_out × Var(W), and the ReLU lets half of it through."""
    return (width * option_variance(option, width) / 2) ** ((depth - 1) / 2)


def stack(option: dict, width: int, depth: int) -> list[dict]:
    """depth × (linear, relu), then a readout of 10: the Initialization view's plain stack."""
    extra = {} if option["std"] is None else {"std": option["std"]}
    weight = {"type": "linear", "out_features": width, "init": option["init"], **extra}
    return [layer for _ in range(depth) for layer in (weight, {"type": "relu"})] + [
        {"type": "linear", "out_features": 10, "init": option["init"], **extra}
    ]


class VanishingInit(Kind):
    name = "vanishing_init"
    title = "Which initialization makes the gradient vanish"
    lesson = "initialization"
    format_type = "choice"

    def make(self, seed, rng):
        pool = [{"init": i, "std": None} for i in NAMED] + [{"init": "normal", "std": s} for s in STDS]
        while True:
            depth, width = int(rng.integers(6, 21)), pick(rng, [32, 64])
            options = [pool[i] for i in rng.choice(len(pool), size=4, replace=False)]
            ratios = [predicted_ratio(o, width, depth) for o in options]
            gone = [r < CLEARLY_VANISHED for r in ratios]
            kept = [CLEARLY_NOT < r < 1e12 for r in ratios]
            growth = max(width * option_variance(o, width) / 2 for o in options) ** (depth / 2)
            if sum(gone) == 1 and sum(kept) == 3 and growth < 1e15:
                break
        given = {
            "depth": depth,
            "width": width,
            "activation": "relu",
            "samples": SAMPLES,
            "options": [
                {
                    "id": option_id(o["init"], o["std"]),
                    "init": o["init"],
                    "std": o["std"],
                    "label": self._label(o, width),
                }
                for o in options
            ],
        }
        prompt = (
            f"A plain stack of {depth} linear layers of width {width}, each followed by a "
            f"ReLU (and a linear readout of 10), is initialized and run once on {SAMPLES} "
            "random inputs. With which initialization is the gradient reaching the first of "
            f"those layers less than {VANISHED:g} × the one reaching the last of them "
            "(comparing their standard deviations): it vanishes?"
        )
        return Exercise(
            self.name, seed, prompt, given, Choice(options=tuple(Option(o["id"], o["label"]) for o in given["options"]))
        )

    @staticmethod
    def _label(o, width) -> str:
        if o["std"] is not None:
            return f"normal with std {o['std']:g}: Var(W) = {o['std'] ** 2:g}"
        rule = {"xavier_normal": "2/(fan_in + fan_out)", "he_normal": "2/fan_in", "lecun_normal": "1/fan_in"}
        return f"{NAMED[o['init']]}: Var(W) = {rule[o['init']]}"

    def measured_ratios(self, ex) -> dict[str, float]:
        """Each option's gradient std at the first layer over the last, by the engine at step 0."""
        g = ex.given
        x = np.random.default_rng(ex.seed).standard_normal((g["samples"], g["width"]))
        first, last = "layers[0]", f"layers[{2 * (g['depth'] - 1)}]"
        out = {}
        for o in g["options"]:
            net = network([g["width"]], stack(o, g["width"], g["depth"]), seed=ex.seed)
            # what Network.stats does with no labels (the gradient of the outputs' mean), without
            # its histograms of every layer
            z = net.logits(x, record=True)
            grads: dict = {}
            net.trunk.backward(np.ones_like(z) / len(x), taps=grads)
            out[o["id"]] = float(grads[first].std() / grads[last].std())
        return out

    def answer(self, ex):
        ratios = self.measured_ratios(ex)
        vanished = [k for k, r in ratios.items() if r < VANISHED]
        if len(vanished) != 1:
            raise RuntimeError(f"{ex.id}: expected one vanishing option, the engine measured {ratios}")
        return vanished[0]

    def _gain(self, o, width) -> str:
        if o["std"] is not None:
            var = f"{o['std']:g}²"
        else:
            var = {"xavier_normal": f"2/({width} + {width})", "he_normal": f"2/{width}", "lecun_normal": f"1/{width}"}[
                o["init"]
            ]
        return f"({width} × {var} / 2)"

    def hint(self, ex, given):
        g = ex.given
        steps = g["depth"] - 1
        each = "; ".join(f"{o['id']}: {self._gain(o, g['width'])}^({steps}/2)" for o in g["options"])
        return (
            "Going back through one layer multiplies the gradient's variance by about "
            "fan_out × Var(W), and the ReLU passes half of it: × fan_out × Var(W) / 2. From "
            f"the last layer to the first that happens {g['depth']} - 1 = {steps} times, so "
            f"the std changes by (fan_out × Var(W) / 2)^({steps}/2): {each}."
        )

    def solution(self, ex):
        g, best = ex.given, self.answer(ex)
        ratios = self.measured_ratios(ex)
        steps = [
            f"{o['id']}: {self._gain(o, g['width'])}^({g['depth'] - 1}/2) ≈ "
            f"{predicted_ratio(o, g['width'], g['depth']):.3g}; measured by the engine: "
            f"{ratios[o['id']]:.3g}"
            for o in g["options"]
        ]
        steps.append(
            f"Only {best} falls below {VANISHED:g}: its gradient vanishes before it "
            "reaches the first layers, which then barely learn. A factor above 1 per "
            "layer explodes instead; He keeps it at 1 for ReLU."
        )
        return steps


KINDS = [XavierVariance(), VanishingInit()]
