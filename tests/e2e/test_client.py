"""The Python client against a real server: what a notebook does, end to end."""

import io

import numpy as np
import pytest

import engine
from app.client import Playground, PlaygroundError

QUICK = {"epochs": 2, "batch_size": 50, "max_train": 300, "validation": 0.25, "lr": 0.05}


@pytest.fixture
def pg(server):
    with Playground(server.url) as client:
        yield client


def test_build_train_follow_and_read_metrics(pg):
    net = pg.create_network(preset="lenet5", name="digits", seed=3)
    assert (net["name"], net["seed"]) == ("digits", 3)
    run = pg.train(net["id"], dataset="strokes", **QUICK)
    events = list(run.events())
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == [1, 2]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    metrics = run.wait()
    assert run.info["status"] == "completed" and 0 <= metrics["val_accuracy"] <= 1
    rows = run.metrics()
    assert [r["epoch"] for r in rows] == [1, 2] and rows[-1]["val_accuracy"] == metrics["val_accuracy"]
    assert [r.id for r in pg.runs(net["id"])] == [run.id]


def test_predict_activations_export_and_validate(pg):
    net = pg.create_network(preset="lenet5")
    one = pg.predict(net["id"], dataset="strokes", index=0)
    drawn = pg.predict(net["id"], pixels=np.zeros((28, 28)))
    assert len(one["probabilities"]) == 10 and "label" in one and "label" not in drawn
    batch = pg.predict_batch(net["id"], [{"dataset": "strokes", "index": 0}, {"pixels": np.zeros((28, 28)).tolist()}])
    assert [b["predicted"] for b in batch] == [one["predicted"], drawn["predicted"]]
    maps = pg.activations(net["id"], dataset="strokes", index=0)
    assert maps["layers"][0]["path"] and maps["layers"][-1]["shape"] == [10]
    saved = engine.load_checkpoint(pg.export(net["id"]))[0]
    assert saved.spec == net["spec"]
    assert pg.validate(net["spec"])["totals"]["params"] == net["params"]


def test_errors_raise_with_the_servers_detail(pg):
    with pytest.raises(PlaygroundError) as e:
        pg.validate({"input": [1, 28, 28], "layers": [{"type": "conv2d"}]})
    assert e.value.status == 422 and "layers[0]" in str(e.value)
    with pytest.raises(PlaygroundError) as e:
        pg.run("0123456789abcdef")
    assert e.value.status == 404


def test_upload_a_dataset_and_train_on_it(pg, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "pairs.npz"
    buf = io.BytesIO()
    np.savez(buf, x=rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), y=np.arange(60) % 10)
    path.write_bytes(buf.getvalue())
    ds = pg.upload_dataset(path, name="pairs")
    assert ds["name"] == "pairs" and any(d["name"] == "pairs" for d in pg.datasets())
    net = pg.create_network(preset="lenet5")
    assert pg.train(net["id"], dataset="pairs", epochs=1, validation=0.2).wait()["val_accuracy"] is not None


def test_pause_resume_stop_delete_rename_and_pages(pg):
    net = pg.create_network(preset="lenet5", name="first")
    run = pg.train(net["id"], dataset="strokes", epochs=50, max_train=2000, batch_size=50)
    assert run.pause()["status"] == "paused" and run.info["status"] == "paused"
    assert run.resume()["status"] == "running"
    assert run.stop()["status"] == "stopped"
    assert pg.rename_network(net["id"], "renamed")["name"] == "renamed"
    other = pg.create_network(preset="lenet5", name="second")
    assert [n["id"] for n in pg.networks(limit=1, offset=1)] == [other["id"]]
    assert [r.id for r in pg.runs(limit=1)] == [run.id]
    run.delete()
    with pytest.raises(PlaygroundError) as e:
        run.refresh()
    assert e.value.status == 404
    pg.delete_network(other["id"])
    assert other["id"] not in [n["id"] for n in pg.networks()]


def test_following_a_run_that_is_gone_raises_the_servers_error(pg):
    net = pg.create_network(preset="lenet5")
    run = pg.train(net["id"], dataset="strokes", **QUICK)
    run.wait()
    run.delete()
    with pytest.raises(PlaygroundError) as e:
        run.wait()
    assert e.value.status == 404 and run.id in str(e.value)


def test_a_number_json_cannot_carry_is_refused_before_it_is_sent(pg):
    net = pg.create_network(preset="lenet5")
    pixels = np.zeros((28, 28))
    pixels[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity") as e:
        pg.predict(net["id"], pixels=pixels)
    assert not isinstance(e.value, PlaygroundError)
    with pytest.raises(ValueError, match="lr"):
        pg.train(net["id"], lr=float("inf"))
