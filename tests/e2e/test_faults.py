"""Hostile clients and faults against a real `cnn-playground serve` process on loopback.

Oversized WebSocket frames, hundreds of idle connections, SIGKILL in the middle of saves,
many writers at once, and the Host/Origin/token checks over real sockets.
"""

import io
import json
import random
import resource
import signal
import socket
import threading
import time

import httpx
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

import engine

from .conftest import running_server, start_server

SMALL = {
    "input": [1, 8, 8],
    "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 2},
    ],
}
FAST = {"epochs": 400, "batch_size": 32, "max_train": 64, "validation": 0.25}  # a checkpoint every few ms


def small_spec(width: int) -> dict:
    spec = json.loads(json.dumps(SMALL))
    spec["layers"][0]["out_channels"] = width
    return spec


def tiny_npz(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    np.savez(
        buf,
        x=rng.integers(0, 256, (96, 1, 8, 8), dtype=np.uint8),
        y=rng.integers(0, 2, 96),
        x_test=rng.integers(0, 256, (16, 1, 8, 8), dtype=np.uint8),
        y_test=rng.integers(0, 2, 16),
    )
    return buf.getvalue()


def upload(api, data: bytes, name: str, **kw):
    return api.post("/api/datasets", files={"file": (f"{name}.npz", data)}, data={"name": name}, **kw)


def wait_status(api, run_id, statuses, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        status = api.get(f"/api/runs/{run_id}").json()["status"]
        if status in statuses:
            return status
        assert time.monotonic() < deadline, f"run {run_id} is still {status}"
        time.sleep(0.05)


def log_problems(server) -> list[str]:
    text = server.log.read_text(errors="replace")
    return [
        line
        for line in text.splitlines()
        if "Traceback" in line or "locked" in line or "Exception in ASGI" in line or " 500 " in line
    ]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("faults") / "data") as s:
        yield s


@pytest.fixture
def shared_api(shared):
    with httpx.Client(base_url=shared.url, timeout=30) as client:
        yield client


# ---- 16: a frame over the server's 1 MiB limit --------------------------------------------------------------


def test_a_websocket_frame_over_one_mebibyte_is_refused_with_1009(shared, shared_api):
    nid = shared_api.post("/api/networks", json={"spec": SMALL}).json()["id"]
    ds = upload(shared_api, tiny_npz(), "frames").json()["name"]
    run = shared_api.post(f"/api/networks/{nid}/runs", json={"dataset": ds, **FAST, "epochs": 500}).json()
    url = f"ws://127.0.0.1:{shared.port}/api/runs/{run['id']}/events"
    try:
        with connect(url, open_timeout=10, max_size=None) as ws:
            ws.recv(timeout=10)  # the run's history: the connection is open
            with pytest.raises(ConnectionClosed):
                ws.send("x" * (2 << 20))
                for _ in range(100_000):  # what was already queued, then the close
                    ws.recv(timeout=10)
            assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1009
        # the server is still up and still serves this run's events to others
        assert shared_api.get("/api/health").json()["status"] == "ok"
        with connect(url, open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10))["seq"] >= 1
    finally:
        shared_api.post(f"/api/runs/{run['id']}/stop")
        wait_status(shared_api, run["id"], ("stopped", "completed"))


# ---- 17: hundreds of idle connections ------------------------------------------------------------------------


@pytest.mark.slow
def test_hundreds_of_idle_connections_do_not_starve_other_clients(shared, shared_api):
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    n = min(300, soft - 200)  # this process holds one descriptor per connection, the server another
    assert n >= 100, f"the file-descriptor limit ({soft}) is too low for this test"
    idle = []
    try:
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", shared.port), timeout=5)
            if i % 3 == 1:
                s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0")  # a request that never ends
            elif i % 3 == 2:
                s.sendall(b"POST /api/networks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n{")
            idle.append(s)
        times = []
        for _ in range(10):
            t = time.perf_counter()
            with httpx.Client(base_url=shared.url, timeout=10) as fresh:
                assert fresh.get("/api/health").json()["status"] == "ok"
            times.append(time.perf_counter() - t)
        assert max(times) < 3, times
        t = time.perf_counter()
        r = shared_api.post("/api/networks", json={"spec": SMALL, "name": "while-crowded"})
        assert r.status_code == 201 and time.perf_counter() - t < 5
    finally:
        for s in idle:
            s.close()
    assert shared_api.get("/api/health").status_code == 200


# ---- 13/14/15 at the socket level ---------------------------------------------------------------------------


