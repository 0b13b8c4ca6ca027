"""End to end: a real server process on loopback, real HTTP and WebSockets."""

import json
import re
import subprocess
import sys
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from .conftest import free_port, running_server, start_server


def follow(server, run_id, origin=None):
    events = []
    headers = {"Origin": origin} if origin else None
    with connect(
        f"ws://127.0.0.1:{server.port}/api/runs/{run_id}/events", additional_headers=headers, open_timeout=10
    ) as ws:
        for message in ws:
            events.append(json.loads(message))
    return events


def test_a_student_session_over_http_and_websocket(server, api):
    assert "CNN Playground" in api.get("/").text
    net = api.post("/api/networks", json={"preset": "lenet5"}).json()
    run = api.post(
        f"/api/networks/{net['id']}/runs", json={"dataset": "strokes", "epochs": 2, "max_train": 600, "batch_size": 50}
    ).json()
    events = follow(server, run["id"])
    assert [e["type"] for e in events].count("epoch") == 2 and events[-1]["type"] == "done"
    batch_times = [e for e in events if e["type"] == "batch"]
    assert batch_times, "batch events reach the client"
    final = api.get(f"/api/runs/{run['id']}").json()
    assert final["status"] == "completed" and final["evaluation"]["n"] > 0
    maps = api.post(f"/api/networks/{net['id']}/activations", json={"dataset": "strokes", "split": "test", "index": 0})
    assert maps.status_code == 200, maps.text


def test_requests_are_answered_while_a_run_trains(server, api):
    net = api.post("/api/networks", json={"preset": "lenet5"}).json()
    run = api.post(f"/api/networks/{net['id']}/runs", json={"dataset": "strokes", "epochs": 20}).json()
    time.sleep(1.5)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        assert api.get(f"/api/networks/{net['id']}").status_code == 200
        times.append(time.perf_counter() - t)
    assert api.get(f"/api/runs/{run['id']}").json()["status"] == "running"
    assert max(times) < 5  # answered at all, not a latency target (see benchmarks/latency.py)
    api.post(f"/api/runs/{run['id']}/stop")


def test_stopping_the_server_interrupts_runs_and_a_restart_keeps_everything(tmp_path):
    s = start_server(tmp_path / "data")
    with httpx.Client(base_url=s.url, timeout=30) as api:
        net = api.post("/api/networks", json={"preset": "lenet5", "name": "mine"}).json()
        run = api.post(
            f"/api/networks/{net['id']}/runs", json={"dataset": "strokes", "epochs": 50, "max_train": 300}
        ).json()
        deadline = time.monotonic() + 60
        while api.get(f"/api/runs/{run['id']}").json()["epoch"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
    took = s.stop()
    assert took < 10, f"the server took {took:.1f} s to stop"
    s2 = start_server(tmp_path / "data")
    try:
        with httpx.Client(base_url=s2.url, timeout=30) as api:
            assert api.get(f"/api/networks/{net['id']}").json()["name"] == "mine"
            cut = api.get(f"/api/runs/{run['id']}").json()
            assert cut["status"] == "interrupted" and cut["checkpoint"] and cut["resumable"]
            assert "resume" in cut["message"] and cut["metrics"]["epochs"] == cut["epoch"] >= 1
            assert cut["history"][-1]["type"] == "done" and cut["history"][-1]["status"] == "interrupted"
    finally:
        s2.stop()


def test_off_loopback_the_teacher_gets_a_token_link_and_students_a_class_code(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "d"),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        teacher, students = proc.stdout.readline(), proc.stdout.readline()
        token = re.search(r"\?token=([\w-]+)", teacher).group(1)
        code = re.search(r"the code ([A-Z0-9]{6})", students).group(1)
        assert "token" not in students and token not in students  # the students' line never carries it
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"{url}/api/networks", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert r.status_code == 401
        assert httpx.get(f"{url}/api/networks?token={token}").status_code == 200
        joined = httpx.post(f"{url}/api/classes/join", json={"code": code.lower(), "name": "Ada"})
        assert joined.status_code == 200, joined.text
        as_ada = {"Authorization": f"Bearer {joined.json()['token']}"}
        assert httpx.get(f"{url}/api/networks", headers=as_ada).json() == []
        assert httpx.get(f"{url}/api/classes", headers=as_ada).status_code == 403
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def test_a_websocket_from_another_origin_is_refused(server, api):
    net = api.post("/api/networks", json={"preset": "lenet5"}).json()
    run = api.post(f"/api/networks/{net['id']}/runs", json={"dataset": "strokes", "epochs": 1, "max_train": 100}).json()
    with pytest.raises(InvalidStatus) as info:
        follow(server, run["id"], origin="http://evil.example")
    assert info.value.response.status_code == 403
    assert follow(server, run["id"], origin=server.url)[-1]["type"] == "done"


def test_a_taken_port_is_a_clear_error(server, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(server.port), "--data-dir", str(tmp_path / "other")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "--port" in out.stderr and "Traceback" not in out.stderr


def test_the_token_is_never_written_to_the_log(tmp_path):
    token = "Sekr1t-t0ken_for-the-log-test"
    with running_server(tmp_path / "data", "--token", token, "--log-level", "info") as server:
        for query in ("/?token={}", "/api/presets?token={}", "/api/presets?a=1&token={}&b=2"):
            assert httpx.get(server.url + query.format(token)).status_code == 200
        assert httpx.get(f"{server.url}/api/presets?token=a-wrong-{token}").status_code == 401
        events = f"ws://127.0.0.1:{server.port}/api/runs/0123456789abcdef/events?token={token}"
        with pytest.raises(InvalidStatus):  # no such run; the handshake is logged all the same
            connect(events, open_timeout=10)
    lines = server.log.read_text().splitlines()
    banner = [line for line in lines if line.startswith("CNN Playground: ")]
    assert len(banner) == 1 and token in banner[0]  # the URL to open, printed once for the teacher
    leaks = [line for line in lines if token in line and line not in banner]
    assert not leaks, leaks
    assert any('"GET /api/presets?token=*** HTTP/1.1" 200' in line for line in lines), lines
    assert any('"GET /api/presets?a=1&token=***&b=2 HTTP/1.1" 200' in line for line in lines)
    assert any('"GET /?token=*** HTTP/1.1" 200' in line for line in lines)
    handshake = "WebSocket /api/runs/0123456789abcdef/events?token=***"
    assert any(handshake in line for line in lines), lines
