"""A run's life across crashes and servers, with real `cnn-playground serve` processes on loopback:
SIGKILL and a restart on the same port, an interrupted run resumed to its end, two servers on
one data directory, and the WebSocket's refusals."""

import json
import signal
import time

import httpx
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

import engine

from .conftest import start_server

QUICK = {"dataset": "strokes", "max_train": 1000, "batch_size": 50, "validation": 0.2, "lr": 0.05, "seed": 3}
SAMPLE = {"dataset": "strokes", "split": "test", "index": 7}


def wait_run(api, run_id, done, timeout=120):
    """The run once done(run) is true."""
    deadline = time.monotonic() + timeout
    while True:
        run = api.get(f"/api/runs/{run_id}").json()
        if done(run):
            return run
        assert time.monotonic() < deadline, f"run {run_id} is still {run['status']} at epoch {run.get('epoch')}"
        time.sleep(0.05)


def events_of(server, run_id, after=0, origin=None, timeout=60) -> list[dict]:
    """Every event the WebSocket sends until it closes."""
    headers = {"Origin": origin} if origin else None
    url = f"ws://127.0.0.1:{server.port}/api/runs/{run_id}/events?after={after}"
    with connect(url, additional_headers=headers, open_timeout=10) as ws:
        out, deadline = [], time.monotonic() + timeout
        for message in ws:
            out.append(json.loads(message))
            assert time.monotonic() < deadline
    return out


def tracebacks(server) -> list[str]:
    return [line for line in server.log.read_text(errors="replace").splitlines() if "Traceback" in line]


def test_after_sigkill_the_server_starts_again_at_once_on_the_same_port(tmp_path):
    first = start_server(tmp_path / "data")
    clients = [httpx.Client(base_url=first.url, timeout=10) for _ in range(3)]
    for c in clients:  # open keep-alive connections: killed, the server leaves them in TIME-WAIT
        assert c.get("/api/health").status_code == 200
    first.stop(signal.SIGKILL)
    for c in clients:
        c.close()
    t = time.monotonic()
    again = start_server(tmp_path / "data", port=first.port, timeout=30)
    try:
        assert time.monotonic() - t < 20  # a start, not a wait for the old sockets (about 60 s)
        assert httpx.get(f"{again.url}/api/health").json()["status"] == "ok"
    finally:
        again.stop()


def test_killed_during_training_the_network_has_its_checkpoint_and_the_run_resumes_to_its_end(tmp_path):
    server = start_server(tmp_path / "data")
    with httpx.Client(base_url=server.url, timeout=30) as api:
        net = api.post("/api/networks", json={"preset": "lenet5", "name": "crashed"}).json()
        untrained = api.post(f"/api/networks/{net['id']}/predict", json=SAMPLE).json()["probabilities"]
        run = api.post(f"/api/networks/{net['id']}/runs", json={**QUICK, "epochs": 12}).json()
        wait_run(api, run["id"], lambda r: r["epoch"] >= 2)
    server.stop(signal.SIGKILL)  # mid-epoch: the checkpoint on disk is the last finished epoch's
    checkpoint = tmp_path / "data" / "checkpoints" / f"{run['id']}.npz"
    saved_net, _, saved_meta = engine.load_checkpoint(checkpoint)
    epoch = saved_meta["trainer"]["epoch"]

    server = start_server(tmp_path / "data", port=server.port)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            cut = api.get(f"/api/runs/{run['id']}").json()
            assert cut["status"] == "interrupted" and cut["resumable"] and cut["epoch"] == epoch
            assert "killed or crashed" in cut["message"] and "resume" in cut["message"]
            assert cut["metrics"]["epochs"] == epoch and cut["metrics"]["val_accuracy"] is not None
            assert api.get(f"/api/networks/{net['id']}").json()["training_run"] is None

            # the network has the checkpoint's weights, so it predicts as the checkpoint does
            exported = engine.load_checkpoint(api.get(f"/api/networks/{net['id']}/export").content)[0]
            for k, v in saved_net.state_dict().items():
                assert np.array_equal(exported.state_dict()[k], v), k
            copy = api.post("/api/networks/import", files={"file": ("ckpt.npz", checkpoint.read_bytes())}).json()
            now = api.post(f"/api/networks/{net['id']}/predict", json=SAMPLE).json()["probabilities"]
            assert now == api.post(f"/api/networks/{copy['id']}/predict", json=SAMPLE).json()["probabilities"]
            assert now != untrained

            replay = events_of(server, run["id"])
            assert replay[-1]["type"] == "done" and replay[-1]["status"] == "interrupted"
            assert replay[-1]["metrics"]["epochs"] == epoch

            resumed = api.post(f"/api/runs/{run['id']}/resume")
            assert resumed.status_code == 200, resumed.text
            assert resumed.json()["status"] in ("queued", "running") and resumed.json()["id"] == run["id"]
            live = events_of(server, run["id"], after=replay[-1]["seq"])
            done = wait_run(api, run["id"], lambda r: r["status"] not in ("queued", "running", "paused"))
            assert done["status"] == "completed" and done["epoch"] == 12, done["message"]
            assert done["metrics"]["epochs"] == 12
            assert live[0]["type"] == "status" and "resumed from the checkpoint of epoch" in live[0]["message"]
            assert live[-1]["type"] == "done" and live[-1]["status"] == "completed"

            # one history, as if it had never stopped: epochs 1..12 once each, numbering always rising
            history = done["history"]
            assert [e["epoch"] for e in history if e["type"] == "epoch"] == list(range(1, 13))
            seqs = [e["seq"] for e in history]
            assert seqs == sorted(set(seqs))
            assert [e["type"] for e in history].count("done") == 1
            # and its weight histograms: the start and every epoch once, those before the crash kept
            snapshots = api.get(f"/api/runs/{run['id']}/weights").json()["snapshots"]
            epochs = [("epoch", e) for e in range(1, 13)]
            assert [(s["at"], s["epoch"]) for s in snapshots] == [("start", 0), *epochs]
            assert api.post(f"/api/runs/{run['id']}/resume").status_code == 409
        assert not tracebacks(server)
    finally:
        server.stop()


