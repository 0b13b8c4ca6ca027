"""Sizes and counts: an image's numbers, a filter's weights, output sizes, parameters,
multiply-adds and receptive fields. Every answer is the engine's summary of a network made
of the exercise's layers (nothing is allocated for it)."""

from __future__ import annotations

import math
from typing import ClassVar

from ..exercise import Exercise, Kind, pick
from ..formats import Integer
from .engine_calls import summary_row

LECTURE_INPUT = {"channels": 3, "height": 32, "width": 32}
LECTURE_CONV = {"filters": 20, "kernel_size": 5, "padding": 1, "stride": 2}
DEPTHS = {1: "a grayscale", 3: "a colour (RGB)", 4: "an RGBA (colour with transparency)"}


def conv(g: dict, bias: bool = True) -> dict:
    return {
        "type": "conv2d",
        "out_channels": g["filters"],
        "kernel_size": g["kernel_size"],
        "padding": g.get("padding", 0),
        "stride": g.get("stride", 1),
        "bias": bias,
    }


def chw(g: dict) -> list[int]:
    return [g["channels"], g["height"], g["width"]]


def shape_text(g: dict) -> str:
    return f"{g['channels']}×{g['height']}×{g['width']} (channels × height × width)"


def conv_text(g: dict) -> str:
    k = g["kernel_size"]
    return f"{g['filters']} filters of {k}×{k}, padding {g.get('padding', 0)} and stride {g.get('stride', 1)}"


class ImageValues(Kind):
    name = "image_values"
    title = "How many numbers an image is"
    lesson = "image"
    format_type = "integer"

    def make(self, seed, rng):
        if seed == 0:
            g = dict(LECTURE_INPUT)
        else:
            side = pick(rng, [8, 16, 28, 32, 48, 64, 96])
            g = {
                "channels": pick(rng, [1, 3, 3, 4]),
                "height": side,
                "width": side if rng.random() < 0.6 else pick(rng, [16, 28, 32, 48, 64]),
            }
        prompt = (
            f"{DEPTHS[g['channels']].capitalize()} image of {g['height']}×{g['width']} "
            "pixels (height × width) is flattened into one vector for a fully connected "
            "layer. How many numbers does the vector hold?"
        )
        return Exercise(self.name, seed, prompt, g, Integer(example=784))

    def answer(self, ex):
        return summary_row(chw(ex.given), [{"type": "flatten"}])["output_shape"][0]

    def hint(self, ex, given):
        g = ex.given
        return (
            f"An image is an array of depth × height × width numbers, one per channel of every "
            f"pixel: C × H × W = {g['channels']} × {g['height']} × {g['width']}."
        )

    def solution(self, ex):
        g, n = ex.given, self.answer(ex)
        return [
            (
                f"{DEPTHS[g['channels']].capitalize()} image has depth C = {g['channels']}: one "
                "number per channel per pixel, each from 0 to 255 when stored in 8 bits."
            ),
            (f"Flattening keeps every number: C × H × W = {g['channels']} × {g['height']} × {g['width']} = {n:,}."),
        ]


class FilterWeights(Kind):
    name = "filter_weights"
    title = "The weights of one filter"
    lesson = "filters"
    format_type = "integer"

    def make(self, seed, rng):
        if seed == 0:
            g = {**LECTURE_INPUT, "filters": 20, "kernel_size": 5}
        else:
            side = pick(rng, [16, 28, 32, 64])
            g = {
                "channels": pick(rng, [1, 3, 6, 8, 16, 32, 64]),
                "height": side,
                "width": side,
                "filters": pick(rng, [4, 6, 8, 16, 20, 32, 64]),
                "kernel_size": pick(rng, [1, 3, 5, 7]),
            }
        k = g["kernel_size"]
        prompt = (
            f"A conv2d layer with {g['filters']} filters of {k}×{k} takes a {shape_text(g)} "
            "input. How many weights does one filter hold (its bias not counted)?"
        )
        return Exercise(self.name, seed, prompt, g, Integer(example=27))

    def answer(self, ex):
        shape = summary_row(chw(ex.given), [conv(ex.given)])["param_shapes"]["W"]  # (F, C, K, K)
        return math.prod(shape[1:])

    def hint(self, ex, given):
        g = ex.given
        k = g["kernel_size"]
        return (
            "A filter reaches through every channel of its input, with one weight per "
            f"position and channel: K × K × C = {k} × {k} × {g['channels']}. The number of "
            f"filters ({g['filters']}) counts filters, not the weights of one."
        )

    def solution(self, ex):
        g, n = ex.given, self.answer(ex)
        k, c = g["kernel_size"], g["channels"]
        channels = "its one input channel" if c == 1 else f"all {c} input channels"
        return [
            f"Each filter covers a {k}×{k} window of {channels} at once.",
            f"One filter: K × K × C = {k} × {k} × {c} = {n:,} weights (plus one bias).",
            f"The layer's weight tensor is F × C × K × K = {g['filters']} × {c} × {k} × {k}.",
        ]


