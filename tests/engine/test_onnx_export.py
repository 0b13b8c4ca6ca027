"""The ONNX export run in onnxruntime against the engine: logits and probabilities agree to
float tolerance over every preset, every layer type with its awkward options, and random specs.

The onnx and onnxruntime packages are the optional extra [onnx]: outside CI these tests
skip with a message saying how to install it; in CI (CI=true) they must run.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import engine
from engine.onnx_export import EXPORTERS, OPSET, to_onnx

from .export_specs import SPECS

HUGE = {"alexnet", "alexnet_paper", "vgg16"}  # 60 to 138 million weights: a few seconds each


@pytest.fixture(scope="module")
def ort():
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError:
        why = "the ONNX export tests need the [onnx] extra: pip install -e '.[onnx]'"
        if os.environ.get("CI") == "true":
            pytest.fail(f"ONNX tests must run in CI: {why}")
        pytest.skip(why)
    return onnxruntime


def _with_statistics(net, seed=0):
    """Batch norm with running statistics and scales of its own, so that evaluation mode
    differs from the identity it starts as."""
    rng = np.random.default_rng(seed)
    for layer in net.layers():
        if "running_var" in layer.buffers:
            layer.buffers["running_mean"][:] = rng.normal(0, 0.5, layer.c)
            layer.buffers["running_var"][:] = rng.uniform(0.5, 2.0, layer.c)
            layer.params["gamma"][:] = rng.normal(1, 0.3, layer.c)
            layer.params["beta"][:] = rng.normal(0, 0.3, layer.c)
    return net


def _check(ort, net, n=3, seed=0):
    session = ort.InferenceSession(to_onnx(net), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(seed).normal(size=(n, *net.input_shape)).astype(np.float32)
    probabilities, logits = session.run(["probabilities", "logits"], {"input": x})
    expected = net.logits(x)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(probabilities, net.predict_proba(x), rtol=1e-4, atol=1e-6)


def test_every_layer_type_has_an_exporter():
    assert set(EXPORTERS) == set(engine.REGISTRY)


@pytest.mark.parametrize("name", [p for p in engine.PRESETS if p not in HUGE])
def test_preset_runs_in_onnxruntime_as_in_the_engine(ort, name):
    _check(ort, _with_statistics(engine.build_network(engine.PRESETS[name], seed=3)))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HUGE))
def test_full_size_preset_runs_in_onnxruntime_as_in_the_engine(ort, name):
    _check(ort, engine.build_network(engine.PRESETS[name], seed=3), n=1)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_layer_option_runs_in_onnxruntime_as_in_the_engine(ort, name):
    """Every layer type, "same" padding of even kernels, groups, dilation, padded pooling,
    transposed convolutions with output_padding (also one not less than its stride)."""
    _check(ort, _with_statistics(engine.build_network(SPECS[name](), seed=1)))


def test_the_batch_size_is_free(ort):
    net = engine.build_network(engine.PRESETS["lenet5"], seed=0)
    _check(ort, net, n=1)
    _check(ort, net, n=7)


def test_the_model_says_its_opset_and_names_weights_as_the_engine(ort):
    import onnx

    net = engine.build_network(engine.PRESETS["resnet8"], seed=0)
    model = onnx.load_from_string(to_onnx(net, "resnet8"))
    assert [o.version for o in model.opset_import if o.domain == ""] == [OPSET]
    assert OPSET >= 17
    # every weight and running statistic by the engine's name; batch norm's step counter is training's only
    inference = {k for k in net.state_dict() if not k.endswith("num_batches_tracked")}
    assert {i.name for i in model.graph.initializer} == inference
    assert [o.name for o in model.graph.output] == ["probabilities", "logits"]


def _random_spec():
    from tests.app.test_spec_fuzz import conv_family_specs, nearly_valid_layers

    small = st.fixed_dictionaries(
        {
            "input": st.one_of(
                st.lists(st.integers(1, 12), min_size=3, max_size=3),
                st.lists(st.integers(1, 24), min_size=1, max_size=1),
            ),
            "layers": nearly_valid_layers(),
        }
    )
    return st.one_of(small, conv_family_specs)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(spec=_random_spec())
def test_random_specs_run_in_onnxruntime_as_in_the_engine(ort, spec):
    try:
        net = engine.build_network(spec, seed=2)
    except (engine.SpecErrors, engine.SpecError):
        assume(False)
    assume(net.num_params() < 200_000)
    sizes = [np.prod(layer.out_shape) for layer in net.layers()]
    assume(max(sizes, default=0) < 200_000)
    _check(ort, _with_statistics(net))


def test_without_onnx_the_export_says_how_to_install_it():
    code = (
        "import sys; sys.modules['onnx'] = None\n"
        "import engine; from engine.onnx_export import to_onnx, onnx_available, OnnxUnavailable\n"
        "assert not onnx_available()\n"
        "try:\n    to_onnx(engine.build_network(engine.PRESETS['lenet5']))\n"
        "except OnnxUnavailable as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install" in out.stdout and "[onnx]" in out.stdout


# ---------------------------------------------------------------------------
# Normalisation in the graph: to_onnx(net, mean=..., std=...) takes pixel values / 255
# ---------------------------------------------------------------------------


def _trained(ds, preset: str):
    """The preset fitted to the dataset's classes after one short epoch, so that its batch norm
    holds running statistics of normalised data."""
    from engine.train import TrainConfig, Trainer

    spec = copy.deepcopy(engine.PRESETS[preset])
    spec["layers"][-1]["out_features"] = len(ds.class_names)
    net = engine.build_network(spec, seed=0)
    Trainer(net, ds, TrainConfig(epochs=1, batch_size=8, lr=0.05, max_train=24)).run()
    running = [layer.buffers["running_mean"] for layer in net.layers() if "running_mean" in layer.buffers]
    assert running and all(np.abs(m).max() > 0.01 for m in running)  # training moved every one
    return net


@pytest.fixture(scope="module")
def normalised_cases():
    """(preset, dataset, network): one channel, three channels, and batch norm after training."""
    from engine.data import load_dataset

    strokes, shapes = load_dataset("strokes", n=20, seed=0), load_dataset("shapes", n=40, seed=0)
    return {
        "lenet5": (strokes, _with_statistics(engine.build_network(engine.PRESETS["lenet5"], seed=3))),
        "cnn_small_32": (shapes, engine.build_network(engine.PRESETS["cnn_small_32"], seed=3)),
        "resnet_small_32 trained": (shapes, _trained(shapes, "resnet_small_32")),
    }


def _run(ort, model: bytes, x: np.ndarray, output: str = "probabilities") -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run([output], {"input": x})[0]


@pytest.mark.parametrize("case", ["lenet5", "cnn_small_32", "resnet_small_32 trained"])
def test_the_model_normalises_pixels_as_the_dataset_did(ort, normalised_cases, case):
    ds, net = normalised_cases[case]
    pixels = ds.x_test[:6].astype(np.float32) / 255  # what the user feeds: pixel values / 255, in [0, 1]
    expected = net.predict_proba(ds.normalize(ds.x_test[:6]))  # (x - mean) / std, as training saw it
    got = _run(ort, to_onnx(net, title=case, mean=ds.mean, std=ds.std), pixels)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    # the model without normalisation gets these inputs wrong: the case shows the difference
    assert np.abs(_run(ort, to_onnx(net), pixels) - expected).max() > 1e-3


@pytest.mark.parametrize("case", ["lenet5", "cnn_small_32", "resnet_small_32 trained"])
def test_the_pytorch_export_with_the_same_normalisation_agrees(ort, normalised_cases, case):
    torch = pytest.importorskip("torch")
    ds, net = normalised_cases[case]
    src, state = engine.to_pytorch(net, mean=ds.mean, std=ds.std)
    ns: dict = {}
    exec(compile(src, "exported_net.py", "exec"), ns)
    model = ns["Net"]().eval()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    pixels = ds.x_test[:6].astype(np.float32) / 255
    with torch.no_grad():  # Net(x) ends in a softmax only where the spec does: compare the logits
        from_torch = model.logits(torch.from_numpy(pixels)).numpy()
    from_onnx = _run(ort, to_onnx(net, mean=ds.mean, std=ds.std), pixels, "logits")
    np.testing.assert_allclose(from_onnx, from_torch, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(from_torch).max()))


def test_a_vector_input_takes_one_mean_and_std_for_all_features(ort):
    net = engine.build_network({"input": [4], "layers": [{"type": "linear", "out_features": 3}]}, seed=0)
    x = np.random.default_rng(0).uniform(size=(5, 4)).astype(np.float32)
    got = _run(ort, to_onnx(net, mean=0.5, std=[0.25]), x)
    np.testing.assert_allclose(got, net.predict_proba((x - 0.5) / 0.25), rtol=1e-4, atol=1e-6)


def test_the_model_says_its_input_is_pixels_normalised_inside(ort):
    import onnx

    net = engine.build_network(engine.PRESETS["cnn_small_32"], seed=0)
    mean, std = [0.49, 0.42, 0.52], [0.24, 0.35, 0.31]
    model = onnx.load_from_string(to_onnx(net, "cnn", metadata={"name": "cnn"}, mean=mean, std=std))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["name"] == "cnn"  # the caller's entries stay
    assert json.loads(props["input_mean"]) == pytest.approx(mean) and json.loads(props["input_std"]) == pytest.approx(
        std
    )
    for text in (props["input_normalization"], model.graph.input[0].doc_string, model.doc_string):
        assert "pixel values / 255" in text and "[0.49, 0.42, 0.52]" in text and "[0.24, 0.35, 0.31]" in text
    # the first nodes: (input - mean) / std, constants shaped (1, C, 1, 1) to broadcast over N, C, H, W
    first, second = model.graph.node[:2]
    assert (first.op_type, list(first.input)) == ("Sub", ["input", "input_mean"])
    assert (second.op_type, list(second.input)) == ("Div", [first.output[0], "input_std"])
    shapes = {i.name: list(i.dims) for i in model.graph.initializer}
    assert shapes["input_mean"] == shapes["input_std"] == [1, 3, 1, 1]

    plain = onnx.load_from_string(to_onnx(net, "cnn", metadata={"name": "cnn"}))
    assert {p.key for p in plain.metadata_props} == {"name"}
    assert plain.graph.input[0].doc_string == "" and "pixel" not in plain.doc_string
    assert plain.graph.node[0].input[0] == "input" and plain.graph.node[0].op_type == "Conv"


@pytest.mark.parametrize(
    "mean, std, message",
    [
        ([0.5, 0.5], [0.2, 0.2, 0.2], "mean has 2 values but the network's input .3, 32, 32. has 3 channels"),
        ([0.5] * 3, [0.2] * 4, "std has 4 values"),
        ([[0.5, 0.5, 0.5]], 0.2, "mean must be one number or a flat list"),
        (0.5, [0.2, 0.0, 0.2], "std must be positive"),
        (0.5, -0.2, "std must be positive"),
        ([0.5, float("nan"), 0.5], 0.2, "mean must be finite"),
        (0.5, float("inf"), "std must be finite"),
        (1e300, 0.2, "mean must be finite numbers within float32's range"),
        ("grey", 0.2, "mean must be numbers"),
        (0.5, None, "give both mean and std"),
        (None, 0.2, "give both mean and std"),
    ],
)
def test_a_mean_or_std_that_does_not_fit_is_refused(mean, std, message):
    net = engine.build_network(engine.PRESETS["cnn_small_32"], seed=0)
    with pytest.raises(ValueError, match=message):
        to_onnx(net, mean=mean, std=std)


def test_a_vector_input_refuses_one_mean_per_feature():
    net = engine.build_network({"input": [4], "layers": [{"type": "linear", "out_features": 3}]}, seed=0)
    with pytest.raises(ValueError, match=r"mean has 4 values but the network's input \(4,\) has no channels"):
        to_onnx(net, mean=[0.1, 0.2, 0.3, 0.4], std=1.0)
