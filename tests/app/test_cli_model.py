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

from .test_cli import cli, usage_error


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


def test_predict_top_is_at_least_one_and_at_most_every_class(model, tmp_path):
    image = tmp_path / "blank.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(image)
    for top in ("0", "-1", "two"):
        out = cli("predict", "--model", str(model), str(image), "--top", top, check=False)
        usage_error(out, "--top")
    row = json.loads(cli("predict", "--model", str(model), str(image), "--top", "50", "--json").stdout)
    assert sorted(t["index"] for t in row["top"]) == list(range(10))


def test_export_never_replaces_its_model(model, tmp_path):
    """Without --out, an npz export goes beside the model under another name, and never over a file."""
    copy = tmp_path / "net.npz"
    copy.write_bytes(model.read_bytes())
    cli("export", "--model", str(copy), "--format", "npz")
    assert copy.read_bytes() == model.read_bytes()
    exported = engine.load(tmp_path / "net-export.npz")
    assert exported.spec["layers"] == engine.load(model).spec["layers"]
    usage_error(cli("export", "--model", str(copy), "--format", "npz", check=False), "already exists", "--out")
    usage_error(
        cli("export", "--model", str(copy), "--format", "npz", "--out", str(copy), check=False),
        "the file this command reads",
    )
    assert copy.read_bytes() == model.read_bytes()


def test_export_checks_out_and_name_first(model, tmp_path):
    export = ("export", "--model", str(model), "--format", "json")
    usage_error(cli(*export, "--out", str(tmp_path / "missing" / "x.json"), check=False), "does not exist")
    usage_error(cli(*export, "--out", str(tmp_path), check=False), "is a folder")
    for name in ("", "   "):  # the server refuses these names with the same sentence
        out = cli(*export, "--out", str(tmp_path / "x.json"), "--name", name, check=False)
        usage_error(out, "--name is empty or only spaces")
    out = cli(*export, "--out", str(tmp_path / "x.json"), "--name", "bell\a", check=False)
    usage_error(out, "U+0007")
    assert list(tmp_path.iterdir()) == []
    cli(*export, "--out", str(tmp_path / "x.json"), "--name", "  digits  ")
    assert json.loads((tmp_path / "x.json").read_text())["name"] == "digits"


@pytest.fixture(scope="module")
def bare_model(model, tmp_path_factory):
    """The same trained network saved without what it learnt from (as an npz export without a dataset)."""
    path = tmp_path_factory.mktemp("bare") / "bare.npz"
    engine.save(engine.load(model), path)
    return path


@pytest.fixture(scope="module")
def digit(tmp_path_factory):
    ds = load_dataset("strokes")
    path = tmp_path_factory.mktemp("digit") / "digit.png"
    Image.fromarray(ds.x_test[0, 0]).save(path)
    return path


def test_predict_reads_an_image_as_training_did_from_the_file_or_from_dataset(model, bare_model, digit):
    saved = json.loads(cli("predict", "--model", str(model), str(digit), "--json").stdout)
    net, ds = engine.load(model), load_dataset("strokes")
    expected = net.predict_proba(ds.normalize(ds.x_test[:1]))[0]
    assert saved["probability"] == pytest.approx(float(expected.max()), abs=1e-5)
    # a file that does not say what it learnt from is read with --dataset's scaling and names...
    given = cli("predict", "--model", str(bare_model), str(digit), "--dataset", "strokes", "--json")
    assert json.loads(given.stdout)["probability"] == pytest.approx(saved["probability"], abs=1e-6)
    assert "warning" not in given.stderr
    # ...and without it the command warns that the scaling is a guess
    bare = cli("predict", "--model", str(bare_model), str(digit), "--json")
    assert "warning" in bare.stderr and "--dataset" in bare.stderr


def test_export_carries_what_the_model_file_learnt_from(model, tmp_path, digit):
    out = tmp_path / "kept.npz"
    cli("export", "--model", str(model), "--format", "npz", "--out", str(out))
    assert engine.load_checkpoint(out)[2]["mean"] == engine.load_checkpoint(model)[2]["mean"]
    pytorch = tmp_path / "net-pytorch.zip"
    said = cli("export", "--model", str(model), "--format", "pytorch", "--out", str(pytorch)).stdout
    source = zipfile.ZipFile(pytorch).read("model.py").decode()
    assert "pixel values / 255" in source and "pixel values / 255" in said


def test_evaluate_scales_another_copy_of_the_data_as_training_did(model, tmp_path):
    ds = load_dataset("strokes")
    copy = tmp_path / "copy.npz"  # the test images alone: their own statistics differ from training's
    np.savez(copy, x=ds.x_train[:100, 0], y=ds.y_train[:100], x_test=ds.x_test[:, 0], y_test=ds.y_test)
    report = json.loads(cli("evaluate", "--model", str(model), "--dataset", str(copy), "--json").stdout)
    expected = evaluate(engine.load(model), ds, ds.x_test, ds.y_test, top=0)
    assert report["accuracy"] == pytest.approx(expected["accuracy"]) and report["loss"] == pytest.approx(
        expected["loss"], rel=1e-5
    )


def test_a_pytorch_export_given_as_the_model_is_named_for_what_it_is(model, tmp_path, digit):
    pytorch = tmp_path / "net-pytorch.zip"
    cli("export", "--model", str(model), "--format", "pytorch", "--out", str(pytorch))
    for command in (("predict", "--model", str(pytorch), str(digit)), ("evaluate", "--model", str(pytorch))):
        extra = ("--dataset", "strokes") if command[0] == "evaluate" else ()
        usage_error(cli(*command, *extra, check=False), "PyTorch export", ".npz")
