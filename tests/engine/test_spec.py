"""Spec validation: every kind of impossible spec names its layer path and says why."""

import numpy as np
import pytest

import engine


def errors_of(spec):
    with pytest.raises(engine.SpecErrors) as info:
        engine.summarize(spec)
    return info.value.errors


def one_error(spec):
    errs = errors_of(spec)
    return errs[0]


def conv(**kw):
    return {"type": "conv2d", "out_channels": 4, "kernel_size": 3, **kw}


def test_non_integer_output_size_is_floored_with_a_warning_showing_the_formula():
    s = engine.summarize({"input": [3, 32, 32], "layers": [conv(out_channels=20, kernel_size=5, padding=1, stride=2)]})
    assert s["layers"][0]["output_shape"] == [20, 15, 15]
    assert s["warnings"][0].startswith(
        "layers[0]: (32 + 2*1 - 5)/2 + 1 = 15.5 is not an integer, so the output size is 15"
    )
    assert s["layers"][0]["param_formula"] == "20 x (5x5x3 + 1) = 1,520"
    assert s["layers"][0]["formulas"] == ["(32 + 2*1 - 5)/2 + 1 = 15.5"]


def test_output_below_one_names_the_layer():
    e = one_error(
        {"input": [1, 8, 8], "layers": [conv(), {"type": "maxpool2d", "kernel_size": 2}, conv(kernel_size=5)]}
    )
    assert e.path == "layers[2]" and e.field == "kernel_size"
    assert "larger than the padded input height 3" in e.message


def test_residual_channel_mismatch():
    spec = {
        "input": [3, 8, 8],
        "layers": [
            conv(),
            {"type": "relu"},
            {"type": "relu"},
            {"type": "relu"},
            {"type": "residual", "body": [conv(out_channels=8, padding=1)]},
        ],
    }
    e = one_error(spec)
    assert e.path == "layers[4]"
    assert "channel mismatch in a residual sum: body gives 8 channels, shortcut gives 4" in e.message


def test_nested_path_inside_a_residual_body():
    spec = {
        "input": [3, 8, 8],
        "layers": [{"type": "residual", "body": [conv(padding=1), {"type": "linear", "out_features": 3}]}],
    }
    e = one_error(spec)
    assert e.path == "layers[0].body[1]"
    assert "add a flatten layer" in e.message


def test_concat_spatial_mismatch():
    spec = {"input": [3, 8, 8], "layers": [{"type": "concat", "branches": [[conv(padding=1)], [conv()]]}]}
    e = one_error(spec)
    assert e.path == "layers[0]" and "spatial mismatch in a concat" in e.message and "8x8" in e.message


def test_linear_on_a_map_without_flatten():
    e = one_error({"input": [1, 4, 4], "layers": [{"type": "linear", "out_features": 2}]})
    assert e.path == "layers[0]" and "(1, 4, 4)" in e.message and "flatten" in e.message


@pytest.mark.parametrize(
    "layer,field,words",
    [
        ({"type": "conv3d"}, "type", "unknown layer type 'conv3d'"),
        (
            {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding_mode": "reflect"},
            "padding_mode",
            "unknown field 'padding_mode'",
        ),
        ({"type": "conv2d", "kernel_size": 3}, "out_channels", "needs 'out_channels'"),
        ({"type": "conv2d", "out_channels": -4, "kernel_size": 3}, "out_channels", "at least 1"),
        ({"type": "conv2d", "out_channels": True, "kernel_size": 3}, "out_channels", "expected an integer, got true"),
        ({"type": "conv2d", "out_channels": "8", "kernel_size": 3}, "out_channels", "expected an integer"),
        ({"type": "conv2d", "out_channels": 2.5, "kernel_size": 3}, "out_channels", "expected an integer, got 2.5"),
        ({"type": "conv2d", "out_channels": 2, "kernel_size": [3, 3, 3]}, "kernel_size", "a pair"),
        (
            {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "stride": 2, "padding": "same"},
            "padding",
            'padding "same" needs stride 1',
        ),
        (
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "groups": 4},
            "groups",
            "groups 4 does not divide in_channels 3",
        ),
        (
            {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "groups": 3},
            "groups",
            "groups 3 does not divide out_channels 4",
        ),
        (
            {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "dilation": 4},
            "kernel_size",
            "the dilated kernel spans 4*(3 - 1) + 1 = 9 inputs, more than the padded input height 8",
        ),
        ({"type": "conv2d", "out_channels": 2, "kernel_size": 3, "dilation": 0}, "dilation", "at least 1"),
        ({"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": "full"}, "padding", '"same" or "valid"'),
        ({"type": "conv2d", "out_channels": 2, "kernel_size": 3, "init": "glorot"}, "init", "expected one of"),
        ({"type": "dropout", "p": 1.0}, "p", "must be below 1"),
        ({"type": "dropout", "p": float("nan")}, "p", "finite"),
        ({"type": "maxpool2d", "kernel_size": 2, "padding": 2}, "padding", "more than half"),
        ({"type": "batchnorm1d"}, None, "use batchnorm2d"),
        ({"type": "relu", "trainable": "no"}, "trainable", "true or false"),
    ],
)
def test_bad_fields_are_named(layer, field, words):
    e = one_error({"input": [3, 8, 8], "layers": [layer]})
    assert e.path == "layers[0]" and e.field == field and words in e.message, str(e)


