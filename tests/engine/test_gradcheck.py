"""Central-difference gradient checks in float64 over every registered layer type."""

import numpy as np
import pytest

import engine
from engine import kernels, parallel
from engine.layers import REGISTRY
from engine.layers.conv import Conv2D
from engine.network import OUTPUT_GAIN

# One or more small networks per layer type: (input shape, the layers under test).
# Each case is followed by flatten + linear so the loss sees every output.
CASES = {
    "conv2d": [
        ((2, 7, 6), [{"type": "conv2d", "out_channels": 3, "kernel_size": 3}]),
        ((2, 8, 7), [{"type": "conv2d", "out_channels": 3, "kernel_size": [3, 2], "stride": 2, "padding": 1}]),
        (
            (3, 7, 7),
            [{"type": "conv2d", "out_channels": 2, "kernel_size": 5, "stride": 3, "padding": 2, "bias": False}],
        ),
        ((2, 5, 5), [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": "same"}]),
        # groups, depthwise, dilation, "same" with an even kernel (one more zero at the far side)
        ((4, 7, 6), [{"type": "conv2d", "out_channels": 6, "kernel_size": 3, "groups": 2, "stride": 2, "padding": 1}]),
        (
            (3, 6, 6),
            [{"type": "conv2d", "out_channels": 3, "kernel_size": 3, "groups": 3, "padding": "same", "bias": False}],
        ),
        (
            (2, 9, 8),
            [{"type": "conv2d", "out_channels": 3, "kernel_size": [3, 2], "dilation": [2, 3], "padding": [1, 2]}],
        ),
        (
            (2, 8, 9),
            [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "dilation": 2, "stride": [2, 3], "groups": 2}],
        ),
        ((2, 6, 5), [{"type": "conv2d", "out_channels": 2, "kernel_size": [4, 2], "padding": "same"}]),
        (
            (4, 7, 7),
            [{"type": "conv2d", "out_channels": 4, "kernel_size": 2, "dilation": 3, "padding": "same", "groups": 4}],
        ),
    ],
    "conv_transpose2d": [
        ((3, 4, 5), [{"type": "conv_transpose2d", "out_channels": 2, "kernel_size": 3}]),
        (
            (2, 3, 4),
            [
                {
                    "type": "conv_transpose2d",
                    "out_channels": 3,
                    "kernel_size": [3, 2],
                    "stride": 2,
                    "padding": 1,
                    "output_padding": 1,
                }
            ],
        ),
        (
            (4, 3, 3),
            [
                {
                    "type": "conv_transpose2d",
                    "out_channels": 6,
                    "kernel_size": 2,
                    "stride": [2, 3],
                    "groups": 2,
                    "bias": False,
                }
            ],
        ),
        (
            (2, 4, 3),
            [
                {
                    "type": "conv_transpose2d",
                    "out_channels": 2,
                    "kernel_size": 3,
                    "dilation": 2,
                    "stride": 1,
                    "output_padding": 1,
                    "padding": [2, 1],
                }
            ],
        ),
        (
            (4, 3, 4),
            [
                {
                    "type": "conv_transpose2d",
                    "out_channels": 4,
                    "kernel_size": 3,
                    "groups": 4,
                    "stride": 2,
                    "dilation": [1, 2],
                    "padding": 1,
                }
            ],
        ),
    ],
    "maxpool2d": [
        ((2, 6, 6), [{"type": "maxpool2d", "kernel_size": 2}]),
        ((2, 7, 5), [{"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1}]),
    ],
    "avgpool2d": [
        ((2, 6, 6), [{"type": "avgpool2d", "kernel_size": 2}]),
        ((2, 7, 5), [{"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1}]),
    ],
    "global_avgpool2d": [((3, 5, 4), [{"type": "global_avgpool2d"}])],
    "flatten": [((2, 3, 3), [{"type": "flatten"}])],
    "linear": [
        ((6,), [{"type": "linear", "out_features": 4}]),
        ((6,), [{"type": "linear", "out_features": 3, "bias": False}]),
    ],
    "relu": [((2, 4, 4), [{"type": "relu"}])],
    "leaky_relu": [((2, 4, 4), [{"type": "leaky_relu", "negative_slope": 0.1}])],
    "sigmoid": [((2, 4, 4), [{"type": "sigmoid"}])],
    "tanh": [((2, 4, 4), [{"type": "tanh"}])],
    "softmax": [((5,), [{"type": "linear", "out_features": 4}, {"type": "softmax"}])],
    "dropout": [((2, 4, 4), [{"type": "dropout", "p": 0.3}])],
    "batchnorm2d": [((3, 4, 4), [{"type": "batchnorm2d"}])],
    "batchnorm1d": [((6,), [{"type": "batchnorm1d"}])],
    "residual": [
        (
            (2, 6, 6),
            [
                {
                    "type": "residual",
                    "body": [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1}, {"type": "tanh"}],
                }
            ],
        ),
        (
            (2, 7, 7),
            [
                {
                    "type": "residual",
                    "body": [
                        {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1},
                        {"type": "batchnorm2d"},
                    ],
                    "shortcut": [{"type": "conv2d", "out_channels": 3, "kernel_size": 1, "stride": 2}],
                }
            ],
        ),
    ],
    "concat": [
        (
            (2, 6, 6),
            [
                {
                    "type": "concat",
                    "branches": [
                        [{"type": "conv2d", "out_channels": 2, "kernel_size": 1}],
                        [{"type": "conv2d", "out_channels": 1, "kernel_size": 3, "padding": 1}, {"type": "sigmoid"}],
                        [{"type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1}],
                    ],
                }
            ],
        )
    ],
}


def test_every_registered_layer_has_a_gradient_check():
    assert set(CASES) == set(REGISTRY)


def _net(in_shape, layers):
    # the readout keeps its init (not started small as an output layer is by default), so the
    # gradients reaching the layer under test are large enough to measure by differences
    readout = {"type": "linear", "out_features": 3, "init": "he_normal"}
    tail = [{"type": "flatten"}, readout] if layers[-1]["type"] != "softmax" else []
    if len(in_shape) == 1 and tail:
        tail = tail[1:]
    return engine.build_network({"input": list(in_shape), "layers": layers + tail}, seed=3)


CASE_LIST = [(t, i) for t, cases in CASES.items() for i in range(len(cases))]


@pytest.fixture(params=[0, 1, 3], ids=["readable", "1thread", "3threads"])
def shared(request, monkeypatch):
    """The layers as they are written (engine/layers), or the fast path (engine/fast) in one
    thread, or shared among three threads even for these tiny arrays (chunks of one image,
    channel blocks of any size)."""
    if request.param == 0:
        with engine.fast.readable():
            yield 0
        return
    before = parallel.get_threads()
    parallel.set_threads(request.param)
    if request.param > 1:
        monkeypatch.setattr(parallel, "MIN_SPLIT", 0)
        monkeypatch.setattr(kernels, "CHUNK_BYTES", 1)
    yield request.param
    parallel.set_threads(before)


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("kind,i", CASE_LIST, ids=[f"{t}-{i}" for t, i in CASE_LIST])
def test_gradients_match_central_differences(kind, i, train, shared):
    in_shape, layers = CASES[kind][i]
    net = _net(in_shape, layers)
    rng = np.random.default_rng(i)
    x = rng.standard_normal((4,) + in_shape)
    y = rng.integers(0, 3, 4)
    if kind == "softmax":
        # the softmax layer itself, through MSE (cross-entropy folds it into the loss)
        z = net.forward(x.astype(np.float32), train=train)
        assert np.allclose(z.sum(axis=1), 1, atol=1e-6)
        rows = _check_softmax_layer(net, x)
    else:
        rows = engine.gradcheck(net, x, y, train=train, max_entries=12)
    worst = max(r["max_rel_error"] for r in rows)
    assert worst < 1e-5, rows


def _check_softmax_layer(net, x):
    net = net.copy().astype(np.float64)
    target = np.random.default_rng(0).random((x.shape[0], 4))
    out = net.forward(x, record=True)
    _, dy = engine.mse(out, target)
    net.backward(dy)
    W = net.layers()[0].params["W"]
    ana = net.layers()[0].grads["W"].copy()
    num = np.zeros_like(W)
    h = 1e-6
    for idx in np.ndindex(W.shape):
        old = W[idx]
        W[idx] = old + h
        lp, _ = engine.mse(net.forward(x), target)
        W[idx] = old - h
        lm, _ = engine.mse(net.forward(x), target)
        W[idx] = old
        num[idx] = (lp - lm) / (2 * h)
    rel = np.abs(num - ana) / np.maximum(np.abs(num) + np.abs(ana), 1e-12)
    return [{"key": "softmax W", "max_rel_error": float(rel.max())}]


# the two larger presets take about 20 s together: slow (still run in CI)
@pytest.mark.parametrize(
    "preset",
    [
        "lenet5",
        pytest.param("resnet8", marks=pytest.mark.slow),
        pytest.param("inception_small_28", marks=pytest.mark.slow),
    ],
)
def test_whole_presets_pass_the_gradient_check(preset):
    net = engine.build_network(engine.PRESETS[preset], seed=0)
    # the output layer as its init draws it: started small (network.OUTPUT_GAIN) it makes every
    # gradient below it 100 times smaller, down where central differences measure rounding
    net.output_layer().params["W"] /= OUTPUT_GAIN
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2,) + net.input_shape)
    rows = engine.gradcheck(net, x, np.array([1, 7]), train=True, max_entries=4)
    assert len(rows) == len(net.parameters()) + 1
    assert max(r["max_rel_error"] for r in rows) < 1e-4, rows


def test_a_wrong_backward_is_caught(monkeypatch):
    right = Conv2D.backward

    def wrong(self, dy):
        dx = right(self, dy)
        self.grads["W"] = self.grads["W"] * 1.01  # a 1% slip in dL/dW
        return dx

    monkeypatch.setattr(Conv2D, "backward", wrong)
    net = _net(*CASES["conv2d"][0])
    x = np.random.default_rng(0).standard_normal((3, 2, 7, 6))
    with engine.fast.readable():
        rows = {r["key"]: r for r in engine.gradcheck(net, x, np.array([0, 1, 2]))}
    assert rows["layers[0].W"]["max_rel_error"] > 1e-3
    assert rows["layers[0].b"]["max_rel_error"] < 1e-6
