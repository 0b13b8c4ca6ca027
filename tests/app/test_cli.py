"""The cnn-playground command, run as a user runs it."""

import json
import subprocess
import sys

import numpy as np

import engine


def cli(*args, check=True):
    out = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=300)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def test_summary_table_shows_counts_and_formulas():
    out = cli("summary", "--preset", "lenet5").stdout
    assert "parameters: 61,706" in out and "6 x (5x5x1 + 1) = 156" in out


def test_summary_of_a_famous_preset_ends_with_its_note():
    out = cli("summary", "--preset", "alexnet_paper").stdout
    assert "parameters: 60,965,224" in out and "256 x (5x5x(96/2) + 1) = 307,456" in out
    assert out.rstrip().splitlines()[-1] == f"note: {engine.PRESET_INFO['alexnet_paper']['note']}"
    assert "note:" not in cli("summary", "--preset", "tinyvgg").stdout


def test_summary_json_and_spec_file(tmp_path):
    spec = {
        "input": [3, 32, 32],
        "layers": [{"type": "conv2d", "out_channels": 20, "kernel_size": 5, "padding": 1, "stride": 2}],
    }
    path = tmp_path / "net.json"
    path.write_text(json.dumps(spec))
    data = json.loads(cli("summary", "--spec", str(path), "--json").stdout)
    assert data["totals"]["params"] == 1520
    assert data["warnings"] == engine.summarize(spec)["warnings"]
    assert "only padding is left over" in data["warnings"][0]
    table = cli("summary", "--spec", str(path)).stdout
    assert f"warning: {data['warnings'][0]}" in table


def test_summary_of_a_bad_spec_names_the_layer(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"input": [1, 4, 4], "layers": [{"type": "linear", "out_features": 2}]}))
    out = cli("summary", "--spec", str(path), check=False)
    assert out.returncode == 2 and "layers[0]" in out.stderr and "flatten" in out.stderr


def test_unknown_preset_is_a_clear_error():
    out = cli("summary", "--preset", "lenet6", check=False)
    assert out.returncode != 0 and "unknown preset 'lenet6'" in out.stderr


def test_datasets_lists_builtins():
    rows = json.loads(cli("datasets", "--json").stdout)
    assert {"strokes", "shapes", "mnist"} <= {r["name"] for r in rows}