@pytest.mark.parametrize(
    "value,path,words",
    [
        ([False, 0, 0], "input[0]", "positive integer"),
        ([3, 0, 8], "input[1]", "at least 1"),
        ([3, 8], "input", "[channels, height, width]"),
        ("3x8x8", "input", "[channels, height, width]"),
        ([3, 8, 10**9], "input[2]", "at most"),
    ],
)
def test_bad_input_shapes(value, path, words):
    e = one_error({"input": value, "layers": []})
    assert e.path == path and words in e.message


def test_several_mistakes_are_all_reported():
    errs = errors_of(
        {
            "input": [1, 8, 8],
            "layers": [
                {"type": "linear", "out_features": 3},
                {"type": "relu"},
                {"type": "conv2d", "kernel_size": 3},
                {"type": "residual", "body": [{"type": "nope"}]},
            ],
        }
    )
    assert [(e.path, e.field) for e in errs] == [
        ("layers[0]", None),
        ("layers[2]", "out_channels"),
        ("layers[3].body[0]", "type"),
    ]


def test_unknown_top_level_field_and_missing_layers():
    errs = errors_of({"input": [1, 8, 8], "layer": []})
    assert {e.path for e in errs} == {"layer", "layers"}


def test_deep_nesting_and_too_many_layers_are_refused():
    spec = {"type": "relu"}
    for _ in range(100):
        spec = {"type": "residual", "body": [spec]}
    e = one_error({"input": [1, 4, 4], "layers": [spec]})
    assert "nested more than" in e.message
    errs = errors_of({"input": [1, 4, 4], "layers": [{"type": "relu"}] * 10_000})
    assert "at most" in errs[0].message


def test_summary_of_vgg16_is_instant_and_allocates_nothing():
    import time
    import tracemalloc

    tracemalloc.start()
    t = time.perf_counter()
    s = engine.summarize(engine.PRESETS["vgg16"])
    elapsed = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert s["totals"]["params"] == 138_357_544
    assert peak < 5_000_000, peak  # the weights alone would be 553 MB
    assert elapsed < 5  # generous: it is milliseconds, not a timing target


def test_summary_columns():
    s = engine.summarize(engine.PRESETS["lenet5"])
    first = s["layers"][0]
    assert first["output_shape"] == [6, 28, 28]
    assert first["params"] == 6 * (5 * 5 * 1 + 1)
    assert first["param_formula"] == "6 x (5x5x1 + 1) = 156"
    assert first["macs"] == 6 * 28 * 28 * 25
    assert first["receptive_field"] == [5, 5]
    assert first["activation_bytes"] == 6 * 28 * 28 * 4
    assert s["layers"][3]["receptive_field"] == [14, 14]  # conv 5, pool 2, conv 5: 5 + 1*1 + 4*2
    assert s["totals"]["params"] == 61_706 and s["totals"]["macs"] == sum(r["macs"] for r in s["layers"])
    assert s["output"] == [10]


def test_frozen_layers_are_counted_apart():
    spec = {
        "input": [1, 8, 8],
        "layers": [conv(trainable=False), {"type": "flatten"}, {"type": "linear", "out_features": 2}],
    }
    t = engine.summarize(spec)["totals"]
    assert t["params_frozen"] == 4 * (9 + 1) and t["params_trainable"] == 2 * (144 + 1)


def test_frozen_layers_are_not_updated():
    spec = {
        "input": [1, 8, 8],
        "layers": [conv(trainable=False), {"type": "flatten"}, {"type": "linear", "out_features": 2}],
    }
    net = engine.build_network(spec)
    before = {k: v.copy() for k, v in net.state_dict().items()}
    opt = engine.make_optimizer("sgd", net.parameters(), lr=0.1)
    x = np.random.default_rng(0).standard_normal((4, 1, 8, 8))
    net.loss_and_backward(x, np.array([0, 1, 0, 1]))
    opt.step()
    after = net.state_dict()
    assert np.array_equal(before["layers[0].W"], after["layers[0].W"])
    assert not np.array_equal(before["layers[2].W"], after["layers[2].W"])


def test_catalogue_lists_every_type_with_fields():
    cat = {c["type"]: c for c in engine.catalogue()}
    assert set(cat) == set(engine.REGISTRY)
    conv_fields = {f["name"]: f for f in cat["conv2d"]["fields"]}
    assert conv_fields["out_channels"]["required"] and conv_fields["out_channels"]["min"] == 1
    assert conv_fields["stride"]["default"] == 1
    assert "he_normal" in conv_fields["init"]["choices"]


def test_a_receptive_field_wider_than_the_image_says_why():
    rows = {r["path"]: r for r in engine.summarize(engine.PRESETS["lenet5"])["layers"]}
    flatten = rows["layers[6]"]  # LeNet-5's 16x5x5 maps, 4 input pixels apart: 16 + 4*4 = 32 on a 28x28 input
    assert flatten["receptive_field"] == [32, 32]
    assert (
        "wider than the 28x28 input" in flatten["receptive_field_note"] and "padding" in flatten["receptive_field_note"]
    )
    assert rows["layers[0]"]["receptive_field"] == [5, 5] and rows["layers[0]"]["receptive_field_note"] is None


def test_walk_specs_reaches_every_layer_spec_with_the_built_layers_path():
    """One walker for the spec tree, read from each class's fields: the same paths, in the same
    order, as the built network's layers."""
    for name in ("resnet8", "inception_small_28"):
        spec = engine.PRESETS[name]
        walked = [path for path, _ in engine.walk_specs(spec["layers"])]
        assert walked == [layer.path for layer in engine.build_network(spec).layers()]
