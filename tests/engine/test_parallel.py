"""Work shared among threads (engine/parallel.py).

conv2d's fast step over a batch split into chunks agrees with the plain-loop reference,
forward and backward, including a last chunk shorter than the others; with the
columns kept from forward or built again in backward; in one thread or shared
among several. Every layer that splits its work by channels gives bit-identical
results in one thread and in several."""

import numpy as np
import pytest

import engine
from engine import kernels, parallel
from engine.fast import FastConv2D

from . import reference as R
from .export_specs import conv_family_spec


@pytest.fixture
def threads():
    """Set the engine's thread count for one test, then put it back."""
    before = parallel.get_threads()
    yield parallel.set_threads
    parallel.set_threads(before)


@pytest.mark.parametrize("keep", [True, False])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("k,s,p", [(3, 1, 1), (3, 1, 0), (3, 2, 1), (5, 1, 2), (1, 2, 0)])
def test_chunked_conv_matches_reference(monkeypatch, threads, k, s, p, n_threads, keep):
    threads(n_threads)
    n, c, h, w, f = 5, 3, 9, 8, 4
    per_image = c * k * k * ((h + 2 * p - k) // s + 1) * ((w + 2 * p - k) // s + 1) * 8
    monkeypatch.setattr(kernels, "CHUNK_BYTES", 2 * per_image)  # chunks of 2, 2, 1 images
    monkeypatch.setattr(kernels, "MIN_CHUNKS", 1)
    monkeypatch.setattr(kernels, "KEEP_BYTES", 10**9 if keep else 0)
    spec = {
        "input": [c, h, w],
        "layers": [{"type": "conv2d", "out_channels": f, "kernel_size": k, "stride": s, "padding": p}],
    }
    net = engine.build_network(spec, seed=3, dtype=np.float64)
    conv = net.layers()[0]
    step = FastConv2D(conv)
    assert kernels.batch_chunks(n, conv.col_bytes(8))[1] == [(0, 2), (2, 4), (4, 5)]
    conv.params["b"] = np.arange(f, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w))
    for _ in range(2):  # the second step reuses the work arrays
        y = step.forward(x, train=True)
        assert (step.cache[1] is not None) == keep
        ref = R.conv2d(x, conv.params["W"], conv.params["b"], (s, s), (p, p))
        np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-12)
        dy = rng.standard_normal(y.shape)
        dx = step.backward(dy)
        dx_ref, dw_ref, db_ref = R.conv2d_backward(x, conv.params["W"], dy, (s, s), (p, p))
        np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(conv.grads["W"], dw_ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(conv.grads["b"], db_ref, rtol=1e-10, atol=1e-12)


def _train(preset, steps, batch):
    net = engine.build_network(engine.PRESETS[preset], seed=1)
    opt = engine.make_optimizer("sgd", net.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x = rng.standard_normal((batch,) + net.input_shape).astype(np.float32)
        y = rng.integers(0, 10, batch)
        net.loss_and_backward(x, y)
        opt.step()
    return net.state_dict()


@pytest.mark.parametrize("preset", ["lenet5", "resnet_small_28"])
def test_training_is_bit_identical_whatever_the_thread_count(threads, preset):
    threads(1)
    one = _train(preset, 3, 24)
    threads(2)
    two = _train(preset, 3, 24)
    assert one.keys() == two.keys()
    for name in one:
        assert np.array_equal(one[name], two[name]), name


@pytest.mark.parametrize("keep", [True, False])
def test_grouped_dilated_and_transposed_convolutions_are_bit_identical_in_any_thread_count(monkeypatch, threads, keep):
    """Two training steps of the conv-family network (groups, depthwise, dilation, "same" of
    even kernels, transposed convolutions) in chunks of one or two images: the same bits in
    1, 2 and 3 threads."""
    monkeypatch.setattr(kernels, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(kernels, "KEEP_BYTES", 10**9 if keep else 0)
    monkeypatch.setattr(parallel, "MIN_SPLIT", 0)
    spec = conv_family_spec()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7,) + tuple(spec["input"])).astype(np.float32)
    y = rng.integers(0, 5, 7)
    results = []
    for n in (1, 2, 3):
        threads(n)
        net = engine.build_network(spec, seed=4)
        opt = engine.make_optimizer("sgd", net.parameters(), lr=0.05, momentum=0.9)
        for _ in range(2):
            _, z = net.loss_and_backward(x, y)
            opt.step()
        dx = net.backward(np.ones_like(z))
        results.append((z, dx, net.state_dict()))
    (z1, dx1, s1) = results[0]
    for z, dx, s in results[1:]:
        assert np.array_equal(z, z1) and np.array_equal(dx, dx1)
        assert s.keys() == s1.keys()
        for name in s1:
            assert np.array_equal(s[name], s1[name]), name


MIXED = {
    "input": [3, 11, 10],
    "layers": [
        {"type": "conv2d", "out_channels": 7, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d"},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "conv2d", "out_channels": 5, "kernel_size": 2},
        {"type": "avgpool2d", "kernel_size": 2, "padding": 1},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "linear", "out_features": 6},
        {"type": "batchnorm1d"},
        {"type": "relu"},
        {"type": "linear", "out_features": 3},
    ],
}


@pytest.mark.parametrize("train", [True, False])
def test_channel_blocks_give_the_same_numbers_in_any_thread_count(monkeypatch, threads, train):
    monkeypatch.setattr(parallel, "MIN_SPLIT", 0)  # split even these small arrays
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 3, 11, 10)).astype(np.float32)
    x[0, 0, 0, :3] = 2.0  # ties inside a max-pool window: the first one takes the gradient
    dz = rng.standard_normal((6, 3)).astype(np.float32)
    results = []
    for n in (1, 3):
        threads(n)
        net = engine.build_network(MIXED, seed=2)
        z = net.forward(x, train=train, record=True)
        dx = net.backward(dz)
        grads = {f"{L.path}.{k}": g for L in net.layers() for k, g in L.grads.items()}
        results.append((z, dx, grads, net.state_dict()))
    (z1, dx1, g1, s1), (z3, dx3, g3, s3) = results
    assert np.array_equal(z1, z3) and np.array_equal(dx1, dx3)
    assert g1.keys() == g3.keys() and len(g1) == 12
    for name in g1:
        assert np.array_equal(g1[name], g3[name]), name
    for name in s1:  # batch norm's running statistics too
        assert np.array_equal(s1[name], s3[name]), name


def test_an_error_in_a_thread_reaches_the_caller(threads):
    threads(2)
    seen = []

    def work(slot, pieces):
        seen.append(slot)
        if slot == 1:
            raise ValueError("slot 1 failed")

    with pytest.raises(ValueError, match="slot 1 failed"):
        parallel.run(work, 4)
    assert sorted(seen) == [0, 1]


def test_thread_count_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        parallel.set_threads(0)


def test_the_callers_numpy_error_handling_holds_in_every_thread(monkeypatch, threads):
    """np.errstate is per thread: a diverging step run under errstate(all="ignore")
    must stay quiet in the engine's threads too, and "raise" must raise."""
    threads(2)
    monkeypatch.setattr(parallel, "MIN_SPLIT", 0)
    net = engine.build_network(engine.PRESETS["lenet5"], seed=0)
    for L in net.layers():
        for p in L.params.values():
            p *= 1e30
    x = np.full((8, 1, 28, 28), 1e30, np.float32)
    with np.errstate(all="ignore"):  # pytest turns any warning into an error
        z = net.forward(x, train=True)
    assert not np.all(np.isfinite(z))
    with np.errstate(all="raise"), pytest.raises(FloatingPointError):
        net.forward(x, train=True)
