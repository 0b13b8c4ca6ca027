"""Convolutions beyond the lecture's: groups (depthwise when groups = in_channels), dilation,
"same" padding of even kernels, and the transposed convolution, each against the plain-loop
references of reference.py, forward and backward, in chunks and threads."""

import numpy as np
import pytest

import engine
from engine import kernels, parallel
from engine.fast.conv import FastConv2D
from engine.fast.conv_transpose import FastConvTranspose2D
from engine.layers.conv import Conv2D
from engine.layers.conv_transpose import ConvTranspose2D
from engine.layers.fields import parse_config

from . import reference as R


def make(cls, in_shape, **cfg):
    return cls(in_shape, "layers[0]", parse_config(cls, {"type": cls.type, **cfg}, "layers[0]"))


def fields(**cfg):
    return cfg


@pytest.fixture(params=[(1, True), (3, True), (3, False)], ids=["1thread", "3threads", "3threads-rebuilt"])
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
    ((3, 10, 11), fields(out_channels=3, kernel_size=[3, 2], dilation=[2, 3], stride=[2, 1], padding=[1, 2])),
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
    quick = FastConv2D(layer)
    # the layer as written, and its fast step twice (the second time reuses the work arrays)
    for step in (layer, quick, quick):
        y = step.forward(x, train=True)
        assert y.shape[1:] == layer.out_shape
        np.testing.assert_allclose(y, R.conv2d(x, W, b, **args), atol=1e-12)
        dy = rng.standard_normal(y.shape)
        dx = step.backward(dy)
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
        np.testing.assert_allclose(y[:, c : c + 1], R.conv2d(x[:, c : c + 1], W[c : c + 1]), atol=1e-12)


TRANSPOSED = [  # (in_shape, fields)
    ((3, 4, 5), fields(out_channels=2, kernel_size=3)),
    ((2, 3, 4), fields(out_channels=3, kernel_size=[3, 2], stride=2, padding=1, output_padding=1)),
    ((4, 3, 3), fields(out_channels=6, kernel_size=2, stride=[2, 3], groups=2)),
    ((2, 4, 3), fields(out_channels=2, kernel_size=3, dilation=2, output_padding=1, padding=[2, 1])),
    ((4, 3, 4), fields(out_channels=4, kernel_size=3, groups=4, stride=2, dilation=[1, 2], padding=1)),
    ((2, 5, 4), fields(out_channels=2, kernel_size=4, stride=2, padding=1)),  # the usual 2x
]


@pytest.mark.parametrize("in_shape,cfg", TRANSPOSED, ids=[str(c) for _, c in TRANSPOSED])
def test_conv_transpose2d_matches_plain_loops(in_shape, cfg, chunked):
    rng = np.random.default_rng(in_shape[1] * 7 + in_shape[2])
    layer = make(ConvTranspose2D, in_shape, **cfg)
    layer.init_params(rng, np.float64)
    W, b = layer.params["W"], rng.standard_normal(layer.f)
    layer.params["b"] = b
    args = {"stride": layer.s, "padding": layer.p, "dilation": layer.d, "groups": layer.g}
    x = rng.standard_normal((3, *in_shape))
    quick = FastConvTranspose2D(layer)
    # the layer as written, and its fast step twice (the second time reuses the work arrays)
    for step in (layer, quick, quick):
        y = step.forward(x, train=True)
        assert y.shape[1:] == layer.out_shape
        np.testing.assert_allclose(y, R.conv_transpose2d(x, W, b, output_padding=layer.op, **args), atol=1e-12)
        dy = rng.standard_normal(y.shape)
        dx = step.backward(dy)
        rdx, rdW, rdb = R.conv_transpose2d_backward(x, W, dy, **args)
        np.testing.assert_allclose(dx, rdx, atol=1e-12)
        np.testing.assert_allclose(layer.grads["W"], rdW, atol=1e-12)
        np.testing.assert_allclose(layer.grads["b"], rdb, atol=1e-12)


