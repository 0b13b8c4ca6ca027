"""A fresh network's first loss is about ln(classes): its output layer starts small.

The lecture's sanity check: before any training every class should be about equally likely,
so the cross-entropy of the first batch is ln(K). A network that starts far above it is
confidently wrong, and its first steps only undo that.
"""

import math

import numpy as np
import pytest

import engine
from engine import network
from engine.data import load_dataset
from engine.presets import adapt
from engine.train import TrainConfig, Trainer


@pytest.fixture(scope="module")
def datasets():
    return {name: load_dataset(name, n=256, seed=0) for name in ("strokes", "shapes")}


def fitting(name: str) -> list[str]:
    shape = {"strokes": [1, 28, 28], "shapes": [3, 32, 32]}[name]
    return [p for p, spec in engine.PRESETS.items() if list(spec["input"]) == shape]


CASES = [(d, p) for d in ("strokes", "shapes") for p in fitting(d)]


@pytest.mark.parametrize(("dataset", "preset"), CASES, ids=[f"{p}-{d}" for d, p in CASES])
def test_the_first_loss_of_a_fresh_preset_is_about_ln_classes(datasets, dataset, preset):
    ds = datasets[dataset]
    spec = adapt(engine.PRESETS[preset], ds.shape, ds.num_classes)
    for seed in (0, 1):
        trainer = Trainer(engine.build_network(spec, seed=seed), ds, TrainConfig(seed=seed, max_train=128))
        first = next(e for e in trainer.events() if e["type"] == "batch")
        assert first["loss"] == pytest.approx(math.log(ds.num_classes), abs=0.1), (preset, seed)


def test_the_presets_fitting_strokes_and_shapes_are_all_checked():
    assert {"lenet5", "cnn_small_32", "resnet8"} <= {p for _, p in CASES} and len(CASES) >= 10


def test_only_the_output_layer_starts_small_and_the_others_keep_their_init():
    small = engine.build_network(engine.PRESETS["lenet5"], seed=3).state_dict()
    spec = engine.PRESETS["lenet5"] | {
        "layers": [
            *engine.PRESETS["lenet5"]["layers"][:-1],
            {"type": "linear", "out_features": 10, "init": "he_normal"},
        ]
    }
    as_drawn = engine.build_network(spec, seed=3).state_dict()
    last = "layers[11]"
    assert engine.build_network(engine.PRESETS["lenet5"]).output_layer().path == last
    for key in small:
        if key == f"{last}.W":
            np.testing.assert_allclose(small[key], as_drawn[key] * network.OUTPUT_GAIN, rtol=1e-6)
        else:  # the same draws from the same stream: every other layer is as its init says
            np.testing.assert_array_equal(small[key], as_drawn[key])
    assert not small[f"{last}.b"].any()


def test_an_output_layer_with_an_init_of_its_own_keeps_it():
    spec = {
        "input": [8],
        "layers": [{"type": "linear", "out_features": 500, "init": "normal", "std": 1.0}],
    }
    W = engine.build_network(spec).state_dict()["layers[0].W"]
    assert W.std() == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize(
    ("tail", "small"),
    [
        ([{"type": "flatten"}, {"type": "linear", "out_features": 10}, {"type": "softmax"}], True),
        (
            [
                {"type": "conv2d", "out_channels": 10, "kernel_size": 1},
                {"type": "global_avgpool2d"},
                {"type": "flatten"},
            ],
            True,
        ),
        ([{"type": "flatten"}, {"type": "linear", "out_features": 10}, {"type": "relu"}], False),
    ],
)
def test_the_output_layer_is_the_last_one_with_weights_before_the_loss(tail, small):
    spec = {
        "input": [3, 8, 8],
        "layers": [{"type": "conv2d", "out_channels": 16, "kernel_size": 3}, *tail],
    }
    net = engine.build_network(spec)
    assert (net.output_layer() is not None) == small
    x = np.random.default_rng(0).standard_normal((64, 3, 8, 8)).astype(np.float32)
    spread = net.logits(x).std()
    assert (spread < 0.05) == small, spread
