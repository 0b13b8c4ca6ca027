"""Networks: seeding, saving and loading, the import boundary, and looking inside."""

import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import engine


def batch(net, n=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n,) + net.input_shape).astype(np.float32), rng.integers(0, 10, n)


def test_engine_imports_no_web_module():
    code = (
        "import sys, engine; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'pydantic', 'starlette', 'app', 'uvicorn', 'PIL', 'torch', 'onnx')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_same_spec_and_seed_give_bit_identical_weights():
    a = engine.build_network(engine.PRESETS["resnet8"], seed=5).state_dict()
    b = engine.build_network(engine.PRESETS["resnet8"], seed=5).state_dict()
    c = engine.build_network(engine.PRESETS["resnet8"], seed=6).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["layers[0].W"], c["layers[0].W"])


def _train(seed):
    net = engine.build_network(engine.PRESETS["alexnet_small_28"], seed=seed)
    opt = engine.make_optimizer("adam", net.parameters(), lr=1e-3)
    losses = []
    for step in range(3):
        x, y = batch(net, 8, step)
        loss, _ = net.loss_and_backward(x, y)
        opt.step()
        losses.append(loss)
    return losses, net.state_dict()


def test_same_seed_gives_the_same_training_run_with_dropout():
    (l1, s1), (l2, s2) = _train(1), _train(1)
    assert l1 == l2 and all(np.array_equal(s1[k], s2[k]) for k in s1)


@pytest.mark.parametrize(
    "init,std",
    [
        ("xavier_uniform", np.sqrt(2 / (3 * 9 + 64 * 9))),
        ("xavier_normal", np.sqrt(2 / (3 * 9 + 64 * 9))),
        ("he_uniform", np.sqrt(2 / 27)),
        ("he_normal", np.sqrt(2 / 27)),
        ("lecun_normal", np.sqrt(1 / 27)),
        ("normal", 0.5),
        ("zeros", 0.0),
    ],
)
def test_initializers_have_their_variance(init, std):
    spec = {
        "input": [3, 8, 8],
        "layers": [{"type": "conv2d", "out_channels": 64, "kernel_size": 3, "init": init, "std": 0.5}],
    }
    W = engine.build_network(spec).state_dict()["layers[0].W"]
    assert W.std() == pytest.approx(std, rel=0.08, abs=1e-9)


