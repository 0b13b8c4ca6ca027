"""The ONNX export run in onnxruntime against the engine: logits and probabilities agree to
float tolerance over every preset, every layer type with its awkward options, and random specs.

The onnx and onnxruntime packages are the optional extra [onnx]: outside CI these tests
skip with a message saying how to install it; in CI (CI=true) they must run.
"""

from __future__ import annotations

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
