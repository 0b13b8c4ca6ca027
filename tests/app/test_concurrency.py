"""Hostile and concurrent clients against a real uvicorn server running this app in a thread (loopback only).

In process, so a test can both talk to the server over real sockets and look at its state
(subscribers of a run, the network cache) and choose small limits through Settings.
"""

import base64
import json
import os
import socket
import threading
import time

import httpx
import pytest

import engine
from app.settings import Settings

from .live import Live

# a network that trains thousands of steps a second at batch size 1: many events, fast
TINY = {"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}


@pytest.fixture
def live(tmp_path, request):
    overrides = getattr(request, "param", {})
    s = Live(Settings(data_dir=tmp_path / "data", **overrides))
    yield s
    s.close()


def wait_done(live, run_id, timeout=120):
    runs = live.services.runs
    deadline = time.monotonic() + timeout
    while runs.describe(run_id)["status"] in ("queued", "running", "paused"):
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.05)
    return runs.describe(run_id)


def stuck_client(port: int, run_id: str) -> socket.socket:
    """A raw socket that completes the WebSocket handshake and then reads nothing more."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        f"GET /api/runs/{run_id}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        byte = s.recv(1)
        assert byte, "the server closed the connection during the handshake"
        head += byte
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def frames(raw: bytes) -> list[tuple[int, bytes]]:
    """Server-to-client WebSocket frames (unmasked): (opcode, payload); a cut-off last frame is left out."""
    out, i = [], 0
    while i + 2 <= len(raw):
        op, n, j = raw[i] & 0x0F, raw[i + 1] & 0x7F, i + 2
        if n == 126:
            n, j = int.from_bytes(raw[j : j + 2], "big"), j + 2
        elif n == 127:
            n, j = int.from_bytes(raw[j : j + 8], "big"), j + 8
        if j + n > len(raw):
            break
        out.append((op, raw[j : j + n]))
        i = j + n
    return out


@pytest.mark.slow
@pytest.mark.parametrize("live", [{"batch_events_per_second": 100_000}], indirect=True)
def test_a_client_that_never_reads_does_not_slow_training_and_is_dropped(live):
    # every step is an event here (no thinning), so a client that never reads fills the
    # socket buffers (a few MB) within seconds, then its queue (512 events)
    with httpx.Client(base_url=live.url, timeout=30) as api:
        nid = api.post("/api/networks", json={"spec": TINY}).json()["id"]
        body = {"dataset": "strokes", "epochs": 20, "batch_size": 1, "max_train": 1500}
        runs = live.services.runs

        first = api.post(f"/api/networks/{nid}/runs", json={**body, "epochs": 1}).json()["id"]  # loads the dataset
        wait_done(live, first)
        t = time.monotonic()
        free = api.post(f"/api/networks/{nid}/runs", json=body).json()["id"]
        assert wait_done(live, free)["status"] == "completed"
        alone = time.monotonic() - t

        t = time.monotonic()
        rid = api.post(f"/api/networks/{nid}/runs", json=body).json()["id"]
        sock = stuck_client(live.port, rid)
        subscribed = released_while_running = False
        while runs.describe(rid)["status"] in ("queued", "running"):
            n = runs.bus.subscriber_count(rid)
            subscribed |= n == 1
            if subscribed and n == 0 and runs.describe(rid)["status"] == "running":
                released_while_running = True
            time.sleep(0.02)
            assert time.monotonic() - t < 120
        with_stuck = time.monotonic() - t
        assert runs.describe(rid)["status"] == "completed"
        # the worker never waits for a client: at most the cost of serializing events (generous bound)
        assert with_stuck < 2.5 * alone + 3, (with_stuck, alone)
        assert subscribed and released_while_running, "the stuck client kept its subscription while the run went on"
        assert runs.bus.subscriber_count(rid) == 0 and rid not in runs.bus.followers

        # the server is done with it: reading now gives what was buffered, then the connection ends
        raw, deadline = b"", time.monotonic() + 30
        sock.settimeout(30)
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            raw += chunk
            assert time.monotonic() < deadline, "the server never closed the stuck client's connection"
        sock.close()
        got = frames(raw)
        texts = [p for op, p in got if op == 1]
        assert texts and not any(b'"type":"done"' in p for p in texts), "the stuck client was not cut off"
        closes = [p for op, p in got if op == 8]
        assert not closes or int.from_bytes(closes[0][:2], "big") == 1013
        assert api.get("/api/health").json()["status"] == "ok"


def test_two_clients_starting_a_run_on_one_network_at_once_one_wins(live):
    with httpx.Client(base_url=live.url, timeout=60) as api:
        api.get("/api/datasets/strokes/samples?n=1").raise_for_status()  # the dataset is loaded once, here
        nets = [api.post("/api/networks", json={"preset": "lenet5", "name": f"n{i}"}).json()["id"] for i in range(4)]
        live.services.networks._cache.clear()  # both requests also race to load the network from its file
        body = {"dataset": "strokes", "epochs": 30, "max_train": 1000}
        for nid in nets:
            barrier = threading.Barrier(2)
            answers = []

            def start(nid=nid, barrier=barrier, answers=answers):
                with httpx.Client(base_url=live.url, timeout=60) as c:
                    barrier.wait(10)
                    answers.append(c.post(f"/api/networks/{nid}/runs", json=body))

            threads = [threading.Thread(target=start) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
            refused = next(r for r in answers if r.status_code == 409)
            assert "already training" in refused.json()["detail"]
            run_id = next(r for r in answers if r.status_code == 201).json()["id"]

            # the network belongs to its run while it trains
            other = dict(
                engine.PRESETS["lenet5"],
                layers=engine.PRESETS["lenet5"]["layers"][:-1]
                + [{"type": "linear", "out_features": 10, "name": "out"}],
            )
            r = api.patch(f"/api/networks/{nid}", json={"spec": other})
            assert r.status_code == 409 and "stop the run" in r.json()["detail"]
            assert api.post(f"/api/networks/{nid}/reinit", json={"seed": 5}).status_code == 409
            assert api.delete(f"/api/networks/{nid}").status_code == 409
            assert api.patch(f"/api/networks/{nid}", json={"name": "renamed"}).status_code == 200

            api.post(f"/api/runs/{run_id}/stop").raise_for_status()
            assert wait_done(live, run_id)["status"] == "stopped"
            assert len(list(api.get(f"/api/runs?network_id={nid}").json())) == 1

            # nothing is corrupted: the file loads, the row agrees, and the network can be edited again
            net = engine.load_checkpoint(live.services.files.read("networks", nid))[0]
            assert net.spec == api.get(f"/api/networks/{nid}").json()["spec"] == engine.PRESETS["lenet5"]
            assert (
                api.post(f"/api/networks/{nid}/activations", json={"dataset": "strokes", "index": 0}).status_code == 200
            )
            r = api.patch(f"/api/networks/{nid}", json={"spec": other})
            assert r.status_code == 200 and r.json()["spec"] == other


def test_weights_and_row_that_disagree_after_a_crash_follow_the_row(live):
    """A crash between writing a spec change's weights and its row leaves the new file and the old row."""
    from engine.io import to_bytes

    with httpx.Client(base_url=live.url, timeout=30) as api:
        row = api.post("/api/networks", json={"spec": TINY, "seed": 3}).json()
        other = dict(TINY, layers=[{"type": "flatten"}, {"type": "linear", "out_features": 7}])
        live.services.files.write("networks", row["id"], to_bytes(engine.build_network(other, seed=9)))
        live.services.networks._cache.clear()  # as after a restart
        r = api.post(f"/api/networks/{row['id']}/predict", json={"dataset": "strokes", "index": 0})
        assert r.status_code == 200 and len(r.json()["probabilities"]) == 10, r.text
        net = engine.load_checkpoint(live.services.files.read("networks", row["id"]))[0]
        assert net.spec == TINY and net.seed == 3


