"""ONNX through the API and the command line: the export route, /api/health saying whether this
server can write it, and `cnn-playground export --format onnx`; and, on a server without the
[onnx] extra, a 501 and an error that say how to install it."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import engine
from engine.data import load_dataset

from .conftest import make_network
from .test_cli import cli


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


def test_an_onnx_export_for_a_dataset_takes_pixels_over_255_and_answers_as_the_server(ort, client):
    nid = make_network(client, preset="lenet5", name="digits")
    r = client.get(f"/api/networks/{nid}/export?format=onnx&dataset=strokes")
    assert r.status_code == 200, r.text
    session = ort.InferenceSession(r.content, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["dataset"] == "strokes" and json.loads(meta["classes"])[:2] == ["0", "1"]
    ds = load_dataset("strokes")
    pixels = ds.x_test[:4]
    inputs = {session.get_inputs()[0].name: (pixels.astype(np.float32) / 255)}
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, inputs)))
    served = client.post(
        f"/api/networks/{nid}/predict/batch", json={"inputs": [{"dataset": "strokes", "index": i} for i in range(4)]}
    ).json()["predictions"]
    assert np.allclose(outputs["probabilities"], [p["probabilities"] for p in served], atol=1e-5)


def test_export_onnx_runs_as_the_network_with_its_name_and_seed(ort, client, tmp_path):
    nid = make_network(client, preset="resnet8", name="Skip", seed=4)
    r = client.get(f"/api/networks/{nid}/export?format=onnx")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/onnx"
    assert 'filename="Skip.onnx"' in r.headers["content-disposition"]
    session = ort.InferenceSession(r.content, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert (meta["name"], meta["seed"]) == ("Skip", "4")
    npz = tmp_path / "skip.npz"
    npz.write_bytes(client.get(f"/api/networks/{nid}/export?format=npz").content)
    net = engine.load(npz)
    assert json.loads(meta["spec"])["layers"] == net.spec["layers"]
    x = np.random.default_rng(0).normal(size=(2, *net.input_shape)).astype(np.float32)
    (p,) = session.run(["probabilities"], {"input": x})
    np.testing.assert_allclose(p, net.predict_proba(x), rtol=1e-4, atol=1e-6)


def test_health_lists_onnx_among_the_export_formats(ort, client):
    health = client.get("/api/health").json()
    assert health["export_formats"] == ["npz", "json", "pytorch", "onnx"]
    assert health["missing_exports"] == {}


def test_cli_exports_onnx(ort, tmp_path):
    model = tmp_path / "net.npz"
    engine.save(engine.build_network(engine.PRESETS["lenet5"], seed=1), model)
    cli("export", "--model", str(model), "--format", "onnx")
    session = ort.InferenceSession(str(tmp_path / "net.onnx"), providers=["CPUExecutionProvider"])
    x = np.zeros((1, 1, 28, 28), np.float32)
    np.testing.assert_allclose(
        session.run(["probabilities"], {"input": x})[0], engine.load(model).predict_proba(x), rtol=1e-4, atol=1e-6
    )


WITHOUT_ONNX = """
import json, sys
sys.modules["onnx"] = None  # as if the [onnx] extra were not installed
from fastapi.testclient import TestClient
from app.main import create_app
from app.settings import Settings
with TestClient(create_app(Settings(data_dir=sys.argv[1]))) as client:
    health = client.get("/api/health").json()
    nid = client.post("/api/networks", json={"preset": "lenet5"}).json()["id"]
    r = client.get(f"/api/networks/{nid}/export?format=onnx")
    print(json.dumps({"health": health, "status": r.status_code, "detail": r.json()["detail"]}))
"""


def test_a_server_without_the_extra_says_how_to_install_it(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", WITHOUT_ONNX, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert "onnx" not in seen["health"]["export_formats"]
    assert seen["health"]["missing_exports"] == {"onnx": 'pip install "cnn-playground[onnx]"'}
    assert seen["status"] == 501
    assert 'pip install "cnn-playground[onnx]"' in seen["detail"] and "cannot export onnx" in seen["detail"]


def test_cli_without_the_extra_says_how_to_install_it(tmp_path):
    model = tmp_path / "net.npz"
    engine.save(engine.build_network(engine.PRESETS["lenet5"], seed=1), model)
    code = (
        "import sys; sys.modules['onnx'] = None\nfrom app.cli import main\n"
        f"sys.exit(main(['export', '--model', {str(model)!r}, '--format', 'onnx']))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 2 and 'pip install "cnn-playground[onnx]"' in out.stderr
    assert not (tmp_path / "net.onnx").exists()