def test_two_servers_on_one_data_directory_leave_each_others_runs_alone(tmp_path):
    a = start_server(tmp_path / "data")
    with httpx.Client(base_url=a.url, timeout=30) as api_a:
        net = api_a.post("/api/networks", json={"preset": "lenet5"}).json()["id"]
        run = api_a.post(f"/api/networks/{net}/runs", json={**QUICK, "epochs": 300}).json()["id"]
        wait_run(api_a, run, lambda r: r["status"] == "running")
    half_written = tmp_path / "data" / "networks" / ".0123456789abcdef.npz.4242.tmp"
    half_written.write_bytes(b"a file server A is writing")
    b = start_server(tmp_path / "data")
    try:
        with httpx.Client(base_url=a.url, timeout=30) as api_a, httpx.Client(base_url=b.url, timeout=30) as api_b:
            assert half_written.exists(), "server B swept a file that server A may be writing"
            assert api_b.get(f"/api/runs/{run}").json()["status"] == "running"
            r = api_b.post(f"/api/networks/{net}/runs", json={**QUICK, "epochs": 1})
            assert r.status_code == 409 and run in r.json()["detail"]
            assert api_b.get(f"/api/networks/{net}").json()["training_run"] == run

            # B follows A's run live (from the event store), and its requests reach A
            url = f"ws://127.0.0.1:{b.port}/api/runs/{run}/events"
            with connect(url, open_timeout=10) as ws:
                first = [json.loads(ws.recv(timeout=20)) for _ in range(3)]
                assert [e["seq"] for e in first] == sorted(e["seq"] for e in first)
                assert api_b.post(f"/api/runs/{run}/pause").status_code == 200
                assert wait_run(api_a, run, lambda r: r["status"] == "paused", timeout=20)["status"] == "paused"
                assert api_b.post(f"/api/runs/{run}/stop").status_code == 200
                rest = [json.loads(m) for m in ws]
            assert rest[-1]["type"] == "done" and rest[-1]["status"] == "stopped"
            assert wait_run(api_a, run, lambda r: r["status"] == "stopped")["status"] == "stopped"
            assert api_b.get("/api/health").json()["status"] == "ok"
        assert not tracebacks(a) and not tracebacks(b)
    finally:
        b.stop()
        a.stop()


def test_a_second_server_interrupts_the_runs_of_a_dead_one_at_once(tmp_path):
    a = start_server(tmp_path / "data")
    b = start_server(tmp_path / "data")
    try:
        with httpx.Client(base_url=a.url, timeout=30) as api_a:
            net = api_a.post("/api/networks", json={"preset": "lenet5"}).json()["id"]
            run = api_a.post(f"/api/networks/{net}/runs", json={**QUICK, "epochs": 300}).json()["id"]
            wait_run(api_a, run, lambda r: r["epoch"] >= 1)
        a.stop(signal.SIGKILL)
        with httpx.Client(base_url=b.url, timeout=30) as api_b:
            # B's keeper looks every few seconds; A's lock file tells it A is gone without waiting for a lease
            cut = wait_run(api_b, run, lambda r: r["status"] == "interrupted", timeout=20)
            assert cut["epoch"] >= 1 and "killed or crashed" in cut["message"]
            assert api_b.post(f"/api/runs/{run}/resume").status_code == 200  # B takes it over
            assert wait_run(api_b, run, lambda r: r["status"] == "running")["status"] == "running"
            api_b.post(f"/api/runs/{run}/stop")
            assert wait_run(api_b, run, lambda r: r["status"] == "stopped")["status"] == "stopped"
    finally:
        b.stop()


def test_websocket_refusals_are_http_answers_with_a_reason(tmp_path):
    server = start_server(tmp_path / "data")
    try:
        with pytest.raises(InvalidStatus) as info:
            events_of(server, "0123456789abcdef")
        assert info.value.response.status_code == 404
        assert "0123456789abcdef" in json.loads(info.value.response.body)["detail"]
        with pytest.raises(InvalidStatus) as info:
            events_of(server, "0123456789abcdef", origin="http://evil.example")
        assert info.value.response.status_code == 403
        assert "evil.example" in json.loads(info.value.response.body)["detail"]
    finally:
        server.stop()