def test_save_and_load_round_trip(tmp_path):
    net = engine.build_network(engine.PRESETS["resnet8"], seed=2)
    opt = engine.make_optimizer("sgd", net.parameters(), lr=0.1, momentum=0.9)
    x, y = batch(net)
    net.loss_and_backward(x, y)
    opt.step()
    path = tmp_path / "net.npz"
    engine.save(net, path, optimizer=opt)
    loaded, opt_state, meta = engine.load_checkpoint(path)
    assert loaded.spec == net.spec and meta["seed"] == 2
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))
    assert opt_state["config"]["momentum"] == 0.9
    opt2 = engine.make_optimizer("sgd", loaded.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(opt_state)
    assert set(opt2.state) == set(opt.state)
    assert not list(tmp_path.glob("*.tmp"))
    with np.load(path, allow_pickle=False) as z:  # nothing in the file needs pickle
        assert all(z[k].dtype != object for k in z.files)


def _rewrite(path, change):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_load_rejects_a_wrong_shape_with_its_name(tmp_path):
    net = engine.build_network(engine.PRESETS["lenet5"])
    path = tmp_path / "n.npz"
    engine.save(net, path)
    data = _rewrite(path, lambda a: a.__setitem__("w:layers[0].W", np.zeros((6, 1, 3, 3), np.float32)))
    with pytest.raises(engine.CheckpointError, match=r"layers\[0\].W: the file holds shape \(6, 1, 3, 3\)"):
        engine.load_checkpoint(data)


def test_load_rejects_pickles_garbage_and_missing_weights(tmp_path):
    net = engine.build_network(engine.PRESETS["lenet5"])
    path = tmp_path / "n.npz"
    engine.save(net, path)
    pickled = _rewrite(path, lambda a: a.__setitem__("w:layers[0].W", np.array([{"x": 1}], dtype=object)))
    with pytest.raises(engine.CheckpointError, match="cannot read"):
        engine.load_checkpoint(pickled)
    with pytest.raises(engine.CheckpointError):
        engine.load_checkpoint(b"not a zip at all")
    missing = _rewrite(path, lambda a: a.pop("w:layers[0].b"))
    with pytest.raises(engine.CheckpointError, match="missing"):
        engine.load_checkpoint(missing)
    spec_bad = _rewrite(
        path,
        lambda a: a.__setitem__(
            "__spec__", np.frombuffer(json.dumps({"input": [1, 2, 2], "layers": [{"type": "x"}]}).encode(), np.uint8)
        ),
    )
    with pytest.raises(engine.CheckpointError, match="not valid"):
        engine.load_checkpoint(spec_bad)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.npy", b"\x93NUMPY garbage")
    with pytest.raises(engine.CheckpointError):
        engine.load_checkpoint(buf.getvalue())


def test_feature_maps_give_every_layer_by_path():
    net = engine.build_network(engine.PRESETS["resnet8"])
    x, _ = batch(net, 1)
    maps = net.feature_maps(x)
    paths = ["input"] + [layer.path for layer in net.layers()]
    assert next(iter(maps)) == "input" and set(paths) == set(maps)
    # computation order: a block's children come before the block's own output
    assert list(maps).index("layers[3].body[4]") < list(maps).index("layers[3]")
    assert maps["layers[0]"].shape == (1, 16, 32, 32)
    np.testing.assert_allclose(maps[net.layers()[-1].path], net.forward(x), rtol=1e-6)


def test_saliency_is_the_input_gradient_of_the_class_score():
    net = engine.build_network(engine.PRESETS["lenet5"]).astype(np.float64)
    x = np.random.default_rng(0).standard_normal((1, 28, 28))
    grad, cls = net.saliency(x, 3)
    assert cls == 3 and grad.shape == x.shape
    h, i = 1e-6, (0, 14, 9)
    xp, xm = x.copy(), x.copy()
    xp[i] += h
    xm[i] -= h
    num = (net.forward(xp[None])[0, 3] - net.forward(xm[None])[0, 3]) / (2 * h)
    assert grad[i] == pytest.approx(num, rel=1e-5)


def test_stats_show_vanishing_gradients_in_a_deep_sigmoid_stack():
    layers = []
    for _ in range(8):
        layers += [{"type": "linear", "out_features": 32, "init": "normal", "std": 0.05}, {"type": "sigmoid"}]
    net = engine.build_network({"input": [32], "layers": layers + [{"type": "linear", "out_features": 10}]})
    x = np.random.default_rng(0).standard_normal((64, 32))
    stats = net.stats(x, np.zeros(64, int))
    first, last = stats[0]["gradient"]["std"], stats[-2]["gradient"]["std"]
    assert first < last / 100
    assert {"mean", "std", "zeros", "histogram"} <= set(stats[0]["activation"])
    assert sum(stats[0]["activation"]["histogram"]["counts"]) == 64 * 32


def test_relu_stats_count_zeros():
    net = engine.build_network({"input": [16], "layers": [{"type": "linear", "out_features": 64}, {"type": "relu"}]})
    stats = net.stats(np.random.default_rng(0).standard_normal((32, 16)))
    assert 0.3 < stats[1]["activation"]["zeros"] < 0.7


def test_trailing_softmax_is_folded_into_the_loss():
    spec = {"input": [4], "layers": [{"type": "linear", "out_features": 3}, {"type": "softmax"}]}
    net = engine.build_network(spec)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32) * 100
    probs = net.forward(x)
    np.testing.assert_allclose(probs, net.predict_proba(x), rtol=1e-5, atol=1e-7)
    loss, _ = net.loss_and_backward(x, np.array([0, 1, 2, 0, 1]))
    assert np.isfinite(loss)


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1e4, -1e4, 0.0]], np.float32)
    loss, dz = engine.cross_entropy(z, np.array([1]))
    assert loss == pytest.approx(2e4) and np.all(np.isfinite(dz))


def test_wrong_input_shape_says_what_was_expected():
    net = engine.build_network(engine.PRESETS["lenet5"])
    with pytest.raises(ValueError, match=r"expected \(N, 1, 28, 28\)"):
        net.forward(np.zeros((2, 3, 28, 28)))