def test_cross_origin_upload_and_foreign_host_are_refused_by_the_real_server(shared, shared_api):
    evil = {"Origin": "http://evil.example"}
    r = upload(shared_api, tiny_npz(), "sneaky", headers=evil)
    assert r.status_code == 403 and "evil.example" in r.json()["detail"]
    assert all(d["name"] != "sneaky" for d in shared_api.get("/api/datasets").json())
    r = shared_api.post(
        "/api/networks/import", files={"file": ("x.json", json.dumps(SMALL).encode(), "text/plain")}, headers=evil
    )
    assert r.status_code == 403
    r = shared_api.post(
        "/api/networks", content=json.dumps({"spec": SMALL}), headers={**evil, "Content-Type": "text/plain"}
    )
    assert r.status_code == 403
    for host in ("evil.example", f"evil.example:{shared.port}", "127.0.0.1.evil.example"):
        r = shared_api.get("/api/networks", headers={"Host": host})
        assert r.status_code == 403 and "is not this server's" in r.json()["detail"], host
    with pytest.raises(InvalidStatus) as info:  # a page of evil.example's whose name resolves to 127.0.0.1
        with connect(
            f"ws://evil.example:{shared.port}/api/runs/0123456789abcdef/events",
            open_timeout=10,
            sock=socket.create_connection(("127.0.0.1", shared.port)),
        ):
            pass
    assert info.value.response.status_code == 403
    assert "is not this server's" in json.loads(info.value.response.body)["detail"]
    with pytest.raises(InvalidStatus) as info:  # its own Host header and a second one
        with connect(
            f"ws://127.0.0.1:{shared.port}/api/runs/0123456789abcdef/events",
            additional_headers={"Host": "evil.example"},
            open_timeout=10,
        ):
            pass
    assert info.value.response.status_code == 400
    assert "2 Host headers" in json.loads(info.value.response.body)["detail"]
    # the same requests from the server's own page go through
    r = upload(shared_api, tiny_npz(), "own", headers={"Origin": shared.url})
    assert r.status_code == 201, r.text


def test_a_token_server_refuses_websockets_without_the_token(tmp_path):
    s = start_server(tmp_path / "data", "--token", "s3cret-token")
    try:
        bearer = {"Authorization": "Bearer s3cret-token"}
        with httpx.Client(base_url=s.url, timeout=30, headers=bearer) as api:
            assert httpx.get(f"{s.url}/api/networks").status_code == 401
            assert httpx.get(f"{s.url}/api/health").status_code == 200  # a load balancer's check needs no secret
            nid = api.post("/api/networks", json={"spec": SMALL}).json()["id"]
            ds = upload(api, tiny_npz(), "tok").json()["name"]
            run = api.post(f"/api/networks/{nid}/runs", json={"dataset": ds, **FAST, "epochs": 2}).json()
            wait_status(api, run["id"], ("completed",))
        url = f"ws://127.0.0.1:{s.port}/api/runs/{run['id']}/events"
        for suffix, headers in (("", None), ("?token=wrong", None), ("", {"Authorization": "Bearer nope"})):
            with pytest.raises(InvalidStatus) as info:
                with connect(url + suffix, additional_headers=headers, open_timeout=10):
                    pass
            assert info.value.response.status_code == 401
            assert "token" in json.loads(info.value.response.body)["detail"]
        for suffix, headers in (
            ("?token=s3cret-token", None),
            ("", bearer),
            ("", {"Cookie": "cnn_playground_token=s3cret-token"}),
        ):
            with connect(url + suffix, additional_headers=headers, open_timeout=10) as ws:
                events = [json.loads(m) for m in ws]
            assert events[-1]["type"] == "done"
    finally:
        s.stop()


# ---- 20: many writers at once -------------------------------------------------------------------------------


@pytest.mark.slow
def test_many_writers_at_once_never_see_a_locked_database(server, api):
    ds = upload(api, tiny_npz(), "writers").json()["name"]
    runs = []
    for i in range(3):  # runs that log events and checkpoint every few milliseconds
        nid = api.post("/api/networks", json={"spec": SMALL, "name": f"trainer{i}"}).json()["id"]
        runs.append(api.post(f"/api/networks/{nid}/runs", json={"dataset": ds, **FAST, "epochs": 500}).json()["id"])
    answers: list[httpx.Response] = []
    failures: list[str] = []

    def writer(k):
        try:
            with httpx.Client(base_url=server.url, timeout=60) as c:
                for j in range(12):
                    r = c.post("/api/networks", json={"spec": small_spec(2 + j % 3), "name": f"w{k}-{j}"})
                    answers.append(r)
                    nid = r.json()["id"]
                    answers.append(c.patch(f"/api/networks/{nid}", json={"spec": small_spec(5), "name": f"w{k}-{j}b"}))
                    answers.append(c.post(f"/api/networks/{nid}/reinit", json={"seed": j}))
                    answers.append(c.get("/api/runs"))
                    if j % 2:
                        answers.append(c.delete(f"/api/networks/{nid}"))
        except Exception as e:  # reported below: the test must not pass on a crashed writer
            failures.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures
    assert len(answers) == 10 * (12 * 4 + 6)
    bad = [
        (r.request.method, r.request.url.path, r.status_code, r.text[:200])
        for r in answers
        if r.status_code >= 500 or "locked" in r.text
    ]
    assert not bad, bad
    assert all(r.status_code in (200, 201, 204) for r in answers), {r.status_code for r in answers}
    # with as many workers as cores, the third run may still be waiting for one: all must be alive
    states = [api.get(f"/api/runs/{rid}").json() for rid in runs]
    assert all(st["status"] in ("running", "queued") for st in states), states
    assert sum(st["status"] == "running" and st["steps"] > 0 for st in states) >= 1, states
    for rid in runs:
        api.post(f"/api/runs/{rid}/stop")
    for rid in runs:
        assert wait_status(api, rid, ("stopped",)) == "stopped"
    assert len(api.get("/api/networks").json()) == 3 + 10 * 6
    assert not log_problems(server), log_problems(server)


