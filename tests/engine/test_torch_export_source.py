"""engine.to_pytorch without torch: what CI checks when torch is not installed.

The state_dict names follow each layer's path, the source compiles and carries a
comment per layer, and names that come from users (a shared spec, an uploaded
file) never become lines of code. test_torch_export.py runs the exported module
against the engine where torch is installed.
"""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest

import engine

from .export_specs import SPECS, torch_name


def test_state_names_follow_paths():
    """Every engine parameter and buffer appears under the name its path gives."""
    for make in SPECS.values():
        net = engine.build_network(make())
        _, state = engine.to_pytorch(net)
        expected = {torch_name(k) for k in net.state_dict()}
        assert set(state) == expected
        for k, v in net.state_dict().items():
            np.testing.assert_array_equal(state[torch_name(k)], v)


@pytest.mark.parametrize("name", list(SPECS))
def test_source_is_readable(name):
    net = engine.build_network(SPECS[name]())
    src, _state = engine.to_pytorch(net, title=name)
    compile(src, f"{name}.py", "exec")
    assert src.startswith(f'"""{name}: exported from CNN Playground.')
    assert "import engine" not in src and "numpy" not in src.split('"""', 2)[2]
    comments = {}
    for line in src.splitlines():
        m = re.search(r"#\s*(\d+):\s*(\S+)(?:\s+\((.*)\))?\s*$", line)
        if m:
            comments[m.group(2)] = (int(m.group(1)), m.group(3), line)
    for layer in net.layers():
        assert layer.path in comments, f"{layer.path} has no comment in:\n{src}"
        index, label, line = comments[layer.path]
        assert index == int(re.findall(r"\[(\d+)\]$", layer.path)[0]), line
        assert label == layer.name, line
    assert len(comments) == len(net.layers())
    assert max(len(line) for line in src.splitlines()) < 160


def test_names_cannot_become_code_without_running_it():
    """The same injection attempt as test_torch_export.py's, read with ast instead of run."""
    evil = "a\nINJECTED = 1\r\nINJECTED2 = 2\u2028#\x0c"
    spec = {
        "input": [4],
        "layers": [
            {"type": "linear", "out_features": 3, "name": evil},
            {"type": "residual", "name": evil, "body": [{"type": "relu", "name": evil}]},
        ],
    }
    src, _ = engine.to_pytorch(engine.build_network(spec), title='x"""\nINJECTED3 = 3\n"""\\')
    tree = ast.parse(src)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not {"INJECTED", "INJECTED2", "INJECTED3"} & names
    assert ast.get_docstring(tree, clean=False).startswith('x"""\\nINJECTED3')


def test_every_layer_type_writes_its_own_pytorch_module():
    """A new layer type is one class: without its torch_module it cannot be exported, and this
    says which."""
    from engine.layers import Layer

    missing = [t for t, cls in engine.REGISTRY.items() if cls.torch_module is Layer.torch_module]
    assert missing == []


@pytest.mark.parametrize("softmax", [False, True])
def test_the_exports_usage_says_what_model_returns_and_takes(softmax):
    spec = engine.PRESETS["lenet5"]
    if softmax:
        spec = {**spec, "layers": [*spec["layers"], {"type": "softmax"}]}
    net = engine.build_network(spec)
    assert net.ends_in_softmax == softmax
    usage = engine.to_pytorch(net, title="lenet5")[0].split('"""')[1]
    if softmax:
        assert "probabilities = model(images)" in usage
    else:
        assert "logits = model(images)" in usage and "torch.softmax(logits" in usage
    assert "normalised as in training" in usage
    usage = engine.to_pytorch(net, title="lenet5", mean=[0.1], std=[0.3])[0].split('"""')[1]
    assert "pixel values / 255" in usage


@pytest.mark.parametrize(
    "mean, std, words", [([0.1], [0.0], "positive"), ([0.1, 0.2], [0.3], "one per channel"), ([0.1], None, "both")]
)
def test_the_pytorch_export_checks_its_normalisation_as_the_onnx_export_does(mean, std, words):
    net = engine.build_network(engine.PRESETS["lenet5"])
    with pytest.raises(ValueError, match=words):
        engine.to_pytorch(net, mean=mean, std=std)
