"""Every exercise kind over 512 seeds, against an independent computation.

The server's answers come from the engine (its summary, its layers forward and backward, its
initializers and optimizer). Here each is computed again from the exercise's own numbers
with plain loops and closed formulas, and every exercise is checked not to be degenerate:
an output of at least one cell, a cell some window reaches, a maximum without a tie, one
option that vanishes. Then the lecture's own numbers, the hints and the grading.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import engine
from app.lessons.formats import Malformed
from app.lessons.kinds import KINDS

SEEDS = range(512)


# ---- independent computations: one per kind, from ex.given alone -------------------------------
def windows(n: int, k: int, s: int) -> list[int]:
    """Where the windows of a sliding layer start along an axis of n (padding already added)."""
    return list(range(0, n - k + 1, s))


def conv_loops(x, w, s, p):
    """I[i,j] = sum_ab W[a,b] Xpad[i*s+a, j*s+b], written out."""
    xp = np.pad(np.asarray(x, float), p)
    k = len(w)
    starts = windows(len(xp), k, s)
    return [[sum(w[a][b] * xp[r + a, c + b] for a in range(k) for b in range(k)) for c in starts] for r in starts]


def conv_backward_loops(size, k, s, p, delta, x=None, w=None):
    """dL/dW and dL/dX by accumulating every window's share, and how many windows touch each X."""
    xp = np.pad(np.asarray(x, float), p) if x is not None else np.zeros((size + 2 * p,) * 2)
    w = np.asarray(w, float) if w is not None else np.zeros((k, k))
    dw, dxp, touched = np.zeros((k, k)), np.zeros_like(xp), np.zeros_like(xp)
    for i, r in enumerate(windows(len(xp), k, s)):
        for j, c in enumerate(windows(len(xp), k, s)):
            dw += delta[i][j] * xp[r : r + k, c : c + k]
            dxp[r : r + k, c : c + k] += delta[i][j] * w
            touched[r : r + k, c : c + k] += 1
    cut = slice(p, p + size)
    return dw, dxp[cut, cut], touched[cut, cut]


def receptive_field_by_tracing(layers) -> int:
    """The input positions one output position depends on, traced back layer by layer."""
    reached = {0}
    for layer in reversed(layers):
        reached = {o * layer["stride"] + a for o in reached for a in range(layer["kernel_size"])}
    return max(reached) - min(reached) + 1


def variance(init: str, std, fan_in: int, fan_out: int) -> float:
    return {
        "xavier_normal": 2 / (fan_in + fan_out),
        "he_normal": 2 / fan_in,
        "lecun_normal": 1 / fan_in,
        "normal": (std or 0) ** 2,
    }[init]


def relu_stack_ratio(option, width, depth, rng) -> float:
    """Gradient std at the first layer's output over the last hidden layer's, in a plain NumPy
    ReLU stack with its own random weights (not the engine's draws)."""
    sd = math.sqrt(variance(option["init"], option["std"], width, width))
    ws = [rng.standard_normal((width, width)) * sd for _ in range(depth)]
    sd_out = math.sqrt(variance(option["init"], option["std"], width, 10))
    readout = rng.standard_normal((10, width)) * sd_out
    a, zs = rng.standard_normal((64, width)), []
    for w in ws:
        zs.append(a @ w.T)
        a = np.maximum(zs[-1], 0)
    g = np.ones((64, 10)) / 64 @ readout
    grads = [None] * depth
    for i in reversed(range(depth)):
        g = g * (zs[i] > 0)
        grads[i] = g
        g = g @ ws[i]
    return grads[0].std() / grads[depth - 1].std()