class OutputSize(Kind):
    name = "output_size"
    title = "The output size from K, P and S"
    lesson = "kps"
    format_type = "integer"
    # the lecture's layer, then the same without padding: both leave a remainder
    EXAMPLES: ClassVar[dict] = {
        0: {"n_in": 32, "kernel_size": 5, "padding": 1, "stride": 2},
        1: {"n_in": 32, "kernel_size": 5, "padding": 0, "stride": 2},
    }

    def make(self, seed, rng):
        g = self.EXAMPLES.get(seed)
        want_remainder = rng.random() < 0.5  # half the exercises have a size to round down
        while g is None:
            k = pick(rng, [1, 2, 3, 3, 4, 5, 5, 7])
            c = {
                "n_in": int(rng.integers(5, 41)),
                "kernel_size": k,
                "padding": int(rng.integers(0, min(k, 3) + 1)),
                "stride": pick(rng, [1, 2, 2, 3, 4]),
            }
            span = c["n_in"] + 2 * c["padding"] - k
            if span >= 0 and (span % c["stride"] != 0) == want_remainder:
                g = c
        n = g["n_in"]
        prompt = (
            f"A conv2d layer with kernel size K = {g['kernel_size']}, padding "
            f"P = {g['padding']} and stride S = {g['stride']} takes a {n}×{n} input. What is "
            "its output size (height = width), as PyTorch computes it?"
        )
        return Exercise(self.name, seed, prompt, g, Integer(example=28))

    def _row(self, g):
        return summary_row([1, g["n_in"], g["n_in"]], [conv({"filters": 1, **g})])

    def answer(self, ex):
        return self._row(ex.given)["output_shape"][1]

    def _formula(self, g):
        return (
            f"N_out = (N_in + 2P - K)/S + 1 = ({g['n_in']} + 2×{g['padding']} - {g['kernel_size']})/{g['stride']} + 1"
        )

    def _engine_says(self, ex) -> list[str]:
        """The engine's own warning for a division that is not exact (what is left uncovered)."""
        row = self._row(ex.given)
        return [w.removeprefix(f"{row['path']}: ") for w in row["warnings"]]

    def hint(self, ex, given):
        g = ex.given
        value = (g["n_in"] + 2 * g["padding"] - g["kernel_size"]) / g["stride"] + 1
        parts = [f"{self._formula(g)} = {value:g}."]
        if isinstance(given, float):  # Integer.read keeps a number with a fraction as a float
            parts.append("A size counts windows, so it is a whole number.")
        if self._engine_says(ex):  # the engine's sentence names the size: it stays for the solution
            parts.append(
                "When S does not divide N_in + 2P - K, a window is only taken where it fits "
                "entirely inside the padded input: count the windows that fit."
            )
        return " ".join(parts)

    def solution(self, ex):
        g, n = ex.given, self.answer(ex)
        value = f"{(g['n_in'] + 2 * g['padding'] - g['kernel_size']) / g['stride'] + 1:g}"
        steps = [f"{self._formula(g)} = {value}."]
        warnings = self._engine_says(ex)
        if warnings:
            steps.append(
                f"{value} is not a whole number. A window is only taken where it fits "
                f"inside the padded input, so the size is rounded down to {n}, as PyTorch "
                f"does: {warnings[0]}."
            )
        steps.append(f"The output is {n}×{n}.")
        return steps


