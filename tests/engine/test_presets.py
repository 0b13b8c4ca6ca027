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
SMALL = [name for name in PRESETS if name not in FULL_SIZE]


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
            bias = layer.get("bias", True)
            shape = (f, _out(h, kh, sh, ph), _out(w, kw, sw, pw))
            params += f * (c * kh * kw + (1 if bias else 0))
            macs += f * c * kh * kw * shape[1] * shape[2]
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
    n_classes = 1000 if name in FULL_SIZE else 10
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
        "lenet5", "tinyvgg", "resnet8", "alexnet", "vgg16", "resnet18", "googlenet",
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
                _pair(layer["kernel_size"])
                for branch in m["branches"] for layer in branch if layer["type"] == "conv2d"
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