# ---- 18 and 21: killed in the middle of saves ---------------------------------------------------------------


def check_consistent(server, api) -> dict:
    """After a restart: no temporary files, every row's file loads and agrees with its row."""
    root = server.data_dir
    leftovers = [
        p.name
        for kind in ("networks", "checkpoints", "datasets")
        for p in (root / kind).iterdir()
        if p.name.endswith(".tmp")
    ]
    assert not leftovers, leftovers
    nets = api.get("/api/networks").json()
    for net in nets:
        engine.load_checkpoint(root / "networks" / f"{net['id']}.npz")  # never a torn file
        exported = engine.load_checkpoint(api.get(f"/api/networks/{net['id']}/export").content)[0]
        assert exported.spec == net["spec"] and exported.seed == net["seed"], net["id"]
        assert engine.load_checkpoint(root / "networks" / f"{net['id']}.npz")[0].spec == net["spec"], net["id"]
    runs = api.get("/api/runs").json()
    for run in runs:
        assert run["status"] not in ("queued", "running", "paused"), run
        if run["checkpoint"]:
            net, opt, meta = engine.load_checkpoint(root / "checkpoints" / f"{run['checkpoint']}.npz")
            assert meta["run"] == run["id"] and opt is not None
    uploads = [d for d in api.get("/api/datasets").json() if d["source"] == "upload"]
    for d in uploads:
        r = api.get(f"/api/datasets/{d['name']}/samples?n=2")
        assert r.status_code == 200, r.text
    return {
        "networks": len(nets),
        "runs": len(runs),
        "checkpoints": sum(1 for r in runs if r["checkpoint"]),
        "uploads": len(uploads),
    }


@pytest.mark.slow
def test_killed_while_saving_the_server_restarts_with_whole_files_that_agree_with_the_database(tmp_path):
    rng = random.Random(18)
    data = tiny_npz()
    server = start_server(tmp_path / "data")
    with httpx.Client(base_url=server.url, timeout=30) as api:
        ds = upload(api, data, "base").json()["name"]
        trainer = api.post("/api/networks", json={"spec": SMALL, "name": "trainer"}).json()["id"]
        edited = api.post("/api/networks", json={"spec": SMALL, "name": "edited"}).json()["id"]
    counts = {"saves": 0, "kills": 0}
    last_run = None
    for cycle in range(6):
        stop = threading.Event()
        errors: list[str] = []

        def hammer(kind, url=server.url, stop=stop, cycle=cycle, errors=errors):
            i = 0
            with httpx.Client(base_url=url, timeout=10) as c:
                while not stop.is_set() and i < 10_000:
                    i += 1
                    try:
                        if kind == "patch":
                            r = c.patch(f"/api/networks/{edited}", json={"spec": small_spec(2 + i % 5)})
                        elif kind == "reinit":
                            r = c.post(f"/api/networks/{edited}/reinit", json={"seed": i})
                        elif kind == "upload":
                            r = upload(c, data, f"up{cycle}-{i}")
                            if r.status_code == 201 and i % 2:
                                r = c.delete(f"/api/datasets/up{cycle}-{i}")
                        else:
                            r = c.post("/api/networks", json={"spec": small_spec(3), "name": f"c{i}"})
                            if r.status_code == 201 and i % 2:
                                r = c.delete(f"/api/networks/{r.json()['id']}")
                    except httpx.HTTPError:
                        return  # the server was killed
                    if r.status_code >= 400:
                        errors.append(f"{kind}: {r.status_code} {r.text[:200]}")
                    counts["saves"] += 1

        with httpx.Client(base_url=server.url, timeout=30) as api:
            run = api.post(f"/api/networks/{trainer}/runs", json={"dataset": ds, **FAST}).json()
            last_run = run["id"]
            wait_status(api, run["id"], ("running",))
            threads = [threading.Thread(target=hammer, args=(k,)) for k in ("patch", "reinit", "upload", "create")]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.4, 2.0))
            last = cycle == 5
            server.stop(signal.SIGTERM if last else signal.SIGKILL)  # the last stop is the polite one (21)
            counts["kills"] += not last
            stop.set()
            for t in threads:
                t.join(30)
        assert not errors, errors
        server = start_server(server.data_dir)
        with httpx.Client(base_url=server.url, timeout=30) as api:
            facts = check_consistent(server, api)
            cut = api.get(f"/api/runs/{last_run}").json()
            assert cut["status"] == "interrupted" and cut["checkpoint"] == last_run, cut
    try:
        assert counts["kills"] == 5 and counts["saves"] > 20, counts
        assert facts["checkpoints"] >= 5, facts
        assert not [line for line in log_problems(server) if "locked" in line]
    finally:
        server.stop()