def independent(name: str, g: dict, rng):
    """The answer to exercise g of kind `name`, plus the checks that it is not degenerate."""
    if name == "image_values":
        return g["channels"] * g["height"] * g["width"]
    if name == "filter_weights":
        return g["kernel_size"] ** 2 * g["channels"]
    if name == "output_size":
        n = len(windows(g["n_in"] + 2 * g["padding"], g["kernel_size"], g["stride"]))
        assert n >= 1
        return n
    if name == "conv_params":
        return g["filters"] * (g["kernel_size"] ** 2 * g["channels"] + g["bias"])
    if name == "linear_params":
        return g["out_features"] * (g["channels"] * g["height"] * g["width"] + g["bias"])
    if name == "macs":
        k = g["kernel_size"]
        ho = len(windows(g["height"] + 2 * g["padding"], k, g["stride"]))
        wo = len(windows(g["width"] + 2 * g["padding"], k, g["stride"]))
        assert ho >= 1 and wo >= 1
        return ho * wo * g["filters"] * k * k * g["channels"]
    if name == "receptive_field":
        return receptive_field_by_tracing(g["layers"])
    if name == "conv_output_cell":
        out = conv_loops(g["x"], g["w"], g["stride"], g["padding"])
        assert len(out) >= 2
        return out[g["cell"][0]][g["cell"][1]]
    if name == "conv_dw_cell":
        dw, _, _ = conv_backward_loops(len(g["x"]), g["kernel_size"], g["stride"], g["padding"], g["delta"], x=g["x"])
        return dw[tuple(g["cell"])]
    if name == "conv_dx_cell":
        _, dx, touched = conv_backward_loops(g["size"], len(g["w"]), g["stride"], g["padding"], g["delta"], w=g["w"])
        assert touched[tuple(g["cell"])] >= 1, "no window reaches the cell: it has no gradient"
        return dx[tuple(g["cell"])]
    if name == "maxpool_route":
        (r, c), k, s = g["cell"], g["kernel_size"], g["stride"]
        window = [(g["x"][r * s + a][c * s + b], (r * s + a, c * s + b)) for a in range(k) for b in range(k)]
        top = max(v for v, _ in window)
        winners = [pos for v, pos in window if v == top]
        assert len(winners) == 1, "a tie for the maximum"
        return winners[0]
    if name == "avgpool_gradient":
        (i, j), k, s = g["cell"], g["kernel_size"], g["stride"]
        starts = windows(g["size"], k, s)
        shares = [
            g["delta"][a][b] / (k * k)
            for a, r in enumerate(starts)
            for b, c in enumerate(starts)
            if r <= i < r + k and c <= j < c + k
        ]
        assert shares, "no window reaches the cell: it has no gradient"
        return sum(shares)
    if name == "largest_layer":

        def count(o):
            if o["type"] == "conv2d":
                kh, kw = o["kernel_size"]
                return o["filters"] * (kh * kw * o["in_channels"] + o["bias"])
            return o["out_features"] * (o["in_features"] + o["bias"])

        counts = sorted((count(o), o["id"]) for o in g["options"])
        assert counts[-1][0] > counts[-2][0], "a tie for the largest"
        for o in g["options"]:  # the options describe the preset's layers as its spec has them
            if o["id"].count("[") == 1:
                layer = engine.PRESETS[g["preset"]]["layers"][int(o["id"][7:-1])]
                assert layer["type"] == o["type"]
                key = "out_channels" if o["type"] == "conv2d" else "out_features"
                assert layer[key] == o.get("filters", o.get("out_features"))
        return counts[-1][1]
    if name == "xavier_variance":
        if g["layer"] == "conv2d":
            k2 = g["kernel_size"] ** 2
            return 2 / (g["in_channels"] * k2 + g["filters"] * k2)
        return 2 / (g["in_features"] + g["out_features"])
    if name == "vanishing_init":
        ratios = {o["id"]: relu_stack_ratio(o, g["width"], g["depth"], rng) for o in g["options"]}
        gone = [k for k, r in ratios.items() if r < 0.01]
        assert len(gone) == 1, ratios
        return gone[0]
    if name == "dropout_scale":
        if g["phase"] == "testing":
            return g["value"]
        assert g["p"] > 0
        return g["value"] / (1 - g["p"])
    if name == "regularized_step":
        pull = g["w"] if g["penalty"] == "l2" else math.copysign(1, g["w"])
        return g["w"] - g["lr"] * (g["grad"] + g["strength"] * pull)
    if name == "batchnorm_params":
        return 2 * g["input"][0]
    if name == "batchnorm_output":
        b = g["batch"]
        mean = sum(b) / len(b)
        var = sum((v - mean) ** 2 for v in b) / len(b)
        assert var > 0
        return g["gamma"] * (b[g["index"]] - mean) / math.sqrt(var + g["eps"]) + g["beta"]
    if name == "residual_gradient":
        x, w, dy, i = g["x"], g["w"], g["dy"], g["index"]
        z = [sum(w[k][m] * x[m] for m in range(len(x))) for k in range(len(x))]
        assert all(v != 0 for v in z), "a ReLU at 0"
        return dy[i] + sum(w[k][i] * dy[k] for k in range(len(x)) if z[k] > 0)
    raise AssertionError(f"no independent computation for {name}")


