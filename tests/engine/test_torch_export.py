"""The engine against PyTorch, number for number.

engine.to_pytorch(net) gives Python source for an nn.Module and its weights;
here that module is built with the same weights and must agree with the
engine: outputs, loss, parameter and input gradients (evaluation mode and,
for batch norm, training mode with batch statistics and running averages).
The optimizers and schedules are checked against torch.optim's update rules.

torch is not a dependency of the project: every test here is skipped when it
is not installed. What needs no torch (state names, the source's shape and
comments, code injection through names) is in test_torch_export_source.py, and
the specs both use are in export_specs.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine

from .export_specs import SPECS, torch_name

torch = pytest.importorskip("torch")
F = torch.nn.functional

# PyTorch pads an even span's "same" convolution through a padded copy of the input, and says
# so; the exported module keeps padding="same", which is PyTorch's own way to ask for it
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using padding='same' with even kernel lengths and odd dilation:UserWarning"
)


# ---------------------------------------------------------------------------
# Specs
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def make_net(spec: dict, dtype=np.float32, seed: int = 0) -> engine.Network:
    """A network whose biases, batch-norm affine parameters and running statistics
    are random too (they start at 0 / 1, which would hide mix-ups)."""
    net = engine.build_network(spec, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 100)
    state = {}
    for k, v in net.state_dict().items():
        name = k.rsplit(".", 1)[1]
        if name == "running_var":
            state[k] = rng.uniform(0.5, 2.0, v.shape)
        elif name == "gamma":
            state[k] = rng.uniform(0.5, 1.5, v.shape)
        elif name in ("b", "beta", "running_mean"):
            state[k] = rng.normal(0, 0.2, v.shape)
        else:
            state[k] = v
    net.load_state_dict(state)
    return net


def exported(net: engine.Network):
    """(torch module built from to_pytorch's source with its weights, source)."""
    src, state = engine.to_pytorch(net)
    ns: dict = {}
    exec(compile(src, "exported_net.py", "exec"), ns)
    torch.manual_seed(0)
    model = ns["Net"]()
    if net.dtype == np.float64:
        model = model.double()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    return model, src


def torch_logits(model, net):
    """The torch module up to (not including) a trailing softmax, as net.logits."""
    return model.logits


def batch(net, n=6, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n,) + net.input_shape).astype(net.dtype)
    y = rng.integers(0, net.output_shape[0], size=n)
    return x, y


