"""A run's weight histograms: made at its start and at every epoch's checkpoint, kept with the run,
and served by GET /api/runs/{id}/weights; L2 narrows them, L1 gathers many weights at 0."""

import shutil
import sqlite3
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

import engine
from app.main import create_app
from app.runs.weight_histograms import BINS, NEAR_ZERO, due, nice_range
from app.settings import Settings
from tests.app.test_migrations import LEGACY
from tests.app.test_runs_api import QUICK, wait_for

SHORT = {"dataset": "strokes", "epochs": 2, "batch_size": 32, "lr": 0.05, "max_train": 1000, "validation": 0.2}


def weights_of(net: engine.Network) -> dict[str, np.ndarray]:
    return {layer.path: layer.params["W"] for layer in net.layers() if "W" in layer.params}


def round_range(w: np.ndarray) -> float:
    """The smallest of 1, 1.5, 2, 3, 4, 5, 6 and 8 times a power of ten that is at least the 99.5th
    percentile of |w| and a quarter of the largest |w| (said again, apart)."""
    reach = max(np.percentile(np.abs(w), 99.5), np.abs(w).max() / 4)
    candidates = [m * 10.0**k for k in range(-8, 4) for m in (1, 1.5, 2, 3, 4, 5, 6, 8)]
    return min(c for c in candidates if c >= reach)


def assert_histogram_of(h: dict, w: np.ndarray):
    w = w.astype(np.float64).ravel()
    r = h["range"]
    assert r == pytest.approx(round_range(w))
    counts, _ = np.histogram(w, bins=BINS, range=(-r, r))
    assert h["counts"] == counts.tolist() and h["n"] == w.size
    assert (h["below"], h["above"]) == ((w < -r).sum(), (w > r).sum())
    assert sum(h["counts"]) + h["below"] + h["above"] == w.size
    assert h["below"] + h["above"] <= 0.005 * w.size + 1  # the bins hold the bulk of the weights
    assert h["std"] == pytest.approx(w.std(), rel=1e-5)
    assert h["zeros"] == pytest.approx((w == 0).mean(), abs=1e-6)
    assert h["near_zero"] == pytest.approx((np.abs(w) < NEAR_ZERO).mean(), abs=1e-6)


def exported(client, network_id: str) -> engine.Network:
    data = client.get(f"/api/networks/{network_id}/export?format=npz").content
    return engine.load_checkpoint(data)[0]


def train(client, network_id: str, **config) -> dict:
    client.post(f"/api/networks/{network_id}/reinit", json={"seed": 0})  # all from the same weights
    r = client.post(f"/api/networks/{network_id}/runs", json={**SHORT, **config})
    assert r.status_code == 201, r.text
    run = wait_for(client, r.json()["id"])
    assert run["status"] == "completed", run["message"]
    return run


def test_the_histograms_are_those_of_the_start_and_of_each_checkpoint(client, lenet, settings):
    start = exported(client, lenet["id"])
    run = train(client, lenet["id"])
    r = client.get(f"/api/runs/{run['id']}/weights")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["bins"] == BINS and body["near_zero_below"] == NEAR_ZERO
    assert body["status"] == "completed"
    snapshots = body["snapshots"]
    assert [(s["at"], s["epoch"]) for s in snapshots] == [("start", 0), ("epoch", 1), ("epoch", 2)]
    assert snapshots[-1]["step"] == run["steps"]
    checkpoint = engine.load(settings.data_dir / "checkpoints" / f"{run['checkpoint']}.npz")
    for snapshot, net in ((snapshots[0], start), (snapshots[-1], checkpoint)):
        weights = weights_of(net)
        assert [layer["path"] for layer in snapshot["layers"]] == list(weights)
        types = [layer["type"] for layer in snapshot["layers"]]
        assert types == ["conv2d", "conv2d", "linear", "linear", "linear"]
        for layer in snapshot["layers"]:
            assert len(layer["counts"]) == BINS
            assert_histogram_of(layer, weights[layer["path"]])
        assert_histogram_of(snapshot["all"], np.concatenate([w.ravel() for w in weights.values()]))
    # kept with the run's events, so a reload or another tab replays them with the curves
    history = client.get(f"/api/runs/{run['id']}").json()["history"]
    assert [e["seq"] for e in history if e["type"] == "weights"] == [s["seq"] for s in snapshots]
    assert len(r.content) < 8_000  # a few kilobytes per run of LeNet-5, whatever its data