def test_train_saves_a_model_and_prints_json(tmp_path):
    out_path = tmp_path / "m.npz"
    out = cli(
        "train",
        "--preset",
        "lenet5",
        "--dataset",
        "strokes",
        "--epochs",
        "1",
        "--max-train",
        "600",
        "--holdout",
        "100",
        "--lr",
        "0.05",
        "--out",
        str(out_path),
        "--json",
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed" and 0 <= result["val_accuracy"] <= 1
    net = engine.load(out_path)
    assert net.forward(np.zeros((1, 1, 28, 28), np.float32)).shape == (1, 10)


def test_train_progress_and_holdout_line(tmp_path):
    out = cli("train", "--dataset", "strokes", "--epochs", "1", "--max-train", "400", "--holdout", "100")
    assert "holdout accuracy:" in out.stdout and "epoch 1/1" in out.stderr


def test_train_on_a_user_npz(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (120, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 120)
    path = tmp_path / "mine.npz"
    np.savez(path, x=x, y=y)
    out = cli("train", "--dataset", str(path), "--epochs", "1", "--json")
    assert json.loads(out.stdout.strip().splitlines()[-1])["status"] == "completed"


def test_train_with_a_bad_option_explains():
    out = cli("train", "--dataset", "strokes", "--flip", "--max-train", "100", check=False)
    assert out.returncode == 2 and "flip" in out.stderr
    out = cli("train", "--dataset", "nonexistent-set", check=False)
    assert out.returncode == 2 and "unknown dataset" in out.stderr


def test_serve_refuses_a_database_from_a_newer_version_with_what_to_do(tmp_path):
    import sqlite3

    from app.db import Database
    from app.migrations import LATEST

    Database(tmp_path / "playground.sqlite3")
    with sqlite3.connect(tmp_path / "playground.sqlite3") as c:
        c.execute("INSERT INTO schema_migrations VALUES (?, 'from the future', 0)", (LATEST + 1,))
    out = cli("serve", "--data-dir", str(tmp_path), "--port", "0", check=False)
    assert out.returncode == 2 and "newer CNN Playground" in out.stderr and "--data-dir" in out.stderr
    assert "Traceback" not in out.stderr
    out = cli("serve", "--data-dir", str(tmp_path / "playground.sqlite3"), "--port", "0", check=False)
    assert out.returncode == 2 and "--data-dir" in out.stderr and "Traceback" not in out.stderr


def test_train_rmsprop_keeps_its_own_default_momentum(tmp_path):
    """RMSprop runs without momentum unless asked, as PyTorch's; it does not inherit SGD's 0.9."""
    for extra, momentum in (((), 0.0), (("--momentum", "0.3"), 0.3)):
        path = tmp_path / f"rmsprop{momentum}.npz"
        cli(
            "train",
            "--preset",
            "lenet5",
            "--dataset",
            "strokes",
            "--epochs",
            "1",
            "--max-train",
            "100",
            "--optimizer",
            "rmsprop",
            "--lr",
            "0.001",
            "--out",
            str(path),
            "--json",
            *extra,
        )
        _, optimizer, _ = engine.load_checkpoint(path)
        assert optimizer["config"]["name"] == "rmsprop" and optimizer["config"]["momentum"] == momentum


def usage_error(out, *phrases):
    """The command refused with one `error: ...` line on stderr naming each phrase, and exit code 2."""
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ") or ": error: " in line]
    assert errors == lines[-1:], out.stderr
    for phrase in phrases:
        assert phrase in lines[-1], out.stderr


def test_train_checks_out_before_training(tmp_path):
    """A path train cannot write is refused at once, not after the training it would lose."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("a file")
    data = tmp_path / "mine.npz"
    np.savez(data, x=np.zeros((20, 28, 28), np.uint8), y=np.arange(20) % 10)
    before = data.read_bytes()
    train = ("train", "--dataset", "strokes", "--epochs", "1", "--max-train", "100", "--out")
    for out, phrase in [
        (tmp_path / "missing" / "m.npz", "does not exist"),
        (f"{tmp_path / 'folder'}/", "is a folder"),
        (tmp_path / "folder", "is a folder"),
        (tmp_path / "file.txt" / "m.npz", "not a folder"),
        ("", "--out is empty"),
    ]:
        result = cli(*train, str(out), check=False)
        usage_error(result, phrase, "--out")
        assert "epoch" not in result.stderr  # refused before training started
    usage_error(cli(*train[:2], str(data), *train[3:], str(data), check=False), "the file this command reads")
    assert data.read_bytes() == before
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["file.txt", "folder", "mine.npz"]


def test_train_out_is_a_new_file_readable_as_others(tmp_path):
    """The model is written through a private temporary file, then given the mode the umask gives."""
    import os

    umask = os.umask(0)
    os.umask(umask)
    out = tmp_path / "m.npz"
    cli("train", "--dataset", "strokes", "--epochs", "1", "--max-train", "100", "--out", str(out), "--json")
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_a_spec_that_is_not_json_says_what_it_is(tmp_path):
    net = engine.build_network(engine.PRESETS["lenet5"], seed=0)
    saved = tmp_path / "saved.npz"
    engine.save(net, saved)
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (tmp_path / "broken.json").write_text('{"input": [1, 28,')
    for command in ("summary", "train"):
        usage_error(cli(command, "--spec", str(saved), check=False), "not a JSON spec", "saved network", "--model")
        usage_error(cli(command, "--spec", str(tmp_path / "image.png"), check=False), "not a JSON spec", "not text")
        usage_error(cli(command, "--spec", str(tmp_path / "broken.json"), check=False), "not a JSON spec", "line 1")
        usage_error(cli(command, "--spec", str(tmp_path), check=False), "is a folder")
        usage_error(cli(command, "--spec", str(tmp_path / "gone.json"), check=False), "no such file")


def test_a_spec_exported_as_json_reads_back(tmp_path):
    """The spec file export writes (with the network's name and seed) is one --spec reads."""
    saved = tmp_path / "saved.npz"
    engine.save(engine.build_network(engine.PRESETS["lenet5"], seed=3), saved)
    cli("export", "--model", str(saved), "--format", "json", "--out", str(tmp_path / "spec.json"))
    assert json.loads((tmp_path / "spec.json").read_text())["seed"] == 3
    data = json.loads(cli("summary", "--spec", str(tmp_path / "spec.json"), "--json").stdout)
    assert data["totals"]["params"] == 61_706


def test_serve_refuses_a_port_out_of_range(tmp_path):
    for port in ("70000", "-1", "http"):
        out = cli("serve", "--data-dir", str(tmp_path), "--port", port, check=False)
        usage_error(out, "--port")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_stops_training_and_keeps_the_model(tmp_path):
    """The first Ctrl-C ends the run as stopped and saves what it learned so far, without a traceback."""
    import signal

    out = tmp_path / "m.npz"
    train = ("train", "--dataset", "strokes", "--epochs", "200", "--max-train", "2000", "--out", str(out))
    run = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *train], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        while not run.stderr.readline().startswith("training "):  # printed once Ctrl-C stops the run
            assert run.poll() is None
        run.send_signal(signal.SIGINT)
        stdout, stderr = run.communicate(timeout=300)
    finally:
        run.kill()  # one that did not stop
        run.wait()
    assert run.returncode == 1 and "Traceback" not in stderr
    assert "stopped by request" in stderr and f"saved to {out}" in stdout
    assert engine.load(out).forward(np.zeros((1, 1, 28, 28), np.float32)).shape == (1, 10)