@pytest.mark.parametrize("in_shape,cfg", TRANSPOSED, ids=[str(c) for _, c in TRANSPOSED])
def test_a_transposed_convolution_is_a_convolutions_gradient_to_its_input(in_shape, cfg):
    """The readable definition: with Q the convolution of the same kernel_size, stride, padding,
    dilation and groups from this layer's output shape to its input shape, forward is Q's
    dL/dX for delta = x (the lecture's "delta fully convolved with W rotated"), and dL/dx is Q's
    forward of dL/dy."""
    rng = np.random.default_rng(1)
    t = make(ConvTranspose2D, in_shape, **cfg, bias=False)
    t.init_params(rng, np.float64)
    c, h, w = in_shape
    q = make(
        Conv2D,
        (t.f, *t.out_shape[1:]),
        out_channels=c,
        kernel_size=list(t.k),
        stride=list(t.s),
        padding=list(t.p),
        dilation=list(t.d),
        groups=t.g,
        bias=False,
    )
    q.params["W"] = t.params["W"]  # (C, F/G, kh, kw): Q's filters, one per input channel of t
    # Q's output can be longer than t's input when output_padding >= stride (allowed when
    # smaller than the dilation): t's input is then Q's delta on the first rows, zero after
    x = rng.standard_normal((2, *in_shape))
    delta = np.zeros((2, *q.out_shape))
    delta[:, :, :h, :w] = x
    q.forward(np.zeros((2, *q.in_shape)), record=True)
    np.testing.assert_allclose(t.forward(x, record=True), q.backward(delta), atol=1e-12)
    dy = rng.standard_normal((2, *t.out_shape))
    np.testing.assert_allclose(t.backward(dy), q.forward(dy)[:, :, :h, :w], atol=1e-12)


def test_output_padding_picks_among_the_sizes_a_stride_floors_together():
    """conv 3x3 stride 2 pad 1 gives 4x4 from a 7 or an 8 wide input: output_padding 0 or 1
    gives back either."""
    for n, op in ((7, 0), (8, 1)):
        s = engine.summarize(
            {
                "input": [1, n, n],
                "layers": [
                    {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1},
                    {
                        "type": "conv_transpose2d",
                        "out_channels": 1,
                        "kernel_size": 3,
                        "stride": 2,
                        "padding": 1,
                        "output_padding": op,
                    },
                ],
            }
        )
        assert s["layers"][0]["output_shape"] == [2, 4, 4]
        assert s["layers"][1]["output_shape"] == [1, n, n]
        assert s["layers"][1]["formulas"] == [f"(4 - 1)*2 - 2*1 + (3 - 1) + {op} + 1 = {n}"]


def transposed(**cfg):
    return {"type": "conv_transpose2d", "out_channels": 2, "kernel_size": 3, **cfg}


@pytest.mark.parametrize(
    "layer,field,words",
    [
        (
            transposed(stride=2, output_padding=2),
            "output_padding",
            "output_padding 2 must be smaller than the stride 2 or the dilation 1",
        ),
        (transposed(out_channels=3, groups=2), "groups", "groups 2 does not divide in_channels 3"),
        (transposed(groups=4), "groups", "groups 4 does not divide in_channels 6"),
        (
            transposed(kernel_size=1, padding=4),
            "padding",
            "the output height (4 - 1)*1 - 2*4 + (1 - 1) + 0 + 1 = -4 is less than 1",
        ),
        (
            transposed(kernel_size=1024, stride=1024, dilation=8),
            "stride",
            "(4 - 1)*1024 - 2*0 + 8*(1024 - 1) + 0 + 1 = 11257 is more than 8192",
        ),
        (transposed(padding="same"), "padding", "expected an integer"),
    ],
)
def test_conv_transpose2d_refuses_what_pytorch_refuses(layer, field, words):
    in_channels = 6 if layer.get("groups") == 4 else 3
    with pytest.raises(engine.SpecErrors) as info:
        engine.summarize({"input": [in_channels, 4, 4], "layers": [layer]})
    (e,) = info.value.errors
    assert e.path == "layers[0]" and e.field == field and words in e.message, str(e)


