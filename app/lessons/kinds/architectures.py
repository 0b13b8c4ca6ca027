"""The famous architectures: where their parameters are. The counts are the engine's summary
of the full-size presets (built from shapes alone, so a 138M-parameter VGG16 costs nothing)."""

from __future__ import annotations

import functools

import engine

from ..exercise import Exercise, Kind, pick
from ..formats import Choice, Option

FAMOUS = ("lenet5", "alexnet", "vgg16", "googlenet", "resnet18")
OPTIONS = 4


@functools.cache
def all_layers(preset: str) -> tuple[dict, ...]:
    """Every row of a preset's summary, blocks too (their names name the layers inside)."""
    return tuple(engine.summarize(engine.PRESETS[preset])["layers"])


@functools.cache
def weighted_layers(preset: str) -> tuple[dict, ...]:
    """The conv2d and linear rows of a preset's summary, in order."""
    return tuple(r for r in all_layers(preset) if r["type"] in ("conv2d", "linear"))


@functools.cache
def total_params(preset: str) -> int:
    return engine.summarize(engine.PRESETS[preset])["totals"]["params"]


def layer_name(row: dict, rows: tuple) -> str:
    """A layer as people name it: its own name, inside its block's ("layer1.0 conv2",
    "inception3a 5x5_reduce"), else its type; the path is the API's, not a student's."""
    blocks = [r for r in rows if r["block"] and r["name"] and row["path"].startswith(r["path"] + ".")]
    return " ".join([b["name"] for b in blocks] + [row["name"] or row["type"]])


def describe(row: dict, rows: tuple = ()) -> dict:
    """What a student needs to count a layer's parameters, read from its weight shape."""
    w = row["param_shapes"]["W"]
    bias = "b" in row["param_shapes"]
    if row["type"] == "conv2d":
        f, c, kh, kw = w
        text = f"{layer_name(row, rows)}: {f} conv filters of {kh}×{kw} on a {c}-channel input"
        return {
            "id": row["path"],
            "type": "conv2d",
            "filters": f,
            "in_channels": c,
            "kernel_size": [kh, kw],
            "bias": bias,
            "label": text + ("" if bias else ", no bias"),
        }
    out, inp = w
    text = f"{layer_name(row, rows)}: linear, {inp:,} inputs to {out:,} outputs"
    return {
        "id": row["path"],
        "type": "linear",
        "in_features": inp,
        "out_features": out,
        "bias": bias,
        "label": text + ("" if bias else ", no bias"),
    }


def formula(option: dict) -> str:
    plus = " + 1" if option["bias"] else ""
    if option["type"] == "conv2d":
        kh, kw = option["kernel_size"]
        return f"{option['filters']} × ({kh} × {kw} × {option['in_channels']}{plus})"
    return f"{option['out_features']} × ({option['in_features']}{plus})"


class LargestLayer(Kind):
    name = "largest_layer"
    title = "Where a famous network keeps its parameters"
    lesson = "architectures"
    format_type = "choice"

    def make(self, seed, rng):
        # the first seeds take the networks in turn, from LeNet-5
        preset = FAMOUS[seed] if seed < len(FAMOUS) else pick(rng, FAMOUS)
        rows = weighted_layers(preset)
        while True:  # four layers whose counts differ, so exactly one is the largest
            picked = sorted(rng.choice(len(rows), size=OPTIONS, replace=False).tolist())
            counts = [rows[i]["params"] for i in picked]
            if len(set(counts)) == len(counts):
                break
        options = [describe(rows[i], all_layers(preset)) for i in picked]
        title = engine.PRESET_INFO[preset].get("title", preset)
        prompt = (
            f"{title} has {total_params(preset):,} parameters. Which of these four layers "
            "holds the most? (Count weights and biases: F × (K × K × C + 1) for a conv, "
            "out × (in + 1) for a linear layer.)"
        )
        given = {"preset": preset, "network": title, "options": options}
        return Exercise(
            self.name, seed, prompt, given, Choice(options=tuple(Option(o["id"], o["label"]) for o in options))
        )

    def _counts(self, ex) -> dict[str, int]:
        rows = {r["path"]: r["params"] for r in weighted_layers(ex.given["preset"])}
        return {o["id"]: rows[o["id"]] for o in ex.given["options"]}

    def answer(self, ex):
        counts = self._counts(ex)
        return max(counts, key=counts.get)

    def hint(self, ex, given):
        return (
            "Count each: "
            + "; ".join(f"{o['id']}: {formula(o)}" for o in ex.given["options"])
            + ". A fully connected layer joins every input to every output; a conv layer's "
            "filters are shared by every position."
        )

    def solution(self, ex):
        counts, best = self._counts(ex), self.answer(ex)
        total = total_params(ex.given["preset"])
        steps = [f"{o['id']}: {formula(o)} = {counts[o['id']]:,}" for o in ex.given["options"]]
        steps.append(
            f"The largest is {best}, with {counts[best]:,} parameters: "
            f"{counts[best] / total:.0%} of {ex.given['network']}'s {total:,}."
        )
        return steps


KINDS = [LargestLayer()]