def test_l1_gathers_weights_at_0_and_l2_narrows_them(client, lenet):
    def snapshots(**penalty):
        run = train(client, lenet["id"], **penalty)
        return client.get(f"/api/runs/{run['id']}/weights").json()["snapshots"]

    plain, l2, l1 = snapshots(), snapshots(weight_decay=0.01), snapshots(l1=0.003)
    assert plain[0]["all"] == l2[0]["all"] == l1[0]["all"]  # the same start
    end = {name: s[-1]["all"] for name, s in (("plain", plain), ("l2", l2), ("l1", l1))}
    assert end["l1"]["near_zero"] > 5 * end["plain"]["near_zero"], end
    assert end["l2"]["std"] < 0.9 * end["plain"]["std"], end
    assert end["l2"]["std"] < l2[0]["all"]["std"]  # shrunk from where it started
    conv1 = {name: s[-1]["layers"][0] for name, s in (("plain", plain), ("l2", l2), ("l1", l1))}
    assert conv1["l1"]["near_zero"] > conv1["plain"]["near_zero"]
    assert conv1["l2"]["std"] < conv1["plain"]["std"]


def test_a_run_says_the_dropout_of_the_network_it_trains(client):
    spec = {
        "input": [1, 28, 28],
        "layers": [
            {"type": "flatten"},
            {"type": "linear", "out_features": 32},
            {"type": "relu"},
            {"type": "dropout", "p": 0.3},
            {"type": "linear", "out_features": 10},
        ],
    }
    net = client.post("/api/networks", json={"spec": spec}).json()
    run = client.post(f"/api/networks/{net['id']}/runs", json={**QUICK, "epochs": 1}).json()
    assert run["network"] == {"dropout": [0.3], "params": 28 * 28 * 32 + 32 + 32 * 10 + 10}
    wait_for(client, run["id"])
    listed = client.get("/api/runs", params={"network_id": net["id"]}).json()
    assert [r["network"]["dropout"] for r in listed] == [[0.3]]


def test_a_stopped_run_ends_with_the_weights_it_kept(client, lenet):
    long = {**QUICK, "epochs": 50, "max_train": 2000}
    run_id = client.post(f"/api/networks/{lenet['id']}/runs", json=long).json()["id"]
    deadline = time.monotonic() + 60
    while not (client.get(f"/api/runs/{run_id}").json().get("last_batch") or {}).get("step"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    client.post(f"/api/runs/{run_id}/stop")
    run = wait_for(client, run_id)
    assert run["steps"] > 0 and run["epoch"] < 50
    snapshots = client.get(f"/api/runs/{run_id}/weights").json()["snapshots"]
    assert snapshots[0]["at"] == "start" and snapshots[-1]["at"] == "end"
    assert snapshots[-1]["step"] == run["steps"]
    kept = exported(client, lenet["id"])
    for layer in snapshots[-1]["layers"]:
        assert_histogram_of(layer, weights_of(kept)[layer["path"]])


def test_the_weights_of_an_unknown_run_are_404(client):
    r = client.get("/api/runs/0123456789abcdef/weights")
    assert r.status_code == 404 and "0123456789abcdef" in r.json()["detail"]


def test_a_long_run_keeps_about_25_snapshots_and_its_last():
    for epochs in (1, 3, 25, 26, 100, 500):
        kept = [e for e in range(1, epochs + 1) if due(e, epochs)]
        assert kept[-1] == epochs and len(kept) <= 26, (epochs, kept)
        assert epochs > 25 or len(kept) == epochs, (epochs, kept)


@pytest.mark.parametrize(
    "largest,expected",
    [(0.0, 1.0), (0.31, 0.4), (0.5, 0.5), (0.0021, 0.003), (7.0, 8.0), (8.5, 10.0), (1e-7, 1e-7), (0.11, 0.15)],
)
def test_ranges_are_round(largest, expected):
    assert nice_range(largest) == pytest.approx(expected)


def test_a_run_from_before_snapshots_has_one_made_from_its_checkpoint(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(LEGACY, data)
    with sqlite3.connect(data / "playground.sqlite3") as c:
        sql = "SELECT id, checkpoint FROM runs WHERE status = 'completed'"
        run_id, checkpoint = c.execute(sql).fetchone()
    with TestClient(create_app(Settings(data_dir=data))) as client:
        snapshots = client.get(f"/api/runs/{run_id}/weights").json()["snapshots"]
        assert client.get(f"/api/runs/{run_id}").json()["network"] is None  # not known then
    saved = engine.load_checkpoint(data / "checkpoints" / f"{checkpoint}.npz")[0]
    [snapshot] = snapshots
    assert snapshot["at"] == "epoch" and snapshot["seq"] is None
    for layer in snapshot["layers"]:
        assert_histogram_of(layer, weights_of(saved)[layer["path"]])
