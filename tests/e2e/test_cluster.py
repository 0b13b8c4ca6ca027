"""Two real servers sharing one PostgreSQL and one Ray; a Ray worker killed mid-run.

Needs the cluster extra (ray, psycopg) and PostgreSQL's programs; tests/cluster.py
starts a throwaway PostgreSQL and a local Ray unless .ci/run gave them.
"""

import json
import os
import signal
import time

import httpx
import pytest

from tests.cluster import ray_token_env

from .conftest import start_server

ray_token_env()  # before ray is imported: it reads its authentication mode once
pytest.importorskip("psycopg")
pytest.importorskip("ray")

pytestmark = pytest.mark.slow
LONG = {"dataset": "strokes", "epochs": 30, "batch_size": 32, "max_train": 2000, "lr": 0.05, "seed": 1}
ENDLESS = {**LONG, "epochs": 200}  # stopped by the test


def cluster_server(cluster, data_dir, database):
    return start_server(
        data_dir, "--database", database, "--runner", "ray", "--ray-address", cluster.ray_address, "--threads", "1"
    )


def wait_until(get, check, timeout=120, what="the run"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = get()
        if check(value):
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} never got there: {value}")


@pytest.fixture
def database(cluster):
    url = cluster.fresh_database()
    yield url
    cluster.drop_database(url)


def test_two_servers_share_a_run_and_one_goes_on_when_the_other_is_killed(cluster, database, tmp_path):
    from websockets.sync.client import connect

    a = cluster_server(cluster, tmp_path / "data", database)
    b = cluster_server(cluster, tmp_path / "data", database)  # the shared data directory
    api_a, api_b = httpx.Client(base_url=a.url, timeout=30), httpx.Client(base_url=b.url, timeout=30)
    try:
        net = api_a.post("/api/networks", json={"preset": "lenet5", "name": "shared"}).json()
        run_id = api_a.post(f"/api/networks/{net['id']}/runs", json=ENDLESS).json()["id"]
        run_on_b = lambda: api_b.get(f"/api/runs/{run_id}").json()

        # B streams the run A started, live: epochs arrive while it runs
        with connect(f"ws://127.0.0.1:{b.port}/api/runs/{run_id}/events") as ws:
            epochs = []
            while len(epochs) < 2:
                event = json.loads(ws.recv(timeout=60))
                if event["type"] == "epoch":
                    epochs.append(event["epoch"])
        assert epochs == [1, 2]

        r = api_b.post(f"/api/runs/{run_id}/pause")
        assert r.status_code == 200, r.text
        paused = wait_until(run_on_b, lambda r: r["status"] == "paused", what="the pause asked of B")
        time.sleep(1.5)
        assert run_on_b()["steps"] == paused["steps"]  # it really stopped training
        assert api_a.post(f"/api/runs/{run_id}/resume").status_code == 200
        wait_until(run_on_b, lambda r: r["status"] == "running", what="the resume asked of A")

        at_kill = wait_until(run_on_b, lambda r: r["epoch"] >= 4)["epoch"]
        a.stop(signal.SIGKILL)
        # the run goes on in Ray, now B's: its epochs go on, and B controls it
        later = wait_until(run_on_b, lambda r: r["epoch"] >= at_kill + 3 or r["status"] != "running", timeout=90)
        assert later["status"] == "running" and later["epoch"] >= at_kill + 3, later
        assert api_b.post(f"/api/runs/{run_id}/stop").status_code == 200
        done = wait_until(run_on_b, lambda r: r["status"] != "running", timeout=60)
        assert done["status"] == "stopped", done["message"]
        epochs = [e["epoch"] for e in api_b.get(f"/api/runs/{run_id}").json()["history"] if e["type"] == "epoch"]
        assert epochs[-1] >= at_kill + 3
        assert "shared" in api_b.get(f"/api/networks/{net['id']}").json()["name"]
    finally:
        api_a.close()
        api_b.close()
        for s in (a, b):
            s.stop()
            if s.process.poll() is None:
                s.process.kill()


def test_a_killed_ray_worker_ends_the_run_interrupted_and_resume_goes_on(cluster, database, tmp_path):
    import ray

    from app.runs.raycluster import NAMESPACE, actor_name, connect

    s = cluster_server(cluster, tmp_path / "data", database)
    api = httpx.Client(base_url=s.url, timeout=30)
    try:
        net = api.post("/api/networks", json={"preset": "lenet5"}).json()
        run_id = api.post(f"/api/networks/{net['id']}/runs", json=LONG).json()["id"]
        run = lambda: api.get(f"/api/runs/{run_id}").json()
        wait_until(run, lambda r: r["epoch"] >= 2 and r["checkpoint"])

        connect(cluster.ray_address)
        pid = ray.get(ray.get_actor(actor_name(run_id), namespace=NAMESPACE).pid.remote())
        assert pid != os.getpid()
        os.kill(pid, signal.SIGKILL)

        cut = wait_until(run, lambda r: r["status"] != "running", timeout=120)
        assert cut["status"] == "interrupted"
        assert "Ray worker" in cut["message"] and "last checkpoint" in cut["message"], cut["message"]
        assert cut["resumable"] and cut["checkpoint"] == run_id and cut["epoch"] >= 2

        assert api.post(f"/api/runs/{run_id}/resume").status_code == 200
        done = wait_until(run, lambda r: r["status"] in ("completed", "failed", "interrupted"), timeout=180)
        assert done["status"] == "completed", done["message"]
        assert done["epoch"] == LONG["epochs"]
    finally:
        api.close()
        s.stop()
        if s.process.poll() is None:
            s.process.kill()
