"""Who may do what, checked on every route of the API's own schema: a student never reaches another
student's networks, runs or datasets (404, as if they did not exist) nor any teacher's route (403)."""

import io
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from app.settings import Settings

TINY = {"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}
SAMPLE = {"dataset": "strokes", "split": "test", "index": 0}
# a body that works for each kind of operation, so that only whose the id is decides the answer
BODIES = {
    "runs": {"dataset": "strokes", "epochs": 1, "max_train": 64},
    "reinit": {"seed": 1},
    "predict": SAMPLE,
    "activations": SAMPLE,
    "overview": SAMPLE,
    "saliency": SAMPLE,
    "occlusion": SAMPLE,
    "gradcheck": {"n": 1, "max_entries": 2},
    "receptive-field": {**SAMPLE, "layer": "layers[0]"},
    "dropout": SAMPLE,
    "feature-visualization": {},
    "adversarial": SAMPLE,
    "submit": {"network_id": "0123456789abcdef"},
    "batch": {"inputs": [SAMPLE]},
}


def wait_done(client, run_id, headers):
    deadline = time.monotonic() + 60
    while client.get(f"/api/runs/{run_id}", headers=headers).json()["status"] in ("queued", "running", "paused"):
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("class") / "d"))) as c:
        klass = c.post("/api/classes", json={"name": "Lab 1"}).json()  # this machine's user is the teacher
        tokens = {}
        for name in ("Ada", "Bob"):
            r = c.post("/api/classes/join", json={"code": klass["code"], "name": name})
            assert r.status_code == 200, r.text
            tokens[name] = {"Authorization": f"Bearer {r.json()['token']}"}
            c.cookies.clear()  # each student's own browser
        bob = tokens["Bob"]
        net = c.post("/api/networks", json={"spec": TINY, "name": "bob's"}, headers=bob).json()
        run = c.post(f"/api/networks/{net['id']}/runs", json=BODIES["runs"], headers=bob).json()
        wait_done(c, run["id"], bob)
        buf = io.BytesIO()
        rng = np.random.default_rng(0)
        np.savez(buf, x=rng.integers(0, 256, (20, 8, 8), dtype=np.uint8), y=rng.integers(0, 2, 20))
        ds = c.post("/api/datasets", files={"file": ("bobs.npz", buf.getvalue())}, data={"name": "bobs"}, headers=bob)
        assert ds.status_code == 201, ds.text
        ids = {
            "network_id": net["id"],
            "run_id": run["id"],
            "name": "bobs",
            "class_id": klass["id"],
            "student_id": "0123456789abcdef",
            "challenge_id": "0123456789abcdef",
        }
        yield c, tokens, ids


def operations(client):
    for path, ops in client.app.openapi()["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op


def call(client, method, path, ids, headers):
    url = path
    for key, value in ids.items():
        url = url.replace("{" + key + "}", value)
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if last == "image":  # an uploaded picture
        buf = io.BytesIO()
        Image.new("L", (28, 28)).save(buf, format="PNG")
        return client.request(method, url, files={"file": ("digit.png", buf.getvalue(), "image/png")}, headers=headers)
    body = BODIES.get(last, {}) if method in ("POST", "PATCH", "PUT") else None
    return client.request(method, url, json=body, headers=headers)


def test_a_student_meets_another_students_records_as_if_they_did_not_exist(world):
    client, tokens, ids = world
    checked = []
    for method, path, op in operations(client):
        teachers = any("teacher" in t for t in op.get("tags", []))
        if teachers or not any(k in path for k in ("{network_id}", "{run_id}", "{name}")):
            continue
        r = call(client, method, path, ids, tokens["Ada"])
        if path.endswith("/download"):  # fetching a dataset onto the server is the teacher's, whichever
            assert r.status_code == 403 and "teacher" in r.json()["detail"], r.text
            continue
        assert r.status_code == 404, (method, path, r.status_code, r.text[:300])
        checked.append((method, path))
    assert len(checked) >= 15, checked  # networks, their inspection, runs, datasets
    # and Bob reaches his own
    assert client.get(f"/api/networks/{ids['network_id']}", headers=tokens["Bob"]).status_code == 200
    assert client.get(f"/api/runs/{ids['run_id']}", headers=tokens["Bob"]).status_code == 200
    # lists show each student only their own
    assert client.get("/api/networks", headers=tokens["Ada"]).json() == []
    assert client.get("/api/runs", headers=tokens["Ada"]).json() == []
    assert "bobs" not in [d["name"] for d in client.get("/api/datasets", headers=tokens["Ada"]).json()]
    assert "bobs" in [d["name"] for d in client.get("/api/datasets", headers=tokens["Bob"]).json()]


def test_every_teacher_route_is_forbidden_to_a_student(world):
    client, tokens, ids = world
    teacher_routes = [(m, p) for m, p, op in operations(client) if any("teacher" in t for t in op.get("tags", []))]
    assert len(teacher_routes) >= 14
    for method, path in teacher_routes:
        r = call(client, method, path, ids, tokens["Ada"])
        assert r.status_code == 403, (method, path, r.status_code, r.text[:300])
        assert "teacher" in r.json()["detail"]
    # the teacher (this machine's user) reaches them, students' records included
    assert client.get(f"/api/classes/{ids['class_id']}/dashboard").status_code == 200
    assert client.get(f"/api/networks/{ids['network_id']}").status_code == 200


def test_the_dashboard_websocket_is_the_teachers_only(world):
    from starlette.testclient import WebSocketDenialResponse

    client, tokens, ids = world
    with pytest.raises(WebSocketDenialResponse) as refused:
        with client.websocket_connect(f"/api/classes/{ids['class_id']}/dashboard/live", headers=tokens["Ada"]):
            pass
    assert refused.value.status_code == 403
    with client.websocket_connect(f"/api/classes/{ids['class_id']}/dashboard/live") as ws:
        first = ws.receive_json()
    assert {s["name"] for s in first["students"]} == {"Ada", "Bob"}
