"""The fast path (engine/fast) gives the numbers of the layers as they are written
(engine/layers): forward, dL/dx and every parameter gradient, for every layer that has a fast
step, on each family of shapes its kernels are chosen by, in one thread and shared among
three; and the fast path's numbers are bit-identical whatever the thread count."""

import numpy as np
import pytest

import engine
from engine import fast, kernels, parallel

CONV = {"type": "conv2d", "out_channels": 4, "kernel_size": 3}
TRANSPOSED = {"type": "conv_transpose2d", "out_channels": 4, "kernel_size": 3}
CASES = {
    # (input shape, layers): each a family of shapes the fast kernels treat apart
    "conv-stride1-padded": ((3, 9, 8), [{**CONV, "padding": 1}]),
    "conv-stride2": ((3, 9, 8), [{**CONV, "stride": 2, "padding": 1}]),
    "conv-few-rows": ((1, 10, 10), [{**CONV, "kernel_size": 5, "padding": 2}]),  # C*kh*kw <= 32
    "conv-many-rows": ((8, 6, 6), [{**CONV, "out_channels": 6}]),  # C*kh*kw = 72
    "conv-1x1-shortcut": ((6, 8, 8), [{**CONV, "kernel_size": 1, "stride": 2, "bias": False}]),
    "conv-dilated-same": ((2, 9, 9), [{**CONV, "kernel_size": 2, "dilation": 2, "padding": "same"}]),
    "conv-grouped": ((4, 7, 7), [{**CONV, "groups": 2, "padding": 1}]),
    "conv-depthwise": ((4, 7, 7), [{**CONV, "groups": 4, "padding": 1}]),
    "conv-grid": ((16, 24, 24), [{**CONV, "padding": 1}]),  # stride 1, grid 26x26 <= 1.2 x output
    "conv-grid-relu-fused": ((16, 26, 28), [{**CONV, "out_channels": 9}, {"type": "relu"}]),
    "conv-grid-5x5-no-bias": ((16, 44, 44), [{**CONV, "kernel_size": 5, "padding": 2, "bias": False}]),
    # too few channels for training's grid; inference, with no backward, runs on it
    "conv-forward-grid-3-channels": ((3, 24, 24), [{**CONV, "padding": 1}]),
    "conv-relu-fused": ((3, 9, 8), [{**CONV, "padding": 1}, {"type": "relu"}]),
    "conv-relu-fused-stride2": ((3, 9, 8), [{**CONV, "stride": 2}, {"type": "relu"}]),
    "transposed-stride1-flat": ((3, 6, 5), [{**TRANSPOSED, "padding": 1}]),  # col2im on the flat grid
    "transposed-stride2-output-padding": ((3, 5, 4), [{**TRANSPOSED, "stride": 2, "padding": 1, "output_padding": 1}]),
    "transposed-2x-upsampling": (
        (4, 5, 5),
        [{**TRANSPOSED, "out_channels": 3, "kernel_size": 4, "stride": 2, "padding": 1}],
    ),
    "transposed-grouped": ((4, 5, 4), [{**TRANSPOSED, "out_channels": 6, "groups": 2, "stride": [2, 3]}]),
    "transposed-depthwise": ((4, 5, 5), [{**TRANSPOSED, "groups": 4, "padding": 1}]),
    # output_padding 1 at stride 1, allowed as smaller than the dilation
    "transposed-dilated": ((2, 5, 6), [{**TRANSPOSED, "dilation": 2, "padding": [2, 1], "output_padding": 1}]),
    "transposed-dilated-stride2": ((2, 4, 5), [{**TRANSPOSED, "dilation": 2, "stride": 2, "padding": 1}]),
    "transposed-no-bias": ((3, 5, 4), [{**TRANSPOSED, "stride": 2, "bias": False}]),
    "maxpool-tiles": ((3, 8, 8), [{"type": "maxpool2d", "kernel_size": 2}]),
    "maxpool-overlaps-padded": ((3, 9, 8), [{"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1}]),
    "maxpool-after-conv": ((2, 8, 8), [{**CONV, "padding": 1}, {"type": "maxpool2d", "kernel_size": 2}]),
    "avgpool-tiles": ((3, 8, 8), [{"type": "avgpool2d", "kernel_size": 2}]),
    "avgpool-overlaps-padded": ((3, 9, 8), [{"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1}]),
    "batchnorm2d": ((3, 5, 4), [{"type": "batchnorm2d"}]),
    "batchnorm2d-after-conv": ((2, 6, 6), [{**CONV, "padding": 1}, {"type": "batchnorm2d"}]),
    "batchnorm1d": ((6,), [{"type": "batchnorm1d"}]),
    "relu-map": ((3, 5, 4), [{"type": "relu"}]),
    "relu-flat": ((7,), [{"type": "relu"}]),
}


def _net(case, seed=3):
    in_shape, layers = CASES[case]
    net = engine.build_network({"input": list(in_shape), "layers": layers}, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed)
    for layer in net.layers():  # nothing left at its start value (zero biases hide mix-ups)
        for v in layer.params.values():
            v[...] = rng.normal(size=v.shape)
    return net


def _pass(net, x, dy, train, first_needs_dx=True):
    net.root.layers[0].needs_input_grad = first_needs_dx
    try:
        y = net.forward(x, train=train, record=True)
        dx = net.backward(dy)
    finally:
        net.root.layers[0].needs_input_grad = True
    grads = {f"{layer.path}.{k}": g.copy() for layer in net.layers() for k, g in layer.grads.items()}
    buffers = {k: v.copy() for k, v in net.state_dict().items() if "running" in k or "tracked" in k}
    return y, dx, grads, buffers


@pytest.fixture
def threads(monkeypatch):
    """Set the thread count. Even these tiny arrays are split (chunks of one image, channel
    blocks of any size), whatever the count: the split depends on shapes only, as in use."""
    before = parallel.get_threads()
    monkeypatch.setattr(parallel, "MIN_SPLIT", 0)
    monkeypatch.setattr(kernels, "CHUNK_BYTES", 1)

    def use(n):
        parallel.set_threads(n)

    yield use
    parallel.set_threads(before)


def _inputs(net, seed=0, n=5):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + net.input_shape)
    if net.layers()[0].type.startswith("maxpool"):
        x = np.round(x, 1)  # ties inside windows: both must send the gradient to the first
    return x, rng.standard_normal((n,) + net.output_shape)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("n_threads", [1, 3])
@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_path_agrees_with_the_readable_layers(case, n_threads, train, threads):
    threads(n_threads)
    x, dy = _inputs(_net(case))
    fast_net, readable_net = _net(case), _net(case)
    got = _pass(fast_net, x, dy, train)
    with fast.readable():
        want = _pass(readable_net, x, dy, train)
    assert any(not isinstance(s, engine.layers.Layer) for s in fast_net.root.steps), "no fast step ran"
    assert all(isinstance(s, engine.layers.Layer) for s in readable_net.root.steps)
    for what, a, b in (("y", got[0], want[0]), ("dx", got[1], want[1])):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"{case}: {what}")
    assert got[2].keys() == want[2].keys() and got[3].keys() == want[3].keys()
    for name in (*got[2], *got[3]):
        a, b = (got[2] | got[3])[name], (want[2] | want[3])[name]
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"{case}: {name}")


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("conv")])
def test_each_conv_case_runs_the_kernels_it_is_named_for(case):
    net = _net(case)
    net.forward(_inputs(net)[0])
    conv = net.root.steps[0]
    assert (conv.grid is not None) == case.startswith("conv-grid"), case
    assert (conv.forward_grid is not None) == ("grid" in case), case
    assert isinstance(conv, fast.ConvReLU) == ("relu" in case), case


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("conv-grid")])
def test_the_grid_kernels_agree_again_with_work_arrays_reused_and_a_short_last_chunk(case):
    """Chunks of two images (the last one of one): the work arrays are sized for two, and a
    second step reuses them with the first step's numbers still in them."""
    net, readable_net = _net(case), _net(case)
    for seed in (0, 1):
        x, dy = _inputs(net, seed=seed, n=5)
        got = _pass(net, x, dy, True)
        with fast.readable():
            want = _pass(readable_net, x, dy, True)
        for a, b in zip(got[:2], want[:2]):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=case)
        for name in got[2]:
            np.testing.assert_allclose(got[2][name], want[2][name], rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("n_threads", [1, 3])
@pytest.mark.parametrize("case", list(CASES))
def test_inference_agrees_with_the_readable_layers(case, n_threads, threads):
    """Inference (nothing recorded) takes its own kernels (the forward grid) and work arrays
    (this thread's Arena): the same outputs and feature maps, a second time too."""
    threads(n_threads)
    x, _ = _inputs(_net(case))
    net, readable_net = _net(case), _net(case)
    with fast.readable():
        want, want_maps = readable_net.forward(x), readable_net.feature_maps(x)
    for _ in range(2):
        np.testing.assert_allclose(net.forward(x), want, rtol=1e-10, atol=1e-12, err_msg=case)
        maps = net.feature_maps(x)
        assert maps.keys() == want_maps.keys()
        for path in maps:
            np.testing.assert_allclose(maps[path], want_maps[path], rtol=1e-10, atol=1e-12, err_msg=path)


@pytest.mark.parametrize("case", [c for c in CASES if "pool" in c])
def test_pooling_by_blocks_of_one_channel_agrees_with_the_readable_layers(case, monkeypatch):
    """Large inputs are pooled a block of channels at a time (each block stays in the cache
    for all the window offsets): here every channel is a block of its own."""
    from engine.fast import pool

    monkeypatch.setattr(pool, "BLOCK_BYTES", 1)
    x, dy = _inputs(_net(case))
    got = _pass(_net(case), x, dy, True)
    with fast.readable():
        want = _pass(_net(case), x, dy, True)
    for a, b in zip(got[:2], want[:2]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=case)


def test_inference_work_arrays_shared_by_layers_start_clean_for_each():
    """Two convs whose padded inputs have the same shape, the image placed differently in
    each (padding 1 around 8x8, 2 around 6x6): they share this thread's padded array, and
    the second must not read the first one's pixels where its own border should be zero."""
    spec = {
        "input": [2, 8, 8],
        "layers": [
            {"type": "conv2d", "out_channels": 2, "kernel_size": 5, "padding": 1},
            {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 2},
        ],
    }
    net = engine.build_network(spec, seed=1, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((3, 2, 8, 8)) + 5.0  # no pixel near zero
    with fast.readable():
        want = net.forward(x)
    for _ in range(2):
        np.testing.assert_allclose(net.forward(x), want, rtol=1e-10, atol=1e-12)


def test_inference_in_several_threads_at_once_on_one_network():
    """Requests predict on one network from several threads: each thread has its own work
    arrays, so none reads another's."""
    from concurrent.futures import ThreadPoolExecutor

    net = _net("conv-grid")
    inputs = [_inputs(net, seed=s)[0] for s in range(4)]
    with fast.readable():
        want = [net.forward(x) for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            got = list(pool.map(net.forward, inputs))
            for a, b in zip(got, want):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith(("conv", "transposed"))])
def test_a_first_layer_skips_dx_on_both_paths(case):
    x, dy = _inputs(_net(case))
    got = _pass(_net(case), x, dy, True, first_needs_dx=False)
    with fast.readable():
        want = _pass(_net(case), x, dy, True, first_needs_dx=False)
    assert got[1] is None and want[1] is None
    for name in got[2]:
        np.testing.assert_allclose(got[2][name], want[2][name], rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_path_is_bit_identical_whatever_the_thread_count(case, threads):
    x, dy = _inputs(_net(case))
    x, dy = x.astype(np.float32), dy.astype(np.float32)

    def run(n):
        threads(n)
        net = _net(case)
        return _pass(net.astype(np.float32), x, dy, True)

    one, three = run(1), run(3)
    for a, b in zip(one[:2], three[:2]):
        assert np.array_equal(a, b), case
    for name in one[2]:
        assert np.array_equal(one[2][name], three[2][name]), (case, name)


def test_maxpool_readable_sends_each_window_gradient_to_its_first_maximum():
    """A plain-loop check of the readable max pooling, ties included."""
    net = engine.build_network({"input": [1, 3, 3], "layers": [{"type": "maxpool2d", "kernel_size": 2, "stride": 1}]})
    x = np.array([[[[1, 5, 5], [5, 2, 0], [0, 0, 3]]]], np.float32)
    with fast.readable():
        y = net.forward(x, record=True)
        dx = net.backward(np.ones_like(y))
    assert y[0, 0].tolist() == [[5, 5], [5, 3]]
    assert dx[0, 0].tolist() == [[0, 2, 0], [1, 0, 0], [0, 0, 1]]