_cache: dict = {}


def drawn(name: str):
    """(exercise, server's answer) for every seed, made once for the tests that share them."""
    if name not in _cache:
        kind = KINDS[name]
        _cache[name] = [(ex, kind.answer(ex)) for ex in map(kind.generate, SEEDS)]
    return _cache[name]


# ---- the server's answers against the independent ones ------------------------------------------
@pytest.mark.parametrize("name", list(KINDS))
def test_every_seed_agrees_with_an_independent_computation(name):
    kind = KINDS[name]
    rng = np.random.default_rng(0)
    for ex, answer in drawn(name):
        mine = independent(name, ex.given, rng)
        if kind.format_type == "number":
            assert answer == pytest.approx(mine, rel=1e-9, abs=1e-9), ex.id
        elif kind.format_type == "cell":
            assert answer == tuple(mine), ex.id
        else:
            assert answer == mine, (ex.id, answer, mine)
        types = {"integer": int, "number": float, "cell": tuple, "choice": str}
        assert type(answer) is types[kind.format_type], ex.id
        assert kind.generate(ex.seed) == ex, f"{ex.id} is not the same exercise when made again"


def test_there_are_at_least_12_kinds_each_with_one_answer_format():
    assert len(KINDS) >= 12
    for kind in KINDS.values():
        assert {kind.generate(s).format.type for s in range(20)} == {kind.format_type}


def test_the_lecture_examples_are_the_first_seeds():
    cell = KINDS["conv_output_cell"]
    cells = [[cell.answer(cell.generate(3 * i + j)) for j in range(3)] for i in range(3)]
    assert cells == [[9, 5, 4], [8, 8, 10], [8, 15, 12]]

    def first(name, seed=0):
        return KINDS[name].answer(KINDS[name].generate(seed))

    assert first("conv_params") == 1520 == 20 * (5 * 5 * 3 + 1)
    assert first("filter_weights") == 75
    assert first("macs") == 15 * 15 * 20 * 75
    assert first("xavier_variance") == 2 / 575
    assert first("linear_params") == 48120  # LeNet-5's first fully connected layer
    assert first("receptive_field") == 5 and first("receptive_field", 1) == 7
    assert first("maxpool_route") == (1, 0)
    # the lecture's layer: (32 + 2*1 - 5)/2 + 1 = 15.5, floored; without padding 14.5, floored
    size = KINDS["output_size"]
    assert first("output_size") == 15 and first("output_size", 1) == 14
    assert "15.5" in size.hint(size.generate(0), 16) and "14.5" in size.hint(size.generate(1), 14.5)


def test_exercises_stay_small_enough_for_paper():
    for ex, _ in drawn("conv_output_cell") + drawn("conv_dw_cell") + drawn("maxpool_route"):
        assert 4 <= len(ex.given["x"]) <= 6 and max(map(max, ex.given["x"])) <= 9
    for ex, _ in drawn("conv_dw_cell"):
        assert len(ex.given["delta"]) <= 4  # at most 16 terms in the sum
    for ex, _ in drawn("conv_dx_cell") + drawn("conv_output_cell"):
        assert len(ex.given["w"]) in (2, 3)


