"""Gradients with respect to the input: a unit's (feature visualization) and the loss's (FGSM),
each against central differences in float64, through a residual block."""

import numpy as np
import pytest

import engine
from engine.visualize import gaussian_blur, unit_gradient

SPEC = {
    "input": [1, 8, 8],
    "layers": [
        {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1, "name": "stem"},
        {"type": "tanh"},
        {
            "type": "residual",
            "name": "block",
            "body": [
                {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1, "name": "inner"},
                {"type": "tanh"},
                {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1},
            ],
        },
        {"type": "avgpool2d", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "linear", "out_features": 4, "name": "out"},
    ],
}


@pytest.fixture(scope="module")
def net():
    return engine.build_network(SPEC, seed=3).astype(np.float64)


def numeric(f, x, h=1e-6):
    g = np.zeros_like(x)
    flat, out = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        up = f(x)
        flat[i] = old - h
        down = f(x)
        flat[i] = old
        out[i] = (up - down) / (2 * h)
    return g


def test_layers_to_a_layer_inside_a_block_are_those_it_reads_from(net):
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8))
    maps = net.feature_maps(x)
    for path in ("layers[0]", "layers[2].body[1]", "layers[2]", "layers[5]"):
        y = x
        for layer in engine.layers_to(net, path):
            y = layer.forward(y, False, False)
        np.testing.assert_allclose(y, maps[path], atol=1e-12)
    assert [l.path for l in engine.layers_to(net, "layers[2].body[0]")] == [
        "layers[0]",
        "layers[1]",
        "layers[2].body[0]",
    ]
    with pytest.raises(KeyError):
        engine.layers_to(net, "layers[9]")


@pytest.mark.parametrize(
    "path, centre",
    [("layers[2].body[0]", True), ("layers[2].body[0]", False), ("layers[2]", True), ("layers[5]", False)],
)
def test_a_units_gradient_matches_central_differences(net, path, centre):
    layers = engine.layers_to(net, path)
    x = np.random.default_rng(1).standard_normal((2, 1, 8, 8))
    units = np.array([2, 1])
    value, g = unit_gradient(layers, x, units, centre)
    for n in range(2):

        def f(xn, n=n):
            return unit_gradient(layers, xn[None], units[n : n + 1], centre)[0][0]

        np.testing.assert_allclose(g[n], numeric(f, x[n].copy()), rtol=1e-5, atol=1e-8)
        assert value[n] == pytest.approx(f(x[n]))


def test_the_loss_gradient_is_each_images_own_and_fgsm_steps_along_its_sign(net):
    x = np.random.default_rng(2).standard_normal((3, 1, 8, 8))
    y = np.array([0, 3, 1])
    loss, g = engine.loss_gradient(net, x, y)
    for n in range(3):

        def f(xn, n=n):
            return engine.loss_gradient(net, xn[None], y[n : n + 1])[0][0]

        np.testing.assert_allclose(g[n], numeric(f, x[n].copy()), rtol=1e-5, atol=1e-9)
    adv, step = engine.fgsm(net, x, y, 0.1, -10, 10)
    np.testing.assert_array_equal(step, np.sign(g))
    np.testing.assert_allclose(adv - x, 0.1 * np.sign(g))
    assert (engine.loss_gradient(net, adv, y)[0] > loss).all()
    toward, _ = engine.fgsm(net, x, y, 0.1, -10, 10, targeted=True)
    assert (engine.loss_gradient(net, toward, y)[0] < loss).all()
    clipped, _ = engine.fgsm(net, x, y, 5.0, -0.5, 0.5)
    assert clipped.min() >= -0.5 and clipped.max() <= 0.5


def test_ascent_raises_the_unit_and_repeats_with_its_seed(net):
    x0 = np.zeros((3, 1, 8, 8))
    run = [
        engine.ascend(
            net,
            "layers[2]",
            [0, 1, 2],
            x0,
            steps=20,
            lr=0.1,
            jitter=1,
            blur=0.5,
            l2=0.01,
            lo=-2,
            hi=2,
            rng=np.random.default_rng(seed),
            centre=True,
        )
        for seed in (7, 7, 8)
    ]
    assert run[0]["history"].shape == (20, 3) and run[0]["steps"] == 20
    assert (run[0]["final"] > run[0]["history"][0]).all()
    np.testing.assert_array_equal(run[0]["images"], run[1]["images"])
    assert not np.array_equal(run[0]["images"], run[2]["images"])
    assert run[0]["images"].min() >= -2 and run[0]["images"].max() <= 2


def test_ascent_stops_after_a_whole_step_past_its_deadline(net):
    out = engine.ascend(
        net,
        "layers[5]",
        [1],
        np.zeros((1, 1, 8, 8)),
        steps=50,
        lr=0.1,
        jitter=0,
        blur=0,
        l2=0,
        lo=-2,
        hi=2,
        rng=np.random.default_rng(0),
        deadline=0.0,
    )
    assert out["steps"] == 1 and out["history"].shape == (1, 1)


def test_blur_keeps_the_mean_of_a_plane_and_smooths_it():
    x = np.zeros((1, 1, 9, 9))
    x[0, 0, 4, 4] = 1.0
    b = gaussian_blur(x, 1.0)
    assert b.sum() == pytest.approx(1.0) and b[0, 0, 4, 4] < 0.2
    assert b[0, 0, 4, 3] == pytest.approx(b[0, 0, 3, 4]) and b[0, 0, 4, 3] > b[0, 0, 4, 2]
    assert gaussian_blur(x, 0) is x


def test_ascent_shakes_an_image_whose_unit_is_dead_until_it_climbs():
    # every unit of the first layer is closed on a flat start: its bias is far below zero
    spec = {
        "input": [1, 8, 8],
        "layers": [
            {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
            {"type": "relu"},
            {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
        ],
    }
    net = engine.build_network(spec, seed=0).astype(np.float64)
    net.layer("layers[0]").params["b"][...] = -1.0
    net.layer("layers[2]").params["W"][...] = np.abs(net.layer("layers[2]").params["W"])
    x0 = np.zeros((2, 1, 8, 8))
    out = engine.ascend(
        net,
        "layers[2]",
        [0, 1],
        x0,
        steps=30,
        lr=0.1,
        jitter=0,
        blur=0.5,
        l2=0.01,
        lo=-3,
        hi=3,
        rng=np.random.default_rng(0),
    )
    assert (out["history"][0] == 0).all()  # dead at the start
    assert (out["final"] > 0).all()
