"""Training runs over REST and WebSocket, persistence across a restart."""

import time

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from app.main import create_app
from app.settings import Settings

QUICK = {"dataset": "strokes", "epochs": 2, "batch_size": 50, "max_train": 400, "validation": 0.25, "lr": 0.05}


def wait_for(client, run_id, statuses=("completed", "stopped", "diverged", "failed"), timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still {run['status']}")


def test_websocket_follows_a_real_run_to_done(client, lenet):
    r = client.post(f"/api/networks/{lenet['id']}/runs", json=QUICK)
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    events = []
    with client.websocket_connect(f"/api/runs/{run_id}/events") as ws:
        while True:
            try:
                e = ws.receive_json()
            except WebSocketDisconnect:
                break
            events.append(e)
            if e["type"] in ("done", "error"):
                break
    kinds = [e["type"] for e in events]
    assert kinds.count("epoch") == 2 and kinds[-1] == "done"
    assert events[-1]["status"] == "completed"
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    run = wait_for(client, run_id)
    assert run["status"] == "completed"
    assert run["metrics"]["val_accuracy"] is not None
    assert len(run["evaluation"]["confusion"]) == 10
    assert [e["type"] for e in run["history"]].count("epoch") == 2
    assert client.get(f"/api/networks/{lenet['id']}").json()["version"] > lenet["version"]


def test_a_late_joiner_gets_the_history_first(client, lenet):
    run_id = client.post(f"/api/networks/{lenet['id']}/runs", json=QUICK).json()["id"]
    wait_for(client, run_id)
    with client.websocket_connect(f"/api/runs/{run_id}/events") as ws:
        got = []
        with pytest.raises(WebSocketDisconnect):
            while True:
                got.append(ws.receive_json())
    assert got[-1]["type"] == "done" and [e["type"] for e in got].count("epoch") == 2


def test_pause_resume_and_stop_answer_with_the_status_they_brought_about(client, lenet):
    # a script reads the answer: it must not say "running" after a pause that took effect
    body = {**QUICK, "epochs": 50, "max_train": 2000}
    run_id = client.post(f"/api/networks/{lenet['id']}/runs", json=body).json()["id"]
    wait_for(client, run_id, ("running",))
    paused = client.post(f"/api/runs/{run_id}/pause").json()
    assert (paused["status"], paused["request"]) == ("paused", None)
    assert client.post(f"/api/runs/{run_id}/resume").json()["status"] == "running"
    assert client.post(f"/api/runs/{run_id}/stop").json()["status"] == "stopped"


def test_pause_resume_stop(client, lenet):
    body = {**QUICK, "epochs": 50, "max_train": 2000}
    run_id = client.post(f"/api/networks/{lenet['id']}/runs", json=body).json()["id"]
    wait_for(client, run_id, ("running",))
    assert client.post(f"/api/runs/{run_id}/pause").status_code == 200
    paused = wait_for(client, run_id, ("paused",))
    time.sleep(0.3)
    assert client.get(f"/api/runs/{run_id}").json()["steps"] == paused["steps"]
    assert client.post(f"/api/runs/{run_id}/resume").status_code == 200
    wait_for(client, run_id, ("running",))
    assert client.post(f"/api/runs/{run_id}/stop").status_code == 200
    run = wait_for(client, run_id)
    assert run["status"] == "stopped"
    assert client.post(f"/api/runs/{run_id}/stop").status_code == 409
    assert client.post("/api/runs/0123456789abcdef/pause").status_code == 404


def test_a_second_run_on_a_training_network_is_409(client, lenet):
    body = {**QUICK, "epochs": 50, "max_train": 2000}
    run_id = client.post(f"/api/networks/{lenet['id']}/runs", json=body).json()["id"]
    r = client.post(f"/api/networks/{lenet['id']}/runs", json=QUICK)
    assert r.status_code == 409 and run_id in r.json()["detail"]
    r = client.patch(
        f"/api/networks/{lenet['id']}",
        json={"spec": {"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}},
    )
    assert r.status_code == 409
    assert client.delete(f"/api/networks/{lenet['id']}").status_code == 409
    # other requests are answered while it trains
    assert client.get(f"/api/networks/{lenet['id']}").status_code == 200
    assert client.get("/api/health").json()["runs_active"] == 1
    client.post(f"/api/runs/{run_id}/stop")
    wait_for(client, run_id)


def test_diverging_run_ends_diverged_and_keeps_the_old_weights(client, lenet):
    before = client.get(f"/api/networks/{lenet['id']}/export?format=npz").content
    run_id = client.post(f"/api/networks/{lenet['id']}/runs", json={**QUICK, "lr": 1e6, "momentum": 0.0}).json()["id"]
    run = wait_for(client, run_id)
    assert run["status"] == "diverged" and "learning rate" in run["message"]
    assert client.get(f"/api/networks/{lenet['id']}/export?format=npz").content == before


@pytest.mark.parametrize(
    "body,status,words",
    [
        ({"dataset": "strokes", "batch_size": 5000}, 422, "batch_size"),
        ({"dataset": "strokes", "epochs": 1000}, 422, "epochs"),
        ({"dataset": "nope"}, 404, "nope"),
        ({"dataset": "strokes", "lr": -1}, 422, "lr"),
        ({"dataset": "strokes", "optimizer": "lbfgs"}, 422, "optimizer"),
        ({"dataset": "shapes"}, 422, "takes input"),
        ({"dataset": "strokes", "augment": {"flip": True}}, 422, "flip"),
        ({"dataset": "strokes", "augment": {"spin": 3}}, 422, "spin"),
    ],
)
def test_run_errors(client, lenet, body, status, words):
    r = client.post(f"/api/networks/{lenet['id']}/runs", json=body)
    assert r.status_code == status, r.text
    assert words in str(r.json()["detail"])


def test_run_on_unknown_network_is_404(client):
    assert client.post("/api/networks/0123456789abcdef/runs", json=QUICK).status_code == 404
    assert client.get("/api/runs/0123456789abcdef").status_code == 404


def test_events_of_an_unknown_run_are_refused_with_404_and_a_reason(client):
    with pytest.raises(WebSocketDenialResponse) as info:
        with client.websocket_connect("/api/runs/0123456789abcdef/events"):
            pass
    assert info.value.status_code == 404
    assert "0123456789abcdef" in info.value.json()["detail"]


@pytest.mark.parametrize("field,limit", [("epochs", 500), ("batch_size", 1024)])
def test_each_run_limit_has_one_value_and_one_status_shown_in_the_schema(client, lenet, field, limit):
    for too_many in (limit + 1, 10**9):
        r = client.post(f"/api/networks/{lenet['id']}/runs", json={"dataset": "strokes", field: too_many})
        assert r.status_code == 422, r.text
        [error] = r.json()["errors"]
        assert error["loc"] == ["body", field] and str(limit) in error["message"]
    schema = client.get("/openapi.json").json()["components"]["schemas"]["RunCreate"]["properties"][field]
    assert schema["maximum"] == limit and schema["minimum"] == 1


def test_train_options_are_the_run_schema_with_its_defaults_and_limits(client, lenet):
    listed = {o["name"]: o for o in client.get("/api/train/options").json()["options"]}
    assert listed["epochs"] | {"min": 1, "max": 500, "default": 1} == listed["epochs"]
    assert listed["batch_size"]["max"] == 1024 and listed["lr"]["exclusive_min"] is True
    assert listed["optimizer"]["choices"] == ["sgd", "adam", "rmsprop", "adagrad"]
    assert listed["max_train"]["nullable"] and listed["augment.shift"]["max"] == 16
    # momentum left out is the optimizer's own, served with the optimizer it depends on
    assert listed["momentum"]["default"] is None and listed["momentum"]["nullable"]
    assert listed["momentum"]["default_by"] == {"optimizer": {"sgd": 0.9, "rmsprop": 0.0}}
    # every limit served is the one the server holds a run to
    for name in ("epochs", "batch_size", "augment.shift", "augment.noise"):
        o = listed[name]
        over = o["max"] + (1 if o["kind"] == "int" else 0.5)
        body = (
            {"dataset": "strokes", "augment": {name[8:]: over}} if "." in name else {"dataset": "strokes", name: over}
        )
        r = client.post(f"/api/networks/{lenet['id']}/runs", json=body)
        assert r.status_code == 422 and name.split(".")[-1] in str(r.json()["detail"]), r.text


def test_a_restarted_server_sees_networks_and_runs(settings, tmp_path):
    with TestClient(create_app(settings)) as c:
        nid = c.post("/api/networks", json={"preset": "lenet5", "name": "keep me"}).json()["id"]
        rid = c.post(f"/api/networks/{nid}/runs", json=QUICK).json()["id"]
        wait_for(c, rid)
        long_id = c.post(f"/api/networks/{nid}/runs", json={**QUICK, "epochs": 200, "max_train": 2000}).json()["id"]
        wait_for(c, long_id, ("running",))
        t = time.monotonic()
    assert time.monotonic() - t < 10  # shutdown stops training between batches
    with TestClient(create_app(settings)) as c:
        assert c.get(f"/api/networks/{nid}").json()["name"] == "keep me"
        done = c.get(f"/api/runs/{rid}").json()
        assert done["status"] == "completed" and done["history"][-1]["type"] == "done"
        cut = c.get(f"/api/runs/{long_id}").json()
        assert cut["status"] == "interrupted"
        assert {r["id"] for r in c.get("/api/runs").json()} == {rid, long_id}


def test_runs_beyond_the_workers_wait_and_a_full_queue_is_429(tmp_path):
    settings = Settings(data_dir=tmp_path / "d", max_concurrent_runs=1, max_queued_runs=1)
    with TestClient(create_app(settings)) as c:
        ids = [c.post("/api/networks", json={"preset": "lenet5"}).json()["id"] for _ in range(3)]
        long = {**QUICK, "epochs": 100, "max_train": 2000}
        first = c.post(f"/api/networks/{ids[0]}/runs", json=long).json()["id"]
        wait_for(c, first, ("running",))
        second = c.post(f"/api/networks/{ids[1]}/runs", json=QUICK).json()
        assert second["status"] == "queued"
        r = c.post(f"/api/networks/{ids[2]}/runs", json=QUICK)
        assert r.status_code == 429 and "waiting" in r.json()["detail"]
        c.post(f"/api/runs/{first}/stop")
        assert wait_for(c, second["id"])["status"] == "completed"


def test_files_no_row_refers_to_are_swept_at_start_and_deleting_a_network_removes_its_checkpoints(settings):
    with TestClient(create_app(settings)) as c:
        nid = c.post("/api/networks", json={"preset": "lenet5"}).json()["id"]
        rid = c.post(f"/api/networks/{nid}/runs", json=QUICK).json()["id"]
        wait_for(c, rid)
        checkpoint = settings.data_dir / "checkpoints" / f"{rid}.npz"
        assert checkpoint.exists()
        keep = c.post("/api/networks", json={"preset": "tinyvgg"}).json()["id"]
        assert c.delete(f"/api/networks/{nid}").status_code == 204
        assert not checkpoint.exists()
    orphan = settings.data_dir / "networks" / "0123456789abcdef.npz"  # as if killed before its row was written
    orphan.write_bytes(b"x")
    torn = settings.data_dir / "networks" / ".abc.npz.123.tmp"
    torn.write_bytes(b"x")
    with TestClient(create_app(settings)) as c:
        assert not orphan.exists() and not torn.exists()
        assert c.get(f"/api/networks/{keep}/export?format=npz").status_code == 200


def test_a_finished_run_leaves_nothing_in_memory(client, lenet):
    import gc

    from engine.train import Trainer

    runs = client.app.state.services.runs
    for seed in range(3):
        run_id = client.post(f"/api/networks/{lenet['id']}/runs", json={**QUICK, "seed": seed}).json()["id"]
        assert wait_for(client, run_id)["status"] == "completed"
    stop_me = client.post(f"/api/networks/{lenet['id']}/runs", json={**QUICK, "epochs": 50}).json()["id"]
    wait_for(client, stop_me, ("running",))
    client.post(f"/api/runs/{stop_me}/stop")
    assert wait_for(client, stop_me)["status"] == "stopped"
    deadline = time.monotonic() + 10
    while runs.backend.controls and time.monotonic() < deadline:  # the worker lets go once it has reported
        time.sleep(0.01)
    gc.collect()
    # type(), not isinstance(): that would ask every object, torch's lazy modules too, for its __class__
    assert not [o for o in gc.get_objects() if type(o) is Trainer], "a finished run's trainer is still held"
    assert not runs.backend.controls and not runs.bus.channels and not runs._network_of and not runs._saved
    assert client.app.state.services.networks.entry(lenet["id"]).training is None


def test_each_optimizer_keeps_its_own_momentum_when_a_run_leaves_it_out(client):
    """SGD's is the playground's 0.9, RMSprop's is PyTorch's 0 (not SGD's 0.9), and the run's
    config says which it used; Adam and Adagrad have none."""
    body = {**QUICK, "epochs": 1, "max_train": 200}
    want = {"sgd": 0.9, "rmsprop": 0.0, "adam": None, "adagrad": None}
    weights = {}
    for optimizer, momentum in [*want.items(), ("rmsprop", 0.0)]:
        net = client.post("/api/networks", json={"preset": "lenet5"}).json()
        extra = {"momentum": momentum} if len(weights) == len(want) else {}
        run_id = client.post(
            f"/api/networks/{net['id']}/runs", json={**body, "optimizer": optimizer, "lr": 0.001, **extra}
        ).json()["id"]
        run = wait_for(client, run_id)
        assert run["status"] == "completed", run
        assert run["config"]["momentum"] == momentum, (optimizer, run["config"])
        weights[optimizer if not extra else "rmsprop, momentum 0 asked"] = client.get(
            f"/api/networks/{net['id']}/export?format=npz"
        ).content
    # left out or asked for, RMSprop's 0 trains the same weights
    assert weights["rmsprop"] == weights["rmsprop, momentum 0 asked"]


def test_following_a_run_after_a_seq_that_is_not_one_is_a_422_that_says_so(client, lenet):
    run_id = client.post(f"/api/networks/{lenet['id']}/runs", json=QUICK).json()["id"]
    wait_for(client, run_id)
    for bad in ("abc", "1.5", ""):
        with pytest.raises(WebSocketDenialResponse) as info:
            with client.websocket_connect(f"/api/runs/{run_id}/events?after={bad}"):
                pass
        assert info.value.status_code == 422 and "after" in info.value.json()["detail"], bad
    # past the end, however far, there is nothing more: the stream just ends
    with client.websocket_connect(f"/api/runs/{run_id}/events?after={2**70}") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1000
