"""Schema migrations: a data directory written before migrations existed opens and is upgraded
without loss; foreign keys cascade; one active run per network is the database's own rule."""

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

import engine
from app.db import Database
from app.main import create_app
from app.migrations import LATEST, SchemaTooNew
from app.settings import Settings

LEGACY = Path(__file__).parent / "fixtures" / "datadir-v0"  # made by make_datadir_v0.py before migrations


@pytest.fixture
def legacy(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(LEGACY, data)
    with sqlite3.connect(data / "playground.sqlite3") as c:
        c.row_factory = sqlite3.Row
        before = {
            "networks": [dict(r) for r in c.execute("SELECT * FROM networks ORDER BY id")],
            "runs": {r["id"]: dict(r) for r in c.execute("SELECT * FROM runs")},
            "events": {
                r["run_id"]: r["n"] for r in c.execute("SELECT run_id, count(*) AS n FROM run_events GROUP BY run_id")
            },
            "datasets": [dict(r) for r in c.execute("SELECT * FROM datasets")],
        }
    assert not [t for t in before if not before[t]], "the fixture lost its content"
    return data, before


def test_a_database_from_before_migrations_opens_upgraded_without_loss(legacy):
    data, before = legacy
    killed = next(r for r in before["runs"].values() if r["status"] == "running")
    with TestClient(create_app(Settings(data_dir=data))) as c:
        services = c.app.state.services
        assert services.db.migrated == list(range(1, LATEST + 1))
        versions = [r["version"] for r in services.db.query("SELECT version FROM schema_migrations ORDER BY version")]
        assert versions == list(range(1, LATEST + 1))

        nets = c.get("/api/networks").json()
        assert [(n["id"], n["name"], n["spec"], n["seed"]) for n in sorted(nets, key=lambda n: n["id"])] == [
            (n["id"], n["name"], json.loads(n["spec"]), n["seed"]) for n in before["networks"]
        ]
        runs = {r["id"]: r for r in c.get("/api/runs").json()}
        assert set(runs) == set(before["runs"])
        for run_id, old in before["runs"].items():
            new = c.get(f"/api/runs/{run_id}").json()
            assert new["config"] == json.loads(old["config"]) and new["steps"] == old["steps"]
            added = 1 if run_id == killed["id"] else 0  # the interruption's end event
            assert len(new["history"]) == before["events"][run_id] + added
            if old["status"] != "running":
                assert new["status"] == old["status"] and new["metrics"] is not None
        for d in before["datasets"]:
            assert c.get(f"/api/datasets/{d['name']}/samples?n=2").status_code == 200

        # the run that was training when that server was killed: interrupted, with its checkpoint's
        # weights on its network and its last epoch's metrics
        cut = runs[killed["id"]]
        assert cut["status"] == "interrupted" and cut["metrics"]["epochs"] == cut["epoch"] >= 1
        assert "older version" in cut["message"]
        checkpoint = engine.load_checkpoint(data / "checkpoints" / f"{killed['checkpoint']}.npz")[0]
        exported = engine.load_checkpoint(c.get(f"/api/networks/{killed['network_id']}/export").content)[0]
        for k, v in checkpoint.state_dict().items():
            assert np.array_equal(exported.state_dict()[k], v), k
        r = c.post(f"/api/runs/{killed['id']}/resume")
        assert r.status_code == 409 and "older version" in r.json()["detail"]
        # and the network trains again
        r = c.post(
            f"/api/networks/{killed['network_id']}/runs",
            json={"dataset": "strokes", "epochs": 1, "max_train": 100, "batch_size": 50},
        )
        assert r.status_code == 201, r.text

    with TestClient(create_app(Settings(data_dir=data))) as c:  # opened again: nothing left to apply
        assert c.app.state.services.db.migrated == []


def test_deleting_a_network_cascades_to_its_runs_and_their_events(legacy):
    data, before = legacy
    done = next(r for r in before["runs"].values() if r["status"] == "completed")
    with TestClient(create_app(Settings(data_dir=data))) as c:
        db = c.app.state.services.db
        assert c.delete(f"/api/networks/{done['network_id']}").status_code == 204
        assert not db.query("SELECT 1 FROM runs WHERE network_id = ?", (done["network_id"],))
        assert not db.query("SELECT 1 FROM run_events WHERE run_id = ?", (done["id"],))
        assert not (data / "checkpoints" / f"{done['checkpoint']}.npz").exists()
        assert db.query("PRAGMA foreign_key_check") == []


def test_one_active_run_per_network_is_a_rule_of_the_database(tmp_path):
    db = Database(tmp_path / "db.sqlite3")
    with db.tx() as c:
        c.execute(
            "INSERT INTO networks (id, name, spec, seed, params, created, updated) VALUES ('n1', 'n', '{}', 0, 1, 0, 0)"
        )
        c.execute(
            "INSERT INTO runs (id, network_id, dataset, config, status, created) "
            "VALUES ('r1', 'n1', 'strokes', '{}', 'running', 0)"
        )
    for status, refused in (("queued", True), ("paused", True), ("completed", False)):
        try:
            with db.tx() as c:
                c.execute(
                    "INSERT INTO runs (id, network_id, dataset, config, status, created) "
                    f"VALUES ('r-{status}', 'n1', 'strokes', '{{}}', '{status}', 0)"
                )
            assert not refused, status
        except sqlite3.IntegrityError as e:
            assert refused and "UNIQUE" in str(e), status
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), db.tx() as c:
        c.execute(
            "INSERT INTO runs (id, network_id, dataset, config, status, created) "
            "VALUES ('r9', 'nobody', 'strokes', '{}', 'completed', 0)"
        )
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"), db.tx() as c:
        c.execute("UPDATE runs SET status = 'sleeping' WHERE id = 'r1'")


def test_a_database_from_a_newer_version_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "db.sqlite3"
    Database(path)
    with sqlite3.connect(path) as c:
        c.execute(
            "INSERT INTO schema_migrations (version, name, applied) VALUES (?, 'from the future', 0)", (LATEST + 1,)
        )
    with pytest.raises(SchemaTooNew, match=f"schema version {LATEST + 1}.*upgrade cnn-playground"):
        Database(path)
