"""Convolutions beyond the lecture's: groups (depthwise when groups = in_channels), dilation and
"same" padding of even kernels, each against the plain-loop references of reference.py, forward
and backward, in chunks and threads."""

import numpy as np
import pytest

import engine
from engine import kernels, parallel
from engine.layers.conv import Conv2D
from engine.layers.fields import parse_config

from . import reference as R


def make(cls, in_shape, **cfg):
    return cls(in_shape, "layers[0]", parse_config(cls, {"type": cls.type, **cfg}, "layers[0]"))


def fields(**cfg):
    return cfg


@pytest.fixture(params=[(1, True), (3, True), (3, False)],
                ids=["1thread", "3threads", "3threads-rebuilt"])
def chunked(request, monkeypatch):
    """Chunks of one image, in one thread or shared among three, with the forward's columns
    kept for backward or built again."""
    n_threads, keep = request.param
    before = parallel.get_threads()
    parallel.set_threads(n_threads)
    monkeypatch.setattr(kernels, "CHUNK_BYTES", 1)
    monkeypatch.setattr(kernels, "KEEP_BYTES", 10**9 if keep else 0)
    yield
    parallel.set_threads(before)


CONVS = [  # (in_shape, fields)
    ((4, 7, 6), fields(out_channels=6, kernel_size=3, groups=2)),
    ((4, 9, 8), fields(out_channels=4, kernel_size=3, groups=4, padding=1)),  # depthwise
    ((4, 9, 8), fields(out_channels=8, kernel_size=3, groups=4, stride=2, padding=1)),  # two each
    ((3, 10, 9), fields(out_channels=2, kernel_size=3, dilation=2)),
    ((3, 10, 11), fields(out_channels=3, kernel_size=[3, 2], dilation=[2, 3], stride=[2, 1],
                         padding=[1, 2])),
    ((6, 9, 9), fields(out_channels=9, kernel_size=2, dilation=3, groups=3, stride=3)),
    ((2, 7, 6), fields(out_channels=3, kernel_size=4, padding="same")),
    ((2, 7, 6), fields(out_channels=3, kernel_size=[2, 3], dilation=[1, 2], padding="same")),
    ((4, 6, 7), fields(out_channels=4, kernel_size=2, dilation=3, padding="same", groups=2)),
]


def _same_pads(k, d):
    """PyTorch's "same": d(K - 1) zeros in all, the one more (when odd) at the far side."""
    totals = [dd * (kk - 1) for kk, dd in zip(k, d)]
    return tuple((t // 2, t - t // 2) for t in totals)


@pytest.mark.parametrize("in_shape,cfg", CONVS, ids=[str(c) for _, c in CONVS])
def test_conv2d_options_match_plain_loops(in_shape, cfg, chunked):
    rng = np.random.default_rng(len(in_shape) + in_shape[1])
    layer = make(Conv2D, in_shape, **cfg)
    layer.init_params(rng, np.float64)
    W, b = layer.params["W"], rng.standard_normal(layer.f)
    layer.params["b"] = b
    pads = _same_pads(layer.k, layer.d) if cfg.get("padding") == "same" else layer.pads
    assert layer.pads == pads
    args = {"stride": layer.s, "padding": pads, "dilation": layer.d, "groups": layer.g}
    x = rng.standard_normal((3, *in_shape))
    for _ in range(2):  # the second step reuses the work arrays
        y = layer.forward(x, train=True)
        assert y.shape[1:] == layer.out_shape
        np.testing.assert_allclose(y, R.conv2d(x, W, b, **args), atol=1e-12)
        dy = rng.standard_normal(y.shape)
        dx = layer.backward(dy)
        rdx, rdW, rdb = R.conv2d_backward(x, W, dy, **args)
        np.testing.assert_allclose(dx, rdx, atol=1e-12)
        np.testing.assert_allclose(layer.grads["W"], rdW, atol=1e-12)
        np.testing.assert_allclose(layer.grads["b"], rdb, atol=1e-12)


def test_depthwise_is_one_convolution_per_channel():
    rng = np.random.default_rng(0)
    layer = make(Conv2D, (3, 6, 6), out_channels=3, kernel_size=3, groups=3, bias=False)
    layer.init_params(rng, np.float64)
    W = layer.params["W"]
    assert W.shape == (3, 1, 3, 3)
    x = rng.standard_normal((2, 3, 6, 6))
    y = layer.forward(x)
    for c in range(3):
        np.testing.assert_allclose(y[:, c:c + 1], R.conv2d(x[:, c:c + 1], W[c:c + 1]), atol=1e-12)


def test_summary_formulas_divide_by_groups():
    s = engine.summarize({"input": [64, 8, 8], "layers": [
        {"type": "conv2d", "out_channels": 64, "kernel_size": 3, "padding": 1, "groups": 64},
        {"type": "conv2d", "out_channels": 128, "kernel_size": 3, "padding": 2, "dilation": 2,
         "groups": 4}]})
    rows = s["layers"]
    assert rows[0]["param_formula"] == "64 x (3x3x(64/64) + 1) = 640"
    assert rows[0]["macs"] == 64 * 8 * 8 * 3 * 3
    assert rows[1]["param_formula"] == "128 x (3x3x(64/4) + 1) = 18,560"
    assert rows[1]["formulas"] == ["(8 + 2*2 - 2*(3 - 1) - 1)/1 + 1 = 8"]
    assert rows[1]["macs"] == 128 * 8 * 8 * 16 * 3 * 3


def test_dilation_widens_the_receptive_field():
    """Three 3x3 convolutions dilated 1, 2, 4 see 15x15 inputs; undilated, 7x7."""
    layers = [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "dilation": d, "padding": d}
              for d in (1, 2, 4)]
    s = engine.summarize({"input": [1, 16, 16], "layers": layers})
    assert [r["receptive_field"] for r in s["layers"]] == [[3, 3], [7, 7], [15, 15]]
    undilated = [{**x, "dilation": 1, "padding": 1} for x in layers]
    plain = engine.summarize({"input": [1, 16, 16], "layers": undilated})
    assert plain["layers"][-1]["receptive_field"] == [7, 7]
