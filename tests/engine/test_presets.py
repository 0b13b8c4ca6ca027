"""Tests for engine.presets: exact parameter counts and valid shapes.

The shapes and counts are computed by an independent walker written here
(not the engine), so the presets are checked against the formulas alone:
conv = out * (in*kh*kw + bias), linear = out * (in + bias),
batch norm = 2 * C (running statistics are buffers, not parameters).
"""

from __future__ import annotations

import copy
import json

import pytest

from engine.presets import PRESET_INFO, PRESETS, get_preset

EXPECTED_PARAMS = {
    "lenet5": 61_706,
    "tinyvgg": 19_920,
    "alexnet": 61_100_840,
    "vgg16": 138_357_544,
    "resnet18": 11_689_512,
    "googlenet": 6_998_552,
}

FULL_SIZE = ("alexnet", "vgg16", "resnet18", "googlenet")
PAPER = ("alexnet_paper",)  # full size, at the paper's own input size
SMALL = [name for name in PRESETS if name not in FULL_SIZE + PAPER]


# ---------------------------------------------------------------------------
# Independent shape / parameter walker
# ---------------------------------------------------------------------------


def _pair(v):
    if isinstance(v, (list, tuple)):
        assert len(v) == 2, v
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def walk(layers, shape, path="layers"):
    """Return (output shape, params, MACs) of a list of layers applied to `shape`.

    `shape` is (C, H, W) or (F,).  Fails an assertion on an invalid shape.
    """
    params = 0
    macs = 0
    for i, layer in enumerate(layers):
        where = f"{path}[{i}]({layer.get('name', layer['type'])})"
        t = layer["type"]
        if t == "conv2d":
            assert len(shape) == 3, f"{where}: conv2d needs (C,H,W), got {shape}"
            c, h, w = shape
            kh, kw = _pair(layer["kernel_size"])
            sh, sw = _pair(layer.get("stride", 1))
            pad = layer.get("padding", 0)
            if pad == "valid":
                ph, pw = 0, 0
            elif pad == "same":
                assert (sh, sw) == (1, 1), f"{where}: 'same' needs stride 1"
                ph, pw = (kh - 1) // 2, (kw - 1) // 2
            else:
                ph, pw = _pair(pad)
            f = layer["out_channels"]
            g = layer.get("groups", 1)
            assert c % g == 0 and f % g == 0, f"{where}: groups {g} must divide {c} and {f}"
            assert layer.get("dilation", 1) == 1, f"{where}: no preset dilates"
            bias = layer.get("bias", True)
            shape = (f, _out(h, kh, sh, ph), _out(w, kw, sw, pw))
            params += f * (c // g * kh * kw + (1 if bias else 0))  # each filter sees C/G channels
            macs += f * c // g * kh * kw * shape[1] * shape[2]
        elif t in ("maxpool2d", "avgpool2d"):
            assert len(shape) == 3, f"{where}: pooling needs (C,H,W), got {shape}"
            c, h, w = shape
            kh, kw = _pair(layer["kernel_size"])
            sh, sw = _pair(layer.get("stride", layer["kernel_size"]))
            ph, pw = _pair(layer.get("padding", 0))
            assert ph <= kh // 2 and pw <= kw // 2, f"{where}: padding larger than half the kernel"
            shape = (c, _out(h, kh, sh, ph), _out(w, kw, sw, pw))
        elif t == "global_avgpool2d":
            assert len(shape) == 3, where
            shape = (shape[0], 1, 1)
        elif t == "flatten":
            n = 1
            for d in shape:
                n *= d
            shape = (n,)
        elif t == "linear":
            assert len(shape) == 1, f"{where}: linear needs a flat input, got {shape}"
            f = layer["out_features"]
            bias = layer.get("bias", True)
            params += f * (shape[0] + (1 if bias else 0))
            macs += f * shape[0]
            shape = (f,)
        elif t in ("relu", "leaky_relu", "sigmoid", "tanh", "softmax", "dropout"):
            pass
        elif t == "batchnorm2d":
            assert len(shape) == 3, f"{where}: batchnorm2d needs (C,H,W), got {shape}"
            params += 2 * shape[0]
        elif t == "batchnorm1d":
            assert len(shape) == 1, f"{where}: batchnorm1d needs (F,), got {shape}"
            params += 2 * shape[0]
        elif t == "residual":
            body_shape, p1, m1 = walk(layer["body"], shape, where + ".body")
            short_shape, p2, m2 = walk(layer.get("shortcut", []), shape, where + ".shortcut")
            assert body_shape == short_shape, f"{where}: body {body_shape} != shortcut {short_shape}"
            shape = body_shape
            params += p1 + p2
            macs += m1 + m2
        elif t == "concat":
            assert len(shape) == 3, where
            outs = []
            for j, branch in enumerate(layer["branches"]):
                s, p, m = walk(branch, shape, f"{where}.branches[{j}]")
                assert len(s) == 3, f"{where}: branch {j} output is not (C,H,W)"
                outs.append(s)
                params += p
                macs += m
            assert len({s[1:] for s in outs}) == 1, f"{where}: branch sizes differ {outs}"
            shape = (sum(s[0] for s in outs),) + outs[0][1:]
        else:
            raise AssertionError(f"{where}: unknown layer type {t!r}")
        assert all(d >= 1 for d in shape), f"{where}: output shape {shape}"
    return shape, params, macs


def analyse(spec):
    return walk(spec["layers"], tuple(spec["input"]))


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_parameter_counts(name):
    _, params, _ = analyse(PRESETS[name])
    assert params == EXPECTED_PARAMS[name]


@pytest.mark.parametrize("name", list(PRESETS))
def test_shapes_valid_and_classifier_output(name):
    spec = PRESETS[name]
    shape, _, _ = analyse(spec)
    n_classes = 1000 if name in FULL_SIZE + PAPER else 10
    assert shape == (n_classes,)


@pytest.mark.parametrize("name", FULL_SIZE)
def test_full_size_input(name):
    assert PRESETS[name]["input"] == [3, 224, 224]
    assert PRESET_INFO[name]["input"] is None
    assert PRESET_INFO[name]["trainable_on_cpu"] is False


def test_full_size_feature_map_sizes():
    # AlexNet's features end at 256x6x6 (so AdaptiveAvgPool(6) can be omitted).
    layers = PRESETS["alexnet"]["layers"]
    i = next(k for k, layer in enumerate(layers) if layer["type"] == "flatten")
    assert walk(layers[:i], (3, 224, 224))[0] == (256, 6, 6)
    # VGG16 features end at 512x7x7.
    layers = PRESETS["vgg16"]["layers"]
    i = next(k for k, layer in enumerate(layers) if layer["type"] == "flatten")
    assert walk(layers[:i], (3, 224, 224))[0] == (512, 7, 7)
    # GoogLeNet / ResNet-18: 1024x7x7 and 512x7x7 before global average pooling.
    for name, expected in (("googlenet", (1024, 7, 7)), ("resnet18", (512, 7, 7))):
        layers = PRESETS[name]["layers"]
        i = next(k for k, layer in enumerate(layers) if layer["type"] == "global_avgpool2d")
        assert walk(layers[:i], (3, 224, 224))[0] == expected, name


@pytest.mark.parametrize("name", SMALL)
def test_small_presets_are_small(name):
    spec = PRESETS[name]
    _, params, macs = analyse(spec)
    assert params <= 300_000
    assert macs <= 30_000_000  # multiply-adds per image, forward pass
    info = PRESET_INFO[name]
    assert info["trainable_on_cpu"] is True
    if name.endswith("_28"):
        assert spec["input"] == [1, 28, 28]
        assert info["input"] in ("strokes", "mnist")
    if name.endswith("_32"):
        assert spec["input"] == [3, 32, 32]
        assert info["input"] in ("shapes", "cifar10")


def test_expected_presets_exist():
    expected = {
        "lenet5",
        "tinyvgg",
        "resnet8",
        "alexnet",
        "alexnet_paper",
        "vgg16",
        "resnet18",
        "googlenet",
        *(f"{arch}_small_{size}" for arch in ("alexnet", "vgg", "resnet", "inception") for size in (28, 32)),
    }
    assert expected <= set(PRESETS)


def test_input_shapes():
    assert PRESETS["lenet5"]["input"] == [1, 28, 28]
    assert PRESETS["tinyvgg"]["input"] == [3, 64, 64]
    assert PRESETS["resnet8"]["input"] == [3, 32, 32]


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_info(name):
    info = PRESET_INFO[name]
    assert set(info) >= {"title", "description", "input", "trainable_on_cpu", "year"}
    assert isinstance(info["title"], str) and info["title"]
    assert isinstance(info["description"], str) and len(info["description"]) > 20
    assert info["input"] in ("strokes", "mnist", "shapes", "cifar10", None)
    assert isinstance(info["trainable_on_cpu"], bool)
    assert isinstance(info["year"], int) and 1980 <= info["year"] <= 2030


def test_info_and_presets_match():
    assert set(PRESET_INFO) == set(PRESETS)


def test_resnets_use_batchnorm_and_projection_shortcuts():
    for name in ("resnet8", "resnet18", "resnet_small_28", "resnet_small_32"):
        residuals = [layer for layer in PRESETS[name]["layers"] if layer["type"] == "residual"]
        assert residuals, name
        assert any(layer["type"] == "batchnorm2d" for r in residuals for layer in r["body"])
        projected = [r for r in residuals if r["shortcut"]]
        assert projected, name
        for r in projected:
            assert [layer["type"] for layer in r["shortcut"]] == ["conv2d", "batchnorm2d"]
            assert _pair(r["shortcut"][0]["kernel_size"]) == (1, 1)


def test_inception_presets_use_concat_with_four_branches():
    for name in ("googlenet", "inception_small_28", "inception_small_32"):
        modules = [layer for layer in PRESETS[name]["layers"] if layer["type"] == "concat"]
        assert modules, name
        for m in modules:
            assert len(m["branches"]) == 4
            kernels = {
                _pair(layer["kernel_size"]) for branch in m["branches"] for layer in branch if layer["type"] == "conv2d"
            }
            assert {(1, 1), (3, 3), (5, 5)} <= kernels


def test_presets_are_json_serializable():
    for name, spec in PRESETS.items():
        assert json.loads(json.dumps(spec)) == spec, name
        assert json.loads(json.dumps(PRESET_INFO[name])) == PRESET_INFO[name], name


def test_get_preset_returns_a_copy():
    a = get_preset("resnet8")
    assert a == PRESETS["resnet8"]
    before = copy.deepcopy(PRESETS["resnet8"])
    a["layers"][0]["out_channels"] = 999
    a["layers"].clear()
    assert PRESETS["resnet8"] == before
    with pytest.raises(KeyError):
        get_preset("no_such_preset")


def test_no_shared_sub_dicts():
    # Every layer dict is a distinct object, so mutating one layer of a deep
    # copy (or of a preset built by the helpers) never changes another.
    seen = set()

    def visit(obj):
        if isinstance(obj, dict):
            assert id(obj) not in seen
            seen.add(id(obj))
            for v in obj.values():
                visit(v)
        elif isinstance(obj, list):
            assert id(obj) not in seen
            seen.add(id(obj))
            for v in obj:
                visit(v)

    for spec in PRESETS.values():
        visit(spec)


@pytest.mark.parametrize("name", list(PRESETS))
def test_summarize_agrees_with_counts(name):
    import engine

    spec = copy.deepcopy(PRESETS[name])
    summary = engine.summarize(spec)
    assert summary["totals"]["params"] == analyse(PRESETS[name])[1]


# ---------------------------------------------------------------------------
# The notes: how the famous presets differ from their papers and the lecture
# ---------------------------------------------------------------------------


def _rows(name):
    import engine

    return {r["name"]: r for r in engine.summarize(PRESETS[name])["layers"] if r["name"]}


def _total(spec):
    import engine

    return engine.summarize(spec)["totals"]["params"]


def test_alexnet_paper_has_the_papers_count_by_hand():
    """The 2012 paper's layers, counted by hand: (filters, channels each filter sees, kernel).
    conv2, conv4 and conv5 see half the channels (their GPU's half); conv3 sees all 256."""
    convs = [(96, 3, 11), (256, 96 // 2, 5), (384, 256, 3), (384, 384 // 2, 3), (256, 384 // 2, 3)]
    fcs = [(256 * 6 * 6, 4096), (4096, 4096), (4096, 1000)]
    by_hand = sum(f * (c * k * k + 1) for f, c, k in convs) + sum(o * (i + 1) for i, o in fcs)
    assert by_hand == 60_965_224
    assert _total(PRESETS["alexnet_paper"]) == by_hand == analyse(PRESETS["alexnet_paper"])[1]
    assert f"{by_hand:,}" in PRESET_INFO["alexnet_paper"]["note"]
    assert f"{by_hand:,}" in PRESET_INFO["alexnet"]["note"]
    note = PRESET_INFO["alexnet_paper"]["note"]
    assert "local response normalization is left out" in note.lower()
    rows = _rows("alexnet_paper")
    assert PRESETS["alexnet_paper"]["input"] == [3, 227, 227]
    names = ("conv1", "pool1", "conv2", "pool2", "conv3", "conv5", "pool5")
    sizes = {n: rows[n]["output_shape"] for n in names}
    assert sizes == {
        "conv1": [96, 55, 55],
        "pool1": [96, 27, 27],
        "conv2": [256, 27, 27],
        "pool2": [256, 13, 13],
        "conv3": [384, 13, 13],
        "conv5": [256, 13, 13],
        "pool5": [256, 6, 6],
    }
    groups = {
        n: layer.get("groups", 1)
        for layer in PRESETS["alexnet_paper"]["layers"]
        for n in [layer.get("name")]
        if n and n.startswith("conv")
    }
    assert groups == {"conv1": 1, "conv2": 2, "conv3": 1, "conv4": 2, "conv5": 2}


def test_lenet5_note_accounts_for_the_papers_60000():
    rows = _rows("lenet5")
    assert _total(PRESETS["lenet5"]) == 61_706
    assert rows["conv2"]["params"] == 2_416 and rows["fc3"]["params"] == 850
    # the paper (LeCun et al. 1998, section II.B): C1 156, S2 12, C3 1,516, S4 32, C5 48,120,
    # F6 10,164; the RBF output's parameters are fixed by hand, not trained
    paper = {
        "C1": 6 * (5 * 5 + 1),
        "S2": 6 * 2,
        "C3": 1_516,
        "S4": 16 * 2,
        "C5": 120 * (16 * 5 * 5 + 1),
        "F6": 84 * (120 + 1),
    }
    assert sum(paper.values()) == 60_000
    subsampling = paper["S2"] + paper["S4"]
    assert subsampling == 44
    here = 61_706
    differences = -rows["conv2"]["params"] + paper["C3"] + subsampling - rows["fc3"]["params"]
    assert here + differences == 60_000
    note = PRESET_INFO["lenet5"]["note"]
    for number in ("1,516", "2,416", "44 weights", "850", "61,706", "60,000", "60 000"):
        assert number in note


def test_vgg16_note():
    rows = _rows("vgg16")
    assert _total(PRESETS["vgg16"]) == 138_357_544 and rows["fc6"]["params"] == 102_764_544
    note = PRESET_INFO["vgg16"]["note"]
    assert "138,357,544" in note and "102,764,544" in note and "140M" in note


def test_googlenet_note():
    """The auxiliary classifiers as the paper describes them: 5x5 average pooling with stride 3,
    a 1x1 convolution of 128 filters, a fully connected layer of 1024, dropout 0.7, and 1000
    outputs; on inception4a (512 channels) and inception4d (528), both at 14x14."""

    def aux(channels):
        return {
            "input": [channels, 14, 14],
            "layers": [
                {"type": "avgpool2d", "kernel_size": 5, "stride": 3},
                {"type": "conv2d", "out_channels": 128, "kernel_size": 1},
                {"type": "relu"},
                {"type": "flatten"},
                {"type": "linear", "out_features": 1024},
                {"type": "relu"},
                {"type": "dropout", "p": 0.7},
                {"type": "linear", "out_features": 1000},
            ],
        }

    import engine

    shapes = {r["name"]: r["output_shape"] for r in engine.summarize(PRESETS["googlenet"])["layers"] if r["name"]}
    assert shapes["inception4a"] == [512, 14, 14] and shapes["inception4d"] == [528, 14, 14]
    extra = _total(aux(512)) + _total(aux(528))
    assert extra == 6_379_728
    note = PRESET_INFO["googlenet"]["note"]
    assert f"{_total(PRESETS['googlenet']):,}" in note and f"{extra:,}" in note
    assert "BN-Inception" in note and "Inception-ResNet" in note


def test_alexnet_note_describes_the_preset():
    filters = [layer["out_channels"] for layer in PRESETS["alexnet"]["layers"] if layer["type"] == "conv2d"]
    assert filters == [64, 192, 384, 256, 256]
    assert "64, 192, 384, 256 and 256 filters" in PRESET_INFO["alexnet"]["note"]
    assert f"{_total(PRESETS['alexnet']):,}" in PRESET_INFO["alexnet"]["note"]


def test_every_number_in_a_note_is_checked():
    """Numbers with thousands separators in the notes are the ones the tests above verify."""
    import re

    checked = {
        "60,965,224",
        "61,100,840",
        "61,706",
        "60,000",
        "1,516",
        "2,416",
        "138,357,544",
        "102,764,544",
        "6,998,552",
        "6,379,728",
    }
    for name, info in PRESET_INFO.items():
        for number in re.findall(r"\d{1,3}(?:,\d{3})+", info["note"] or ""):
            assert number in checked, (name, number)