def close(actual, expected, what, rtol=1e-4, atol=1e-5):
    """assert_allclose with atol relative to the scale of the expected values."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-3)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale, err_msg=what)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Small tensors: threads only add overhead (and contend with the engine's BLAS)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------
# 1. The exported module computes what the engine computes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SPECS))
def test_forward_matches_in_eval_mode(name):
    net = make_net(SPECS[name]())
    model, _ = exported(net)
    model.eval()
    x, _ = batch(net, n=4)
    with torch.no_grad():
        expected = model(t(x)).numpy()
    close(net.forward(x), expected, f"{name}: outputs")
    if net.ends_in_softmax:
        close(net.predict_proba(x), expected, f"{name}: probabilities")


@pytest.mark.parametrize("name", list(SPECS))
def test_gradients_match_in_eval_mode(name):
    net = make_net(SPECS[name]())
    model, _ = exported(net)
    model.eval()
    x, y = batch(net, n=4)

    net.zero_grad()
    loss, z = net.loss_and_backward(x, y, train=False)

    xt = t(x).requires_grad_(True)
    zt = torch_logits(model, net)(xt)
    lt = F.cross_entropy(zt, t(y))
    lt.backward()

    close(z, zt.detach().numpy(), f"{name}: logits")
    assert loss == pytest.approx(lt.item(), rel=1e-5, abs=1e-6)
    grads = dict(model.named_parameters())
    for p in net.parameters():
        tg = grads[torch_name(p.key)].grad
        assert tg is not None, p.key
        close(p.grad, tg.numpy(), f"{name}: d loss / d {p.key}", atol=3e-5)

    # and the gradient reaching the input
    zz = net.logits(x, record=True)
    _, dz = engine.cross_entropy(zz, y)
    dx = net.trunk.backward(dz)
    close(dx, xt.grad.numpy(), f"{name}: d loss / d input", atol=3e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["resnet8", "concat", "every_layer", "mlp"])
def test_batchnorm_training_mode_matches(name, dtype):
    """Training mode: batch statistics in the forward and in the gradients, running
    averages updated with momentum and the unbiased variance, as nn.BatchNormNd.

    In float64 the agreement is to rounding; in float32 the batch-norm backward
    (a difference of nearly equal sums over a batch of 5) loses a few more digits.
    """
    spec = SPECS[name]()
    for layer in spec["layers"]:
        if layer["type"] == "dropout":  # random masks cannot be compared; p = 0 is the identity
            layer["p"] = 0.0
    net = make_net(spec, dtype=dtype)
    model, _ = exported(net)
    model.train()
    x, y = batch(net, n=5)
    tol = dict(rtol=1e-9, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-4, atol=2e-4)

    for step in range(2):  # twice: the running averages compound
        net.zero_grad()
        model.zero_grad()
        xs = x if step == 0 else x[::-1] * 1.5 + 0.1
        loss, z = net.loss_and_backward(xs, y, train=True)
        zt = torch_logits(model, net)(t(xs))
        lt = F.cross_entropy(zt, t(y))
        lt.backward()
        close(z, zt.detach().numpy(), f"{name}: training-mode logits (step {step})", **tol)
        assert loss == pytest.approx(lt.item(), rel=1e-5, abs=1e-6)
        grads = {k: v.grad.numpy() for k, v in model.named_parameters()}
        # a bias right before batch norm gets a gradient of 0 but for rounding, which the
        # normalization's backward amplifies; both sides must only agree that it is ~0
        top = max(float(np.abs(g).max()) for g in grads.values())
        cut = top * (1e-3 if dtype == np.float32 else 1e-9)
        for p in net.parameters():
            expected = grads[torch_name(p.key)]
            what = f"{name}: training-mode d loss / d {p.key} (step {step})"
            if np.abs(expected).max() < cut:
                assert np.abs(p.grad).max() < cut, what
            else:
                close(p.grad, expected, what, **tol)

    buffers = dict(model.named_buffers())
    n_bn = 0
    for layer in net.layers():
        for b, v in layer.buffers.items():
            n_bn += 1
            close(
                v,
                buffers[torch_name(f"{layer.path}.{b}")].numpy(),
                f"{name}: {layer.path}.{b} after two training passes",
                **tol,
            )
    assert n_bn > 0


@pytest.mark.parametrize(
    "pool",
    [
        {"kernel_size": 2},  # windows tile the input (reshape path)
        {"kernel_size": 3, "stride": 2, "padding": 1},  # overlapping, padded
        {"kernel_size": [2, 3], "stride": [1, 2], "padding": [1, 1]},
    ],
)
def test_maxpool_ties_route_the_gradient_like_torch(pool):
    """With equal values in a window the gradient goes to the first maximum, as in PyTorch."""
    spec = {"input": [2, 6, 6], "layers": [{"type": "maxpool2d", **pool}]}
    net = engine.build_network(spec)
    model, _ = exported(net)
    x = np.random.default_rng(2).integers(0, 3, size=(3, 2, 6, 6)).astype(np.float32)
    dy = np.random.default_rng(3).normal(size=(3,) + net.output_shape).astype(np.float32)
    xt = t(x).requires_grad_(True)
    yt = model(xt)
    yt.backward(t(dy))
    close(net.forward(x, record=True), yt.detach().numpy(), "max pooling")
    close(net.backward(dy), xt.grad.numpy(), "max pooling gradient")


CONV_OPTIONS = {  # one layer each, in a (4, 9, 10) input
    "groups": {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "groups": 2, "padding": 1},
    "depthwise": {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "groups": 4, "stride": 2},
    "dilation": {"type": "conv2d", "out_channels": 5, "kernel_size": [3, 2], "dilation": [2, 3], "padding": [2, 1]},
    "same_even": {"type": "conv2d", "out_channels": 3, "kernel_size": [4, 2], "padding": "same"},
    "same_even_dilated": {
        "type": "conv2d",
        "out_channels": 4,
        "kernel_size": 2,
        "dilation": 3,
        "padding": "same",
        "groups": 2,
    },
    "conv_transpose2d": {"type": "conv_transpose2d", "out_channels": 3, "kernel_size": 4, "stride": 2, "padding": 1},
    "conv_transpose2d_options": {
        "type": "conv_transpose2d",
        "out_channels": 6,
        "kernel_size": [3, 2],
        "stride": [2, 3],
        "padding": [1, 0],
        "output_padding": [1, 2],
        "dilation": [1, 2],
        "groups": 2,
    },
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("option", list(CONV_OPTIONS))
def test_each_new_convolution_option_matches_torch(option, dtype):
    """Outputs, dL/dW, dL/db and dL/dx of the layer alone against its exported PyTorch module."""
    net = make_net({"input": [4, 9, 10], "layers": [CONV_OPTIONS[option]]}, dtype=dtype)
    model, _ = exported(net)
    x, _ = batch(net, n=3)
    dy = np.random.default_rng(2).normal(size=(3,) + net.output_shape).astype(dtype)
    xt = t(x).requires_grad_(True)
    yt = model(xt)
    yt.backward(t(dy))
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-6}
    close(net.forward(x, record=True), yt.detach().numpy(), f"{option}: outputs", **tol)
    close(net.backward(dy), xt.grad.numpy(), f"{option}: d loss / d input", **tol)
    layer = net.layers()[0]
    for name, p in dict(model.layers[0].named_parameters()).items():
        ours = layer.grads["W" if name == "weight" else "b"]
        close(ours, p.grad.numpy(), f"{option}: d loss / d {name}", **tol)


# ---------------------------------------------------------------------------
# 2. Optimizers follow torch.optim's update rules
# ---------------------------------------------------------------------------


OPT_SPEC = {
    "input": [2, 6, 6],
    "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d"},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "linear", "out_features": 8},
        {"type": "tanh"},
        {"type": "linear", "out_features": 3},
    ],
}

# (engine name, engine options, torch class name, torch options)
OPTIMIZER_CASES = {
    "sgd": ("sgd", {}, "SGD", {}),
    "sgd_wd": ("sgd", {"weight_decay": 0.05}, "SGD", {"weight_decay": 0.05}),
    "sgd_momentum": ("sgd", {"momentum": 0.9, "weight_decay": 0.01}, "SGD", {"momentum": 0.9, "weight_decay": 0.01}),
    "sgd_nesterov": (
        "sgd",
        {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        "SGD",
        {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    ),
    "adam": ("adam", {}, "Adam", {}),
    "adam_options": (
        "adam",
        {"beta1": 0.8, "beta2": 0.95, "eps": 1e-6, "weight_decay": 0.01},
        "Adam",
        {"betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.01},
    ),
    "rmsprop": ("rmsprop", {}, "RMSprop", {}),
    "rmsprop_momentum": (
        "rmsprop",
        dict(momentum=0.9, alpha=0.9, eps=1e-6, weight_decay=0.01),
        "RMSprop",
        dict(momentum=0.9, alpha=0.9, eps=1e-6, weight_decay=0.01),
    ),
    "adagrad": ("adagrad", {}, "Adagrad", {}),
    "adagrad_wd": ("adagrad", {"eps": 1e-6, "weight_decay": 0.01}, "Adagrad", {"eps": 1e-6, "weight_decay": 0.01}),
}


def _opt_pair(lr):
    # float64 on both sides: the comparison is of update rules, not of rounding
    net = make_net(OPT_SPEC, dtype=np.float64, seed=3)
    model, _ = exported(net)
    model.eval()
    x, y = batch(net, n=8, seed=4)
    return net, model, x, y


def _engine_step(net, opt, x, y):
    net.zero_grad()
    net.loss_and_backward(x, y, train=False)
    opt.step()


def _torch_grads(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(t(x)), t(y)).backward()


def _compare_weights(net, model, what):
    params = dict(model.named_parameters())
    for p in net.parameters():
        np.testing.assert_allclose(
            p.value, params[torch_name(p.key)].detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=f"{what}: {p.key}"
        )


@pytest.mark.parametrize("case", list(OPTIMIZER_CASES))
def test_optimizer_matches_torch(case):
    name, opts, tname, topts = OPTIMIZER_CASES[case]
    lr = 0.05
    net, model, x, y = _opt_pair(lr)
    before = {p.key: p.value.copy() for p in net.parameters()}
    opt = engine.make_optimizer(name, net.parameters(), lr=lr, **opts)
    topt = getattr(torch.optim, tname)(model.parameters(), lr=lr, **topts)
    for _ in range(3):
        _engine_step(net, opt, x, y)
        _torch_grads(model, x, y)
        topt.step()
    _compare_weights(net, model, case)
    moved = sum(float(np.abs(p.value - before[p.key]).max()) for p in net.parameters())
    assert moved > 1e-3, "the optimizer did not change the weights"


@pytest.mark.parametrize("case", ["sgd_momentum", "adam", "rmsprop"])
def test_l1_matches_torch_with_l1_added_to_the_gradient(case):
    """L1 has no torch.optim option: add l1 * sign(w) to torch's gradients by hand."""
    name, opts, tname, topts = OPTIMIZER_CASES[case]
    lr, l1 = 0.05, 0.02
    net, model, x, y = _opt_pair(lr)
    opt = engine.make_optimizer(name, net.parameters(), lr=lr, l1=l1, **opts)
    topt = getattr(torch.optim, tname)(model.parameters(), lr=lr, **topts)
    for _ in range(3):
        _engine_step(net, opt, x, y)
        _torch_grads(model, x, y)
        with torch.no_grad():
            for p in model.parameters():
                p.grad += l1 * torch.sign(p)
        topt.step()
    _compare_weights(net, model, f"{case} + l1")