# ---- hints --------------------------------------------------------------------------------------
def numbers(value) -> list:
    """The scalar numbers of a given value (top-level scalars and flat lists; matrices are shown
    in hints only through the entries that matter)."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [value]
    if isinstance(value, list) and all(isinstance(v, (int, float)) for v in value):
        return list(value)
    return []


SKIPPED = {  # numbers of the prompt a hint rightly leaves out
    "filter_weights": {"height", "width"},  # they do not enter one filter's count
    "maxpool_route": {"size"},
    "avgpool_gradient": {"size"},
    "conv_dx_cell": {"size"},
    "conv_output_cell": {"cell", "padding"},
    "conv_dw_cell": {"kernel_size", "padding"},
    "vanishing_init": {"samples"},
    "batchnorm_output": {"index"},
    "batchnorm_params": set(),
    "dropout_scale": set(),
    "residual_gradient": {"index"},
    "image_values": set(),
}


def shown(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


@pytest.mark.parametrize("name", list(KINDS))
def test_every_hint_holds_the_exercises_numbers(name):
    kind = KINDS[name]
    for ex, _answer in drawn(name)[:128]:
        wrong = {"integer": 10**6, "number": 1e6, "cell": (0, 0), "choice": "?"}[kind.format_type]
        hint = kind.hint(ex, wrong)
        for key, value in ex.given.items():
            if key in SKIPPED.get(name, set()):
                continue
            for v in numbers(value):
                assert shown(v) in hint, f"{ex.id}: {key} = {v} is not in the hint {hint!r}"
        steps = kind.solution(ex)
        assert steps and all(isinstance(s, str) and s for s in steps)


def test_a_size_with_a_fraction_hints_at_why_and_the_solution_says_it_in_the_engines_words():
    size = KINDS["output_size"]
    layer = {"type": "conv2d", "out_channels": 1, "kernel_size": 5, "padding": 1, "stride": 2}
    warning = engine.summarize({"input": [1, 32, 32], "layers": [layer]})["warnings"][0]
    for seed, answer in ((0, 15), (1, 14)):
        ex = size.generate(seed)
        hint = size.hint(ex, 15.5)
        assert "whole number" in hint and "fits" in hint
        assert str(answer) not in re.findall(r"\d+(?:\.\d+)?", hint), hint  # the hint does not give it away
    assert warning.split(": ", 1)[1] in " ".join(size.solution(size.generate(0)))


# ---- grading ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(KINDS))
def test_grading_takes_the_exact_answer_and_what_the_tolerance_allows_and_nothing_else(name):
    kind = KINDS[name]
    for ex, answer in drawn(name)[:64]:
        f = ex.format
        wire = list(answer) if isinstance(answer, tuple) else answer
        assert f.grade(f.read(wire), answer), ex.id
        if kind.format_type == "number":
            allowed = max(f.tolerance.absolute, f.tolerance.relative * abs(answer))
            assert allowed > 0
            for inside in (answer + 0.99 * allowed, answer - 0.99 * allowed):
                assert f.grade(f.read(inside), answer), (ex.id, inside)
            for outside in (answer + 1.01 * allowed, answer - 1.01 * allowed):
                assert not f.grade(f.read(outside), answer), (ex.id, outside)
        elif kind.format_type == "integer":
            for other in (answer + 1, answer - 1, answer + 0.5):
                assert not f.grade(f.read(other), answer)
        elif kind.format_type == "cell":
            other = [(answer[0] + 1) % f.shape[0], answer[1]]
            assert not f.grade(f.read(other), answer)
        else:
            others = [o.id for o in f.options if o.id != answer]
            assert len(others) == len(f.options) - 1 and not f.grade(f.read(others[0]), answer)


@pytest.mark.parametrize(
    ("name", "bad", "words"),
    [
        ("output_size", "15", "expected a JSON number"),
        ("output_size", None, "expected a JSON number"),
        ("output_size", True, "expected a JSON number"),
        ("avgpool_gradient", [1], "expected a finite JSON number"),
        ("maxpool_route", 3, "expected [row, column] as two integers"),
        ("maxpool_route", [1, 2, 3], "expected [row, column] as two integers"),
        ("maxpool_route", [1.5, 2], "expected [row, column] as two integers"),
        ("maxpool_route", [99, 0], "is outside X"),
        ("largest_layer", "layers[999]", "expected one of the options' ids"),
        ("largest_layer", 0, "expected one of the options' ids"),
    ],
)
def test_a_malformed_answer_is_refused_naming_the_format(name, bad, words):
    ex = KINDS[name].generate(0)
    with pytest.raises(Malformed) as e:
        ex.format.read(bad)
    assert words in str(e.value)


def test_an_answer_formats_example_never_gives_away_a_lecture_exercise():
    # the page shows the format's description and a malformed answer's message, both of which
    # quote the example; the lecture's exercises (the first seeds) are the ones met first
    for kind in KINDS.values():
        for seed in range(9):
            ex = kind.generate(seed)
            example = getattr(ex.format, "example", None)
            if example is None:
                continue
            assert not ex.format.grade(ex.format.read(example), kind.answer(ex)), (kind.name, seed)


def test_a_largest_layer_option_names_its_layer_as_people_do_and_every_label_is_distinct():
    for ex, _ in drawn("largest_layer"):
        labels = [o.label for o in ex.format.options]
        assert not [x for x in labels if "layers[" in x], labels  # the path is the API's id, not a name
        assert len(set(labels)) == len(labels), labels