@pytest.mark.parametrize("live", [{"max_ws_clients": 1}], indirect=True)
def test_one_follower_too_many_gets_429_with_a_reason_and_the_first_keeps_its_stream(live):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with httpx.Client(base_url=live.url, timeout=30) as api:
        nid = api.post("/api/networks", json={"spec": TINY}).json()["id"]
        rid = api.post(
            f"/api/networks/{nid}/runs", json={"dataset": "strokes", "epochs": 200, "batch_size": 1, "max_train": 1000}
        ).json()["id"]
        url = f"ws://127.0.0.1:{live.port}/api/runs/{rid}/events"
        try:
            with connect(url, open_timeout=10) as first:
                assert json.loads(first.recv(timeout=10))["seq"] >= 1
                with pytest.raises(InvalidStatus) as info, connect(url, open_timeout=10):
                    pass
                assert info.value.response.status_code == 429
                assert "too many clients" in json.loads(info.value.response.body)["detail"]
                assert json.loads(first.recv(timeout=10))["seq"] >= 1
        finally:
            api.post(f"/api/runs/{rid}/stop")
        wait_done(live, rid)
        with connect(url, open_timeout=10) as again:  # the place is free once the first has gone
            assert [json.loads(m) for m in again][-1]["status"] == "stopped"