def test_summary_formulas_divide_by_groups():
    s = engine.summarize(
        {
            "input": [64, 8, 8],
            "layers": [
                {"type": "conv2d", "out_channels": 64, "kernel_size": 3, "padding": 1, "groups": 64},
                {"type": "conv2d", "out_channels": 128, "kernel_size": 3, "padding": 2, "dilation": 2, "groups": 4},
                transposed(out_channels=32, kernel_size=2, stride=2, groups=8),
                transposed(out_channels=16, kernel_size=2, stride=2, bias=False),
            ],
        }
    )
    rows = s["layers"]
    assert rows[0]["param_formula"] == "64 x (3x3x(64/64) + 1) = 640"
    assert rows[0]["macs"] == 64 * 8 * 8 * 3 * 3
    assert rows[1]["param_formula"] == "128 x (3x3x(64/4) + 1) = 18,560"
    assert rows[1]["formulas"] == ["(8 + 2*2 - 2*(3 - 1) - 1)/1 + 1 = 8"]
    assert rows[1]["macs"] == 128 * 8 * 8 * 16 * 3 * 3
    assert rows[2]["param_formula"] == "128 x (2x2x(32/8)) + 32 = 2,080"
    assert rows[2]["param_shapes"] == {"W": [128, 4, 2, 2], "b": [32]}
    assert rows[2]["output_shape"] == [32, 16, 16] and rows[2]["macs"] == 128 * 8 * 8 * 4 * 2 * 2
    assert rows[3]["param_formula"] == "32 x (2x2x16) = 2,048"


def test_dilation_widens_the_receptive_field():
    """Three 3x3 convolutions dilated 1, 2, 4 see 15x15 inputs; undilated, 7x7."""
    layers = [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "dilation": d, "padding": d} for d in (1, 2, 4)]
    s = engine.summarize({"input": [1, 16, 16], "layers": layers})
    assert [r["receptive_field"] for r in s["layers"]] == [[3, 3], [7, 7], [15, 15]]
    undilated = [{**x, "dilation": 1, "padding": 1} for x in layers]
    plain = engine.summarize({"input": [1, 16, 16], "layers": undilated})
    assert plain["layers"][-1]["receptive_field"] == [7, 7]


@pytest.mark.parametrize("k,s,d", [(3, 2, 1), (4, 2, 1), (3, 2, 3), (2, 2, 3), (3, 4, 2), (5, 3, 1), (1, 2, 1)])
def test_a_transposed_convolutions_receptive_field_is_its_widest_reach(k, s, d):
    """After a 3x3 stride-2 convolution (r = 3, j = 2), the inputs one output of the transposed
    convolution depends on, found by perturbing each input."""
    spec = {
        "input": [1, 21, 1],
        "layers": [
            {"type": "conv2d", "out_channels": 1, "kernel_size": [3, 1], "stride": [2, 1]},
            transposed(out_channels=1, kernel_size=[k, 1], stride=[s, 1], dilation=[d, 1]),
        ],
    }
    net = engine.build_network(spec, dtype=np.float64)
    for layer in net.layers():
        layer.params["W"][...] = 1.0
    base = net.forward(np.zeros((1, 1, 21, 1)))
    reach: dict = {}
    for i in range(21):
        x = np.zeros((1, 1, 21, 1))
        x[0, 0, i, 0] = 1.0
        for o in np.flatnonzero(net.forward(x)[0, 0, :, 0] != base[0, 0, :, 0]):
            reach.setdefault(o, []).append(i)
    widest = max(max(v) - min(v) + 1 for v in reach.values())
    assert engine.summarize(spec)["layers"][1]["receptive_field"][0] == widest
