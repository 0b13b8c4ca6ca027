"""A conv2d followed by a relu runs as one fused step when no taps are asked for (the fusion
pass, engine/fast/fusion.py): it must give exactly the numbers the two layers' fast steps give
one after the other, which is what a forward with taps runs."""

import numpy as np
import pytest

import engine
from engine.fast import ConvReLU


def fused_at(seq):
    """Indices of the layers that began a fused step in seq's last forward."""
    out, i = set(), 0
    for step in seq.steps:
        if isinstance(step, ConvReLU):
            out.add(i)
        i += len(getattr(step, "layers", [step]))
    return out


SPEC = {
    "input": [2, 9, 8],
    "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {
            "type": "residual",
            "body": [
                {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": "same"},
                {"type": "relu"},
                {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "bias": False},
            ],
        },
        {"type": "conv2d", "out_channels": 3, "kernel_size": 2, "stride": 2},
        {"type": "relu"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 5},
        {"type": "relu"},
        {"type": "linear", "out_features": 3},
    ],
}


def _pass(net, x, dz, taps):
    z = net.forward(x, train=True, taps=taps)
    dx = net.backward(dz, taps=taps)
    grads = {f"{L.path}.{k}": g.copy() for L in net.layers() for k, g in L.grads.items()}
    return z, dx, grads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_conv_relu_gives_the_same_numbers_as_the_two_layers(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 2, 9, 8)).astype(dtype)
    dz = rng.standard_normal((5, 3)).astype(dtype)
    net = engine.build_network(SPEC, seed=4, dtype=dtype)
    fused = _pass(net, x, dz, None)
    assert fused_at(net.root) == {0, 3}  # the top-level pairs ran fused
    assert fused_at(net.root.layers[2].body) == {0}  # and the pair inside the residual body
    apart = _pass(net, x, dz, {})  # taps: every layer on its own
    assert fused_at(net.root) == set()
    for a, b in zip(fused[:2], apart[:2]):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert fused[2].keys() == apart[2].keys() and len(fused[2]) == 11
    for name in fused[2]:
        assert np.array_equal(fused[2][name], apart[2][name]), name


def test_a_fused_forward_can_be_followed_by_a_backward_with_taps():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 9, 8))
    net = engine.build_network(SPEC, seed=4, dtype=np.float64)
    net.forward(x, train=True)
    taps = {}
    dx = net.backward(np.ones((3, 3)), taps=taps)
    assert dx.shape == x.shape and "layers[1]" in taps and "layers[0]" in taps


def test_the_relu_of_a_fused_pair_keeps_nothing_when_not_recording():
    net = engine.build_network(SPEC, seed=4)
    net.forward(np.zeros((2, 2, 9, 8), np.float32))
    with pytest.raises(RuntimeError, match="without a recorded forward"):
        net.backward(np.ones((2, 3), np.float32))
