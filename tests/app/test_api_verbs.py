"""The verbs a Python user reaches for: one dataset, a network's runs, deleting a run, paging
every list, batch predict, a run's metrics as files and its checkpoint."""

import csv
import io
import json

import numpy as np
import pytest

import engine

from .test_runs_api import QUICK, wait_for


@pytest.fixture
def finished_run(client, lenet):
    run = client.post(f"/api/networks/{lenet['id']}/runs", json=QUICK).json()
    return wait_for(client, run["id"], ("completed",))


def test_read_one_dataset(client):
    r = client.get("/api/datasets/strokes")
    assert r.status_code == 200 and r.json()["name"] == "strokes" and r.json()["num_classes"] > 1
    r = client.get("/api/datasets/nope")
    assert r.status_code == 404 and "no dataset named 'nope'" in r.json()["detail"]


def test_a_networks_runs_and_an_unknown_networks(client, lenet, finished_run):
    other = client.post("/api/networks", json={"preset": "lenet5"}).json()
    runs = client.get(f"/api/networks/{lenet['id']}/runs").json()
    assert [r["id"] for r in runs] == [finished_run["id"]]
    assert client.get(f"/api/networks/{other['id']}/runs").json() == []
    assert client.get("/api/networks/0123456789abcdef/runs").status_code == 404


def test_delete_a_finished_run_with_its_events_and_checkpoint(client, data_dir, finished_run):
    checkpoint = data_dir / "checkpoints" / f"{finished_run['checkpoint']}.npz"
    assert checkpoint.exists()
    assert client.delete(f"/api/runs/{finished_run['id']}").status_code == 204
    assert client.get(f"/api/runs/{finished_run['id']}").status_code == 404
    assert not checkpoint.exists() and client.get("/api/runs").json() == []
    assert client.delete(f"/api/runs/{finished_run['id']}").status_code == 404


def test_an_active_run_cannot_be_deleted(client, lenet):
    run = client.post(f"/api/networks/{lenet['id']}/runs", json={**QUICK, "epochs": 50}).json()
    r = client.delete(f"/api/runs/{run['id']}")
    assert r.status_code == 409 and "stop it first" in r.json()["detail"]
    client.post(f"/api/runs/{run['id']}/stop")
    wait_for(client, run["id"], ("stopped", "completed"))
    assert client.delete(f"/api/runs/{run['id']}").status_code == 204


def test_every_list_takes_limit_and_offset_and_gives_the_total(client):
    ids = [client.post("/api/networks", json={"preset": "lenet5", "name": f"n{i}"}).json()["id"] for i in range(5)]
    r = client.get("/api/networks", params={"limit": 2, "offset": 1})
    assert [n["id"] for n in r.json()] == ids[1:3] and r.headers["x-total-count"] == "5"
    whole = client.get("/api/networks")
    assert len(whole.json()) == 5 and whole.headers["x-total-count"] == "5"
    datasets = client.get("/api/datasets")
    assert client.get("/api/datasets", params={"offset": 2}).json() == datasets.json()[2:]
    assert client.get("/api/networks", params={"limit": 0}).status_code == 422
    for path in ("/api/runs", "/api/lessons", "/api/exercises/kinds", "/api/classes"):
        r = client.get(path, params={"limit": 1})
        assert r.status_code == 200 and len(r.json()) <= 1 and "x-total-count" in r.headers, path
    schema = client.get("/openapi.json").json()["paths"]
    listed = [
        p
        for p, ops in schema.items()
        if "get" in ops
        and ops["get"]["responses"]["200"].get("content", {}).get("application/json", {}).get("schema", {}).get("type")
        == "array"
    ]
    for path in listed:
        names = {p["name"] for p in schema[path]["get"].get("parameters", [])}
        assert {"limit", "offset"} <= names, path


def test_a_trailing_slash_is_the_same_path_not_a_redirect(client, lenet):
    r = client.get("/api/networks/", follow_redirects=False)
    assert r.status_code == 200 and r.json()[0]["id"] == lenet["id"]
    r = client.post("/api/networks/", json={"preset": "lenet5"}, follow_redirects=False)
    assert r.status_code == 201
    r = client.get(f"/api/networks/{lenet['id']}/", follow_redirects=False)
    assert r.status_code == 200 and r.json()["id"] == lenet["id"]


