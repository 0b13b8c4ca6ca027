"""The lecture's worked example, forward and backward, and the fast kernels
against the plain-loop references."""

import numpy as np
import pytest

import engine
from engine.layers.conv import Conv2D
from engine.layers.fields import parse_config
from engine.layers.pool import AvgPool2D, MaxPool2D

from . import reference

X = np.array([[0, 1, 2, 1, 0], [4, 1, 0, 1, 0], [2, 0, 1, 1, 1], [1, 2, 3, 1, 0], [0, 4, 3, 2, 0]], dtype=np.float32)
W = np.array([[0, 1, 0], [1, 0, 1], [2, 1, 0]], dtype=np.float32)
I = np.array([[9, 5, 4], [8, 8, 10], [8, 15, 12]], dtype=np.float32)


def make(cls, in_shape, **cfg):
    return cls(in_shape, "layers[0]", parse_config(cls, {"type": cls.type, **cfg}, "layers[0]"))


def lecture_conv():
    layer = make(Conv2D, (1, 5, 5), out_channels=1, kernel_size=3, bias=False)
    layer.init_params(np.random.default_rng(0))
    layer.params["W"] = W[None, None].copy()
    return layer


def test_lecture_example_forward():
    y = lecture_conv().forward(X[None, None])
    np.testing.assert_array_equal(y[0, 0], I)


def test_lecture_example_backward_is_a_convolution_too():
    layer = lecture_conv()
    layer.forward(X[None, None], train=True)
    delta = np.arange(1, 10, dtype=np.float32).reshape(3, 3)
    dx = layer.backward(delta[None, None])[0, 0]
    dW = layer.grads["W"][0, 0]
    # dL/dW = X convolved with delta
    dW_expected = np.array([[(X[a : a + 3, b : b + 3] * delta).sum() for b in range(3)] for a in range(3)])
    np.testing.assert_allclose(dW, dW_expected)
    # dL/dX = delta, zero-padded by K-1, convolved with W rotated 180 degrees
    padded = np.pad(delta, 2)
    rot = W[::-1, ::-1]
    dx_expected = np.array([[(padded[i : i + 3, j : j + 3] * rot).sum() for j in range(5)] for i in range(5)])
    np.testing.assert_allclose(dx, dx_expected)


@pytest.mark.parametrize(
    "k,s,p",
    [
        ((3, 3), (1, 1), (0, 0)),
        ((3, 3), (2, 2), (1, 1)),
        ((5, 3), (2, 1), (2, 0)),
        ((1, 1), (1, 1), (0, 0)),
        ((4, 4), (3, 3), (1, 2)),
        ((2, 2), (2, 2), (0, 0)),
    ],
)
def test_conv_matches_plain_loops(k, s, p):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 9, 8))
    layer = make(Conv2D, (3, 9, 8), out_channels=4, kernel_size=list(k), stride=list(s), padding=list(p))
    layer.init_params(rng, np.float64)
    y = layer.forward(x, train=True)
    np.testing.assert_allclose(
        y, reference.conv2d(x, layer.params["W"], layer.params["b"], s, p), rtol=1e-10, atol=1e-10
    )
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    rdx, rdW, rdb = reference.conv2d_backward(x, layer.params["W"], dy, s, p)
    np.testing.assert_allclose(dx, rdx, atol=1e-10)
    np.testing.assert_allclose(layer.grads["W"], rdW, atol=1e-10)
    np.testing.assert_allclose(layer.grads["b"], rdb, atol=1e-10)


@pytest.mark.parametrize("cls,mode", [(MaxPool2D, "max"), (AvgPool2D, "avg")])
@pytest.mark.parametrize(
    "k,s,p,size",
    [
        ((2, 2), (2, 2), (0, 0), (8, 8)),
        ((3, 3), (2, 2), (1, 1), (7, 9)),
        ((2, 2), (2, 2), (0, 0), (7, 7)),
        ((3, 2), (1, 2), (0, 1), (6, 5)),
    ],
)
def test_pooling_matches_plain_loops(cls, mode, k, s, p, size):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3) + size)
    layer = make(cls, (3,) + size, kernel_size=list(k), stride=list(s), padding=list(p))
    y = layer.forward(x, train=True)
    np.testing.assert_allclose(y, reference.pool2d(x, k, s, p, mode), atol=1e-12)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(layer.backward(dy), reference.pool2d_backward(x, dy, k, s, p, mode), atol=1e-12)


def test_max_pool_routes_the_whole_gradient_to_the_argmax():
    x = np.array([[[[1, 3], [2, 0]]]], dtype=np.float32)
    layer = make(MaxPool2D, (1, 2, 2), kernel_size=2)
    layer.forward(x, train=True)
    np.testing.assert_array_equal(layer.backward(np.array([[[[5.0]]]], np.float32))[0, 0], [[0, 5], [0, 0]])


def test_avg_pool_spreads_the_gradient_evenly():
    x = np.zeros((1, 1, 2, 2), np.float32)
    layer = make(AvgPool2D, (1, 2, 2), kernel_size=2)
    layer.forward(x, train=True)
    np.testing.assert_array_equal(layer.backward(np.array([[[[4.0]]]], np.float32))[0, 0], [[1, 1], [1, 1]])


def test_backward_without_recorded_forward_says_so():
    layer = lecture_conv()
    layer.forward(X[None, None])  # evaluation: nothing kept
    with pytest.raises(RuntimeError, match="without a recorded forward"):
        layer.backward(np.ones((1, 1, 3, 3), np.float32))


def test_float32_stays_float32():
    net = engine.build_network(engine.PRESETS["resnet8"])
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    assert net.forward(x, train=True).dtype == np.float32
    assert net.backward(np.ones((2, 10), np.float32)).dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in net.parameters())