def test_l1_sgd_by_hand():
    """w <- w - lr * (g + weight_decay * w + l1 * sign(w)), with g the loss gradient."""
    lr, l1, wd = 0.1, 0.03, 0.01
    net = make_net(OPT_SPEC, dtype=np.float64, seed=5)
    x, y = batch(net, n=8, seed=6)
    opt = engine.make_optimizer("sgd", net.parameters(), lr=lr, weight_decay=wd, l1=l1)
    for _ in range(3):
        net.zero_grad()
        net.loss_and_backward(x, y, train=False)
        expected = {p.key: p.value - lr * (p.grad + wd * p.value + l1 * np.sign(p.value)) for p in net.parameters()}
        opt.step()
        for p in net.parameters():
            np.testing.assert_allclose(p.value, expected[p.key], rtol=1e-12, atol=1e-15, err_msg=p.key)
    # a zero weight gets no L1 push (sign(0) = 0)
    p = net.parameters()[0]
    p.value[...] = 0
    for q in net.parameters():
        q.layer.grads[q.name] = np.zeros_like(q.value)
    opt = engine.make_optimizer("sgd", net.parameters(), lr=lr, l1=l1)
    opt.step()
    assert not p.value.any()


def test_frozen_layers_are_exported_frozen():
    """trainable: false becomes requires_grad False, so a PyTorch optimizer leaves them too."""
    spec = {
        "input": [1, 6, 6],
        "layers": [
            {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "trainable": False},
            {"type": "batchnorm2d", "trainable": False},
            {"type": "flatten"},
            {"type": "linear", "out_features": 3},
        ],
    }
    model, _ = exported(engine.build_network(spec))
    frozen = {k for k, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"}


def test_batchnorm_exports_how_many_batches_it_tracked():
    net = engine.build_network({"input": [3], "layers": [{"type": "batchnorm1d"}]})
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    for _ in range(3):
        net.forward(x, train=True)
    net.forward(x)  # evaluation does not count
    _, state = engine.to_pytorch(net)
    assert state["layers.0.num_batches_tracked"].dtype == np.int64
    assert int(state["layers.0.num_batches_tracked"]) == 3
    model, _ = exported(net)
    assert int(model.layers[0].num_batches_tracked) == 3


def test_a_trailing_softmax_is_exported_apart_from_the_logits():
    """Training the export with nn.CrossEntropyLoss must not apply the softmax twice: the
    logits model is model.logits, model(x) adds the softmax."""
    net = make_net(SPECS["mlp"]())
    assert net.ends_in_softmax
    model, src = exported(net)
    assert "nn.CrossEntropyLoss()(model.logits(" in src
    model.eval()
    assert not any(isinstance(m, torch.nn.Softmax) for m in model.layers.modules())
    x, _ = batch(net)
    with torch.no_grad():
        close(model.logits(t(x)).numpy(), net.logits(x), "logits")
        close(model(t(x)).numpy(), net.forward(x), "probabilities")


def test_the_export_normalises_its_input_as_the_dataset_did():
    from engine.data import load_dataset

    ds = load_dataset("strokes", n=20, seed=0)
    net = make_net(engine.PRESETS["lenet5"])
    src, state = engine.to_pytorch(net, mean=ds.mean, std=ds.std)
    ns: dict = {}
    exec(compile(src, "exported_net.py", "exec"), ns)
    model = ns["Net"]().eval()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    xb, _ = next(ds.batches(ds.x_train, ds.y_train, 8, np.random.default_rng(0), shuffle=False))
    pixels = ds.x_train[:8].astype(np.float32) / 255  # what the user feeds: pixel values / 255
    with torch.no_grad():
        close(model(t(pixels)).numpy(), net.forward(xb), "outputs from pixels / 255")
    assert f"mean [{float(ds.mean[0])}]" in src


def test_frozen_layers_are_not_updated():
    spec = {
        "input": [4],
        "layers": [{"type": "linear", "out_features": 3, "trainable": False}, {"type": "linear", "out_features": 2}],
    }
    net = make_net(spec, dtype=np.float64)
    frozen = net.layers()[0].params["W"].copy()
    x, y = batch(net, n=4)
    opt = engine.make_optimizer("adam", net.parameters(), lr=0.1)
    _engine_step(net, opt, x, y)
    np.testing.assert_array_equal(net.layers()[0].params["W"], frozen)


# ---------------------------------------------------------------------------
# 3. Learning-rate schedules follow torch.optim.lr_scheduler
# ---------------------------------------------------------------------------


def _dummy_optimizer(lr):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


@pytest.mark.parametrize("step_size,gamma", [(1, 0.5), (3, 0.1), (2, 0.9)])
def test_step_schedule_matches_steplr(step_size, gamma):
    lr, spe, epochs = 0.1, 4, 10
    sched = engine.make_schedule("step", lr, steps_per_epoch=spe, epochs=epochs, step_size=step_size, gamma=gamma)
    topt = _dummy_optimizer(lr)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=step_size, gamma=gamma)
    for epoch in range(epochs):
        expected = topt.param_groups[0]["lr"]
        for i in range(spe):
            assert sched(epoch * spe + i) == pytest.approx(expected, rel=1e-12), (epoch, i)
        topt.step()
        tsched.step()