def test_dropout_is_identity_at_evaluation_and_inverted_in_training():
    net = engine.build_network({"input": [1000], "layers": [{"type": "dropout", "p": 0.25}]})
    x = np.ones((4, 1000), np.float32)
    assert np.array_equal(net.forward(x), x)
    y = net.forward(x, train=True)
    assert set(np.unique(y)) == {0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.03


def test_batchnorm_uses_batch_statistics_in_training_and_running_ones_at_evaluation():
    net = engine.build_network({"input": [2, 3, 3], "layers": [{"type": "batchnorm2d", "momentum": 1.0}]})
    x = np.random.default_rng(0).standard_normal((8, 2, 3, 3)).astype(np.float32) * 3 + 5
    y = net.forward(x, train=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-3)
    bn = net.layers()[0]
    np.testing.assert_allclose(bn.buffers["running_mean"], x.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(bn.buffers["running_var"], x.var(axis=(0, 2, 3), ddof=1), rtol=1e-4)
    y_eval = net.forward(x[:1])
    expect = (x[:1] - x.mean(axis=(0, 2, 3))[None, :, None, None]) / np.sqrt(
        x.var(axis=(0, 2, 3), ddof=1)[None, :, None, None] + 1e-5
    )
    np.testing.assert_allclose(y_eval, expect, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad"])
def test_every_optimizer_lowers_the_loss(name):
    net = engine.build_network(engine.PRESETS["lenet5"], seed=0)
    lr = {"sgd": 0.05, "adam": 1e-3, "rmsprop": 1e-3, "adagrad": 0.01}[name]
    opt = engine.make_optimizer(name, net.parameters(), lr=lr)
    x, y = batch(net, 16)
    first = net.loss_and_backward(x, y)[0]
    # from ln(10) (the output layer starts small), plain SGD needs about 30 steps to memorise
    # 16 noise images to 70% of it: the layers below learn only once the output layer has grown
    for _ in range(30):
        opt.step()
        last = net.loss_and_backward(x, y)[0]
    assert last < first * 0.7


def test_l1_and_l2_pull_weights_toward_zero():
    net = engine.build_network({"input": [4], "layers": [{"type": "linear", "out_features": 2}]})
    net.layers()[0].params["W"][...] = 1.0
    net.layers()[0].grads = {"W": np.zeros((2, 4), np.float32), "b": np.zeros(2, np.float32)}
    engine.make_optimizer("sgd", net.parameters(), lr=0.1, weight_decay=0.5, l1=0.2).step()
    np.testing.assert_allclose(net.layers()[0].params["W"], 1 - 0.1 * (0.5 + 0.2))


def test_schedules():
    step = engine.make_schedule("step", 0.1, steps_per_epoch=10, step_size=2, gamma=0.5)
    assert [step(s) for s in (0, 19, 20, 45)] == [0.1, 0.1, 0.05, 0.025]
    cos = engine.make_schedule("cosine", 0.1, steps_per_epoch=10, epochs=2)
    assert cos(0) == pytest.approx(0.1) and cos(10) == pytest.approx(0.05) and cos(20) == pytest.approx(0)
    with pytest.raises(ValueError, match="unknown schedule"):
        engine.make_schedule("linear", 0.1)


@pytest.mark.parametrize("preset", ["lenet5", "resnet8"])
def test_training_skips_only_the_data_gradient(preset):
    net = engine.build_network(engine.PRESETS[preset], seed=1)
    x, y = batch(net, 3)
    net.loss_and_backward(x, y, train=False)
    skipped = {p.key: p.grad.copy() for p in net.parameters()}
    z = net.logits(x, record=True)
    dx = net.trunk.backward(engine.cross_entropy(z, y)[1])
    assert dx is not None and dx.shape == x.shape  # the first layer computes dL/dx again afterwards
    for p in net.parameters():
        np.testing.assert_array_equal(skipped[p.key], p.grad)


@pytest.mark.parametrize("padding", [0, 1])
def test_maxpool_over_a_window_with_nan_returns_nan(padding):
    """As PyTorch: a diverging run must show its NaN, not the max of the rest."""
    net = engine.build_network(
        {"input": [1, 4, 4], "layers": [{"type": "maxpool2d", "kernel_size": 2, "padding": padding}]}
    )
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 1, 1] = np.nan
    y = net.forward(x)
    at = (0, 0) if padding == 0 else (1, 1)  # the window holding x[1, 1]
    assert np.isnan(y[0, 0][at]) and np.isnan(y).sum() == 1


@pytest.mark.parametrize(
    "spec, shape",
    [
        ({"input": [3], "layers": [{"type": "batchnorm1d"}]}, (1, 3)),
        ({"input": [3, 1, 1], "layers": [{"type": "batchnorm2d"}]}, (1, 3, 1, 1)),
    ],
)
def test_batchnorm_refuses_to_train_on_one_value_per_channel(spec, shape):
    """One value per channel has no variance: PyTorch raises, and so do we (else running_var
    quietly goes to 0)."""
    net = engine.build_network(spec)
    x = np.ones(shape, np.float32)
    with pytest.raises(ValueError, match="more than one value per channel"):
        net.forward(x, train=True)
    assert np.all(net.layers()[0].buffers["running_var"] == 1)
    net.forward(x)  # evaluation uses the running statistics: one example is fine
