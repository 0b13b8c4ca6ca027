"""evaluate, predict and export on a saved network file, run as a user runs them."""

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

import engine
from engine.data import load_dataset
from engine.train import evaluate

from .test_cli import cli


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "net.npz"
    cli(
        "train",
        "--preset",
        "lenet5",
        "--dataset",
        "strokes",
        "--epochs",
        "1",
        "--max-train",
        "300",
        "--out",
        str(path),
        "--json",
    )
    return path


def test_evaluate_reports_what_the_engine_measures(model):
    report = json.loads(cli("evaluate", "--model", str(model), "--dataset", "strokes", "--json").stdout)
    net = engine.load(model)
    ds = load_dataset("strokes")
    expected = evaluate(net, ds, ds.x_test, ds.y_test, top=0)
    assert report["n"] == len(ds.x_test) and report["accuracy"] == pytest.approx(expected["accuracy"])
    assert report["confusion"] == expected["confusion"] and report["class_names"] == list(ds.class_names)
    assert np.array(report["confusion"]).sum() == len(ds.x_test)
    table = cli("evaluate", "--model", str(model), "--dataset", "strokes").stdout
    assert f"accuracy {expected['accuracy']:.2%}" in table and "confusion" in table
    assert ds.class_names[0] in table


def test_evaluate_on_a_dataset_of_another_shape_says_so(model):
    out = cli("evaluate", "--model", str(model), "--dataset", "shapes", check=False)  # 3x32x32 images
    assert out.returncode == 2 and "shape [3, 32, 32]" in out.stderr and "[1, 28, 28]" in out.stderr
    missing = cli("evaluate", "--model", str(model.with_name("gone.npz")), "--dataset", "strokes", check=False)
    assert missing.returncode != 0 and "no file" in missing.stderr


def test_predict_images_matches_the_engine(model, tmp_path):
    ds = load_dataset("strokes")
    paths = []
    for i in range(3):
        p = tmp_path / f"digit{i}.png"
        Image.fromarray(ds.x_test[i, 0]).save(p)
        paths.append(str(p))
    rows = [json.loads(line) for line in cli("predict", "--model", str(model), *paths, "--json").stdout.splitlines()]
    net = engine.load(model)
    expected = net.predict_proba(ds.normalize(ds.x_test[:3])).argmax(axis=1)
    assert [r["index"] for r in rows] == expected.tolist()
    assert rows[0]["predicted"] == ds.class_names[expected[0]]
    text = cli("predict", "--model", str(model), paths[0]).stdout
    assert text.startswith(f"{paths[0]}: {ds.class_names[expected[0]]}")
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    out = cli("predict", "--model", str(model), str(bad), check=False)
    assert out.returncode == 1 and "not a PNG or JPEG" in out.stderr


def test_export_formats_keep_the_network(model, tmp_path):
    out = tmp_path / "spec.json"
    cli("export", "--model", str(model), "--format", "json", "--out", str(out), "--name", "digits")
    spec = json.loads(out.read_text())
    assert spec["name"] == "digits" and spec["seed"] == 0 and spec["layers"] == engine.load(model).spec["layers"]
    cli("export", "--model", str(model), "--format", "pytorch", "--out", str(tmp_path / "t.zip"))
    names = zipfile.ZipFile(io.BytesIO((tmp_path / "t.zip").read_bytes())).namelist()
    assert {"model.py", "weights.npz", "network.json"} <= set(names)