def test_batch_predict_matches_one_by_one(client, lenet):
    inputs = [{"dataset": "strokes", "split": "test", "index": i} for i in range(3)]
    inputs.append({"pixels": np.zeros((28, 28)).tolist()})
    r = client.post(f"/api/networks/{lenet['id']}/predict/batch", json={"inputs": inputs})
    assert r.status_code == 200, r.text
    batch = r.json()["predictions"]
    assert len(batch) == 4 and "label" in batch[0] and "label" not in batch[3]
    for body, got in zip(inputs, batch):
        one = client.post(f"/api/networks/{lenet['id']}/predict", json=body).json()
        assert got["predicted"] == one["predicted"]
        assert np.allclose(got["probabilities"], one["probabilities"], atol=1e-6)


def test_batch_predict_names_the_bad_input(client, lenet):
    inputs = [{"dataset": "strokes", "index": 0}, {"dataset": "strokes", "index": 10**6}]
    r = client.post(f"/api/networks/{lenet['id']}/predict/batch", json={"inputs": inputs})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "inputs", 1, "index"], r.text
    r = client.post(f"/api/networks/{lenet['id']}/predict/batch", json={"inputs": []})
    assert r.status_code == 422


def test_run_metrics_as_json_csv_and_json_lines(client, finished_run):
    rid = finished_run["id"]
    rows = client.get(f"/api/runs/{rid}/metrics").json()
    assert [r["epoch"] for r in rows] == [1, 2] and "val_accuracy" in rows[0] and "type" not in rows[0]
    text = client.get(f"/api/runs/{rid}/metrics", params={"format": "csv"})
    assert text.headers["content-type"].startswith("text/csv") and text.headers["x-total-count"] == "2"
    parsed = list(csv.DictReader(io.StringIO(text.text)))
    assert [int(r["epoch"]) for r in parsed] == [1, 2]
    assert float(parsed[1]["train_loss"]) == pytest.approx(rows[1]["train_loss"])
    lines = client.get(f"/api/runs/{rid}/metrics", params={"format": "jsonl"}).text.splitlines()
    assert [json.loads(line) for line in lines] == rows
    batches = client.get(f"/api/runs/{rid}/metrics", params={"kind": "batch"}).json()
    assert batches and all("loss" in b for b in batches)
    # the same columns in every format: JSON adds no empty epoch columns to a batch row
    batch_lines = client.get(f"/api/runs/{rid}/metrics", params={"kind": "batch", "format": "jsonl"}).text
    assert [json.loads(line) for line in batch_lines.splitlines()] == batches
    assert "val_accuracy" not in batches[0]


def test_run_metrics_give_each_epoch_the_learning_rate_it_trained_at(client, lenet):
    body = {**QUICK, "epochs": 3, "schedule": "step", "step_size": 1, "gamma": 0.5}
    run = client.post(f"/api/networks/{lenet['id']}/runs", json=body).json()
    wait_for(client, run["id"], ("completed",))
    rows = client.get(f"/api/runs/{run['id']}/metrics").json()
    assert [r["lr"] for r in rows] == [0.05, 0.025, 0.0125]


def test_checkpoint_download_is_a_network_file(client, lenet, finished_run):
    r = client.get(f"/api/runs/{finished_run['id']}/checkpoint")
    assert r.status_code == 200 and "epoch2.npz" in r.headers["content-disposition"]
    net, optimizer, _ = engine.load_checkpoint(r.content)
    assert net.spec == lenet["spec"] and optimizer is not None
    imported = client.post("/api/networks/import", files={"file": ("ckpt.npz", r.content)})
    assert imported.status_code == 201, imported.text


def test_the_runs_of_an_unknown_network_are_a_404_by_either_route(client):
    for path in ("/api/runs?network_id=0123456789abcdef", "/api/networks/0123456789abcdef/runs"):
        r = client.get(path)
        assert r.status_code == 404 and "0123456789abcdef" in r.json()["detail"], (path, r.text)