@pytest.mark.parametrize("min_lr", [0.0, 0.001])
def test_cosine_schedule_matches_cosine_annealing_per_iteration(min_lr):
    lr, spe, epochs = 0.1, 7, 3
    total = spe * epochs
    sched = engine.make_schedule("cosine", lr, steps_per_epoch=spe, epochs=epochs, min_lr=min_lr)
    topt = _dummy_optimizer(lr)
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=total, eta_min=min_lr)
    for step in range(total + 1):
        assert sched(step) == pytest.approx(topt.param_groups[0]["lr"], rel=1e-9, abs=1e-15), step
        topt.step()
        tsched.step()
    assert sched(total) == pytest.approx(min_lr, abs=1e-15)
    assert sched(total + 5) == pytest.approx(min_lr, abs=1e-15)  # stays at the floor afterwards


def test_constant_schedule():
    sched = engine.make_schedule("constant", 0.03, steps_per_epoch=5, epochs=2)
    assert {sched(s) for s in range(20)} == {0.03}


# ---------------------------------------------------------------------------
# 4. The source reads well
# ---------------------------------------------------------------------------


def test_names_cannot_inject_code():
    """Layer names and the title come from users (a shared spec, an uploaded file):
    they appear in comments and the docstring, never as lines of code."""
    evil = "a\nINJECTED = 1\r\nINJECTED2 = 2\u2028#\x0c"
    spec = {
        "input": [4],
        "layers": [
            {"type": "linear", "out_features": 3, "name": evil},
            {"type": "residual", "name": evil, "body": [{"type": "relu", "name": evil}]},
        ],
    }
    net = engine.build_network(spec)
    src, _ = engine.to_pytorch(net, title='x"""\nINJECTED3 = 3\n"""\\')
    clean, _ = engine.to_pytorch(
        engine.build_network(
            {
                "input": [4],
                "layers": [{"type": "linear", "out_features": 3}, {"type": "residual", "body": [{"type": "relu"}]}],
            }
        )
    )
    assert len(src.splitlines()) == len(clean.splitlines())
    ns: dict = {}
    exec(compile(src, "exported_net.py", "exec"), ns)
    assert not {"INJECTED", "INJECTED2", "INJECTED3"} & set(ns)
    assert ns["__doc__"].startswith('x"""\\nINJECTED3')
    assert ns["Net"]()(torch.zeros(2, 4)).shape == (2, 3)