class ConvParams(Kind):
    name = "conv_params"
    title = "Parameters of a conv layer"
    lesson = "parameters"
    format_type = "integer"

    def make(self, seed, rng):
        if seed == 0:
            g = {**LECTURE_INPUT, **LECTURE_CONV, "bias": True}
        else:
            side = pick(rng, [8, 16, 28, 32, 64])
            k = pick(rng, [1, 3, 3, 5, 7])
            g = {
                "channels": pick(rng, [1, 3, 4, 8, 16, 32]),
                "height": side,
                "width": side,
                "filters": pick(rng, [4, 6, 8, 10, 16, 20, 32, 64]),
                "kernel_size": k,
                "padding": int(rng.integers(0, k // 2 + 1)),
                "stride": pick(rng, [1, 1, 2]),
                "bias": bool(rng.random() < 0.75),
            }
        bias = "weights and biases" if g["bias"] else "it has no bias, as before a batch norm"
        prompt = (
            f"A conv2d layer with {conv_text(g)} takes a {shape_text(g)} input. How many "
            f"parameters does it learn ({bias})?"
        )
        return Exercise(self.name, seed, prompt, g, Integer(example=456))

    def answer(self, ex):
        return summary_row(chw(ex.given), [conv(ex.given, ex.given["bias"])])["params"]

    def _formula(self, g):
        k, plus = g["kernel_size"], " + 1" if g["bias"] else ""
        return f"F × (K × K × C{plus}) = {g['filters']} × ({k} × {k} × {g['channels']}{plus})"

    def hint(self, ex, given):
        g = ex.given
        return (
            f"{self._formula(g)}. Every position shares the same filters, so the input's "
            f"height and width ({g['height']}×{g['width']}), the padding ({g['padding']}) and "
            f"the stride ({g['stride']}) do not change the count."
        )

    def solution(self, ex):
        g, n = ex.given, self.answer(ex)
        k, c = g["kernel_size"], g["channels"]
        bias = ", plus one bias." if g["bias"] else "; this layer has no bias."
        return [
            f"One filter has K × K × C = {k} × {k} × {c} = {k * k * c:,} weights{bias}",
            f"{self._formula(g)} = {n:,}.",
            (
                "The padding, the stride and the input's height and width do not enter: the same "
                "filters slide over every position."
            ),
        ]


class LinearParams(Kind):
    name = "linear_params"
    title = "Parameters of a fully connected layer"
    lesson = "parameters"
    format_type = "integer"

    def make(self, seed, rng):
        if seed == 0:  # LeNet-5's first fully connected layer
            g = {"channels": 16, "height": 5, "width": 5, "out_features": 120, "bias": True}
        else:
            side = pick(rng, [1, 2, 3, 4, 5, 6, 7, 8])
            g = {
                "channels": pick(rng, [4, 8, 10, 16, 20, 32, 64]),
                "height": side,
                "width": side,
                "out_features": pick(rng, [2, 10, 16, 32, 64, 84, 100, 120, 128]),
                "bias": bool(rng.random() < 0.85),
            }
        bias = "weights and biases" if g["bias"] else "it has no bias"
        prompt = (
            f"A {shape_text(g)} feature map is flattened and fed to a linear layer with "
            f"{g['out_features']} outputs. How many parameters does the linear layer learn "
            f"({bias})?"
        )
        return Exercise(self.name, seed, prompt, g, Integer(example=850))

    def answer(self, ex):
        g = ex.given
        linear = {"type": "linear", "out_features": g["out_features"], "bias": g["bias"]}
        return summary_row(chw(g), [{"type": "flatten"}, linear])["params"]

    def _formula(self, g):
        plus = " + 1" if g["bias"] else ""
        return f"out × (C × H × W{plus}) = {g['out_features']} × ({g['channels']} × {g['height']} × {g['width']}{plus})"

    def hint(self, ex, given):
        bias = " and one bias" if ex.given["bias"] else ""
        return (
            f"Every output has one weight per input{bias}, and the flattened map has C × H × W "
            f"inputs: {self._formula(ex.given)}."
        )

    def solution(self, ex):
        g, n = ex.given, self.answer(ex)
        c, h, w = g["channels"], g["height"], g["width"]
        return [f"Flattening gives C × H × W = {c} × {h} × {w} = {c * h * w:,} inputs.", f"{self._formula(g)} = {n:,}."]


class MultiplyAdds(Kind):
    name = "macs"
    title = "Multiply-adds of a conv layer"
    lesson = "parameters"
    format_type = "integer"

    def make(self, seed, rng):
        if seed == 0:
            g = {**LECTURE_INPUT, **LECTURE_CONV}
        else:
            side = int(rng.integers(4, 13))
            k = min(pick(rng, [1, 2, 3, 3, 5]), side)
            g = {
                "channels": int(rng.integers(1, 5)),
                "height": side,
                "width": side,
                "filters": int(rng.integers(1, 9)),
                "kernel_size": k,
                "padding": int(rng.integers(0, k // 2 + 1)),
                "stride": pick(rng, [1, 1, 2]),
            }
        prompt = (
            f"A conv2d layer with {conv_text(g)} takes a {shape_text(g)} input. How many "
            "multiply-adds does it do for one image (the bias additions not counted)?"
        )
        return Exercise(self.name, seed, prompt, g, Integer(example=117600))

    def _row(self, g):
        return summary_row(chw(g), [conv(g)])

    def answer(self, ex):
        return self._row(ex.given)["macs"]

    def _formula(self, g):
        k, p, s = g["kernel_size"], g["padding"], g["stride"]
        return (
            f"H_out × W_out × F × (K × K × C) = H_out × W_out × {g['filters']} × ({k} × {k} × "
            f"{g['channels']}), with H_out = ({g['height']} + 2×{p} - {k})/{s} + 1 and "
            f"W_out = ({g['width']} + 2×{p} - {k})/{s} + 1, rounded down"
        )

    def hint(self, ex, given):
        return (
            "Every output value is one filter's dot product with a window: K × K × C "
            f"multiply-adds. {self._formula(ex.given)}."
        )

    def solution(self, ex):
        g, row = ex.given, self._row(ex.given)
        _, ho, wo = row["output_shape"]
        k, n, per = g["kernel_size"], row["macs"], g["kernel_size"] ** 2 * g["channels"]
        rounded = " (rounded down)" if row["warnings"] else ""
        return [
            f"The output is {g['filters']}×{ho}×{wo}: " + "; ".join(row["formulas"]) + rounded + ".",
            (f"Each output value takes K × K × C = {k} × {k} × {g['channels']} = {per:,} multiply-adds."),
            f"{ho} × {wo} × {g['filters']} × {per:,} = {n:,}.",
        ]


class ReceptiveField(Kind):
    name = "receptive_field"
    title = "The receptive field of a small stack"
    lesson = "conv_forward"
    format_type = "integer"
    INPUT = 64  # large enough for any stack drawn here
    # two 3x3 layers see what one 5x5 sees, three what one 7x7 sees
    EXAMPLES: ClassVar[dict] = {0: [("conv2d", 3, 1)] * 2, 1: [("conv2d", 3, 1)] * 3}

    def make(self, seed, rng):
        stack = self.EXAMPLES.get(seed)
        if stack is None:
            stack = []
            for _ in range(int(rng.integers(2, 5))):
                if stack and rng.random() < 0.3:
                    stack.append(("maxpool2d", pick(rng, [2, 3]), 2))
                else:
                    stack.append(("conv2d", pick(rng, [1, 3, 3, 5]), pick(rng, [1, 1, 2])))
        layers = [{"type": t, "kernel_size": k, "stride": s} for t, k, s in stack]
        described = ", then ".join(
            f"{'a conv' if t == 'conv2d' else 'a max-pool'} {k}×{k} with stride {s}" for t, k, s in stack
        )
        prompt = (
            f"A stack of layers: {described} (no padding). One value of the last layer's "
            "output depends on a square of input pixels: how many pixels wide is it (its "
            "receptive field)?"
        )
        return Exercise(self.name, seed, prompt, {"layers": layers}, Integer(example=3))

    def answer(self, ex):
        layers = [{**layer, "out_channels": 1} if layer["type"] == "conv2d" else layer for layer in ex.given["layers"]]
        return summary_row([1, self.INPUT, self.INPUT], layers)["receptive_field"][0]

    def _terms(self, layers):
        """r = 1 + (K1 - 1) + (K2 - 1) × S1 + (K3 - 1) × S1 × S2 + ..., term by term."""
        terms, strides = [], []
        for layer in layers:
            jump = " × ".join(map(str, strides)) or "1"
            terms.append(f"({layer['kernel_size']} - 1) × {jump}")
            strides.append(layer["stride"])
        return terms

    def hint(self, ex, given):
        return (
            "Start from one output value (r = 1). Each layer, going back, widens the region by "
            "(K - 1) steps, and one step is as many input pixels as the strides of the layers "
            "before it multiply to: r = 1 + " + " + ".join(self._terms(ex.given["layers"])) + "."
        )

    def solution(self, ex):
        steps, r, jump = [], 1, 1
        for i, layer in enumerate(ex.given["layers"]):
            k, s = layer["kernel_size"], layer["stride"]
            steps.append(
                f"Layer {i + 1} ({layer['type']} {k}×{k}, stride {s}): r = r + (K - 1) × "
                f"j = {r} + ({k} - 1) × {jump} = {r + (k - 1) * jump}; then j = j × S = "
                f"{jump} × {s} = {jump * s}."
            )
            r, jump = r + (k - 1) * jump, jump * s
        n = self.answer(ex)
        steps.append(f"One output value of the last layer sees {n}×{n} input pixels.")
        return steps


KINDS = [ImageValues(), FilterWeights(), OutputSize(), ConvParams(), LinearParams(), MultiplyAdds(), ReceptiveField()]
