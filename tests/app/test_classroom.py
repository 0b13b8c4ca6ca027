"""A class, as a teacher and students use it: joining, the dashboard, pushed setups, locks the server
enforces, a challenge scored on held-back images, the results as CSV, and a class deleted whole."""

import csv
import io
import json
import time

import pytest
from fastapi.testclient import TestClient

import engine
from app.main import create_app
from app.settings import Settings
from engine.data.builtin import generate
from engine.io import to_bytes

TINY = {"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}
SHAPES_NET = {
    "input": [3, 32, 32],
    "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2},
        {"type": "relu"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 8},
    ],
}
QUICK = {"dataset": "strokes", "epochs": 1, "max_train": 64, "batch_size": 32}


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path / "d"))) as c:
        yield c


def open_class(client, name="Lab"):
    r = client.post("/api/classes", json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()


def join(client, code, name):
    client.cookies.clear()
    r = client.post("/api/classes/join", json={"code": code, "name": name})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}, r.json()["student"]


def wait_done(client, run_id, headers=None):
    deadline = time.monotonic() + 60
    while True:
        run = client.get(f"/api/runs/{run_id}", headers=headers).json()
        if run["status"] not in ("queued", "running", "paused"):
            return run
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_code_is_short_and_unambiguous_and_joining_is_forgiving_about_case_and_spaces(client):
    klass = open_class(client)
    code = klass["code"]
    assert len(code) == 6 and not set(code) & set("0O1IL5S2Z8BUV")
    client.cookies.clear()
    spaced = code[:3].lower() + " " + code[3:]
    r = client.post("/api/classes/join", json={"code": spaced, "name": "  Ada   Lovelace "})
    assert r.status_code == 200 and r.json()["student"]["name"] == "Ada Lovelace"
    assert "cnn_playground_student" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
    # the same browser joining again is the same student (a new name is taken as a rename)
    again = client.post("/api/classes/join", json={"code": code, "name": "Ada L."})
    assert again.json()["student"]["id"] == r.json()["student"]["id"]
    assert again.json()["student"]["name"] == "Ada L."
    client.cookies.clear()
    taken = client.post("/api/classes/join", json={"code": code, "name": "ada l."})
    assert taken.status_code == 200  # a different case is another name
    taken = client.post("/api/classes/join", json={"code": code, "name": "Ada L."})
    assert taken.status_code == 409 and "already goes by" in taken.json()["detail"]
    wrong = client.post("/api/classes/join", json={"code": "XXXXXX", "name": "Eve"})
    assert wrong.status_code == 404 and "code" in wrong.json()["detail"]
    bad = client.post("/api/classes/join", json={"code": code, "name": "E\u202eve"})
    assert bad.status_code == 422 and "U+202E" in json.dumps(bad.json())


def test_joining_is_rate_limited_per_address_so_codes_cannot_be_guessed(client):
    open_class(client)
    answers = [client.post("/api/classes/join", json={"code": f"GUESS{i}", "name": "x"}).status_code for i in range(25)]
    assert answers[:20] == [404] * 20 and set(answers[20:]) == {429}


def test_a_whole_room_behind_one_address_joins_without_waiting(client):
    code = open_class(client)["code"]  # 40 students, one school NAT: only wrong codes count
    answers = []
    for i in range(40):
        client.cookies.clear()  # each its own browser
        answers.append(client.post("/api/classes/join", json={"code": code, "name": f"Student {i}"}).status_code)
    assert answers == [200] * 40
    client.cookies.clear()  # the teacher again (this machine, on loopback)
    klass = client.get("/api/classes").json()[0]
    assert klass["students"] == 40


def test_a_closed_class_takes_no_one_and_a_removed_student_is_no_one(client):
    klass = open_class(client)
    ada, who = join(client, klass["code"], "Ada")
    assert client.get("/api/networks", headers=ada).status_code == 200
    assert client.post(f"/api/classes/{klass['id']}/close").json()["closed"]
    client.cookies.clear()
    assert client.post("/api/classes/join", json={"code": klass["code"], "name": "Bob"}).status_code == 404
    assert client.get("/api/networks", headers=ada).status_code == 200  # a closed class keeps its students
    assert client.delete(f"/api/classes/{klass['id']}/students/{who['id']}").status_code == 204
    assert client.get("/api/networks", headers=ada).status_code == 401  # not this machine's user either
    assert client.get("/api/me", headers=ada).json()["kind"] == "anonymous"


def test_the_dashboard_shows_each_student_live_and_what_the_class_gets_wrong(client):
    klass = open_class(client)
    ada, a = join(client, klass["code"], "Ada")
    bob, b = join(client, klass["code"], "Bob")
    net = client.post("/api/networks", json={"spec": TINY}, headers=ada).json()
    client.post(
        "/api/me/activity",
        json={"view": "train", "network_id": net["id"], "lesson": "kps", "exercise": "output_size-0"},
        headers=ada,
    )
    run = client.post(
        f"/api/networks/{net['id']}/runs", json={**QUICK, "epochs": 200, "max_train": 2000}, headers=ada
    ).json()
    for who in (ada, bob):  # both get output_size-0 wrong the same way (15.5, not floored)
        client.post("/api/exercises/output_size/0/answer", json={"answer": 15.5}, headers=who)
    client.post("/api/exercises/output_size/0/answer", json={"answer": 15}, headers=ada)
    client.post("/api/exercises/conv_params/0/answer", json={"answer": 1520}, headers=bob)
    deadline = time.monotonic() + 30
    while client.get(f"/api/runs/{run['id']}", headers=ada).json()["epoch"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    board = client.get(f"/api/classes/{klass['id']}/dashboard").json()
    rows = {s["name"]: s for s in board["students"]}
    assert rows["Ada"]["view"] == "train" and rows["Ada"]["lesson"] == "kps"
    assert rows["Ada"]["network"] == {"id": net["id"], "name": "network", "params": 7850}
    assert rows["Ada"]["run"]["id"] == run["id"] and rows["Ada"]["run"]["epoch"] >= 1
    assert rows["Ada"]["run"]["val_accuracy"] is not None and rows["Ada"]["run"]["epochs"] == 200
    assert rows["Ada"]["exercises"] == {"correct": 1, "attempted": 2}
    assert rows["Bob"]["exercises"] == {"correct": 1, "attempted": 2} and rows["Bob"]["run"] is None
    assert not rows["Bob"]["idle"]
    hardest = board["exercises"][0]
    assert hardest["kind"] == "output_size" and hardest["commonest_wrong"] == {"answer": 15.5, "count": 2}
    client.post(f"/api/runs/{run['id']}/stop")  # the teacher may stop a student's run
    assert wait_done(client, run["id"])["status"] == "stopped"
    # five quiet minutes make a student idle
    client.app.state.services.db.query("UPDATE students SET seen = seen - 301 WHERE id = ?", (b["id"],))
    board = client.get(f"/api/classes/{klass['id']}/dashboard").json()
    assert {s["name"]: s["idle"] for s in board["students"]} == {"Ada": False, "Bob": True}
    detail = client.get(f"/api/classes/{klass['id']}/students/{a['id']}").json()
    assert detail["networks"][0]["id"] == net["id"] and detail["runs"][0]["curve"]
    assert [x["answer"] for x in detail["answers"]] == [15.5, 15]


def test_a_pushed_setup_reaches_everyone_or_those_who_asked(client):
    klass = open_class(client)
    ada, _a = join(client, klass["code"], "Ada")
    bob, _b = join(client, klass["code"], "Bob")
    setup = {"spec": TINY, "dataset": "strokes", "hyper": {"lr": 0.1, "epochs": 2}, "view": "train", "lesson": "kps"}
    r = client.post(f"/api/classes/{klass['id']}/push", json={"setup": setup, "to": "all"})
    assert r.status_code == 200 and r.json()["to"] == 2
    for who in (ada, bob):
        me = client.get("/api/me", headers=who).json()
        assert me["kind"] == "student" and me["setup"]["setup"] == setup
    client.post("/api/me/ask", json={"asking": True}, headers=bob)
    help_bob = {"preset": "lenet5", "view": "build"}
    assert client.post(f"/api/classes/{klass['id']}/push", json={"setup": help_bob, "to": "askers"}).json()["to"] == 1
    assert client.get("/api/me", headers=bob).json()["setup"]["setup"] == help_bob
    assert client.get("/api/me", headers=ada).json()["setup"]["setup"] == setup
    assert not client.get(f"/api/classes/{klass['id']}/dashboard").json()["students"][1]["asking"]
    bad = client.post(f"/api/classes/{klass['id']}/push", json={"setup": {"hyper": {"lr": -1}}})
    assert bad.status_code == 422
    bad = client.post(f"/api/classes/{klass['id']}/push", json={"setup": {"dataset": "nope"}})
    assert bad.status_code == 404


def test_locks_are_the_servers_and_a_locked_change_says_which_lock(client):
    klass = open_class(client)
    ada, _ = join(client, klass["code"], "Ada")
    client.post(f"/api/classes/{klass['id']}/push", json={"setup": {"spec": TINY, "hyper": {"lr": 0.05}}})
    locks = {
        "architecture": True,
        "editable": ["lr", "batch_size"],
        "hidden_views": {"inspect": {}, "conv": {"until_solved": "conv_params"}},
    }
    assert client.put(f"/api/classes/{klass['id']}/locks", json=locks).status_code == 200
    # the architecture: the pushed network only
    other = {
        "input": [1, 28, 28],
        "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10, "bias": False}],
    }
    r = client.post("/api/networks", json={"spec": other}, headers=ada)
    assert r.status_code == 403 and "fixed the architecture" in r.json()["detail"]
    net = client.post("/api/networks", json={"spec": TINY}, headers=ada)
    assert net.status_code == 201
    net = net.json()
    r = client.patch(f"/api/networks/{net['id']}", json={"spec": other}, headers=ada)
    assert r.status_code == 403 and "architecture" in r.json()["detail"]
    saved = to_bytes(engine.build_network(TINY))
    r = client.post("/api/networks/import", files={"file": ("n.npz", saved)}, headers=ada)
    assert r.status_code == 403 and "import" in r.json()["detail"]
    # run settings: lr and batch_size are the student's, the rest as pushed (or their defaults)
    r = client.post(
        f"/api/networks/{net['id']}/runs",
        json={"dataset": "strokes", "lr": 0.2, "batch_size": 16, "max_train": 64},
        headers=ada,
    )
    assert r.status_code == 403 and "max_train" in r.json()["detail"] and "lr, batch_size" in r.json()["detail"]
    r = client.post(
        f"/api/networks/{net['id']}/runs", json={"dataset": "strokes", "lr": 0.2, "batch_size": 16}, headers=ada
    )
    assert r.status_code == 201, r.text
    client.post(f"/api/runs/{r.json()['id']}/stop", headers=ada)
    wait_done(client, r.json()["id"], ada)
    # closed views: Inspect for now, the Convolution view until conv_params is solved
    r = client.post(f"/api/networks/{net['id']}/predict", json={"dataset": "strokes", "index": 0}, headers=ada)
    assert r.status_code == 403 and "the Inspect view" in r.json()["detail"]
    x = [[0, 1, 2], [1, 0, 1], [2, 1, 0]]
    r = client.post("/api/conv/explain", json={"x": x, "w": [[1, 0], [0, 1]]}, headers=ada)
    assert r.status_code == 403 and "conv_params" in r.json()["detail"]
    assert client.get("/api/me", headers=ada).json()["locks"]["hidden_views"].keys() == {"inspect", "conv"}
    client.post("/api/exercises/conv_params/0/answer", json={"answer": 1520}, headers=ada)
    assert client.post("/api/conv/explain", json={"x": x, "w": [[1, 0], [0, 1]]}, headers=ada).status_code == 200
    assert client.get("/api/me", headers=ada).json()["locks"]["hidden_views"].keys() == {"inspect"}
    # the teacher is never locked
    assert client.post("/api/networks", json={"spec": other}).status_code == 201
    bad = client.put(f"/api/classes/{klass['id']}/locks", json={"hidden_views": {"lessons": {}}})
    assert bad.status_code == 422


def train(client, headers, spec, epochs):
    net = client.post("/api/networks", json={"spec": spec}, headers=headers).json()
    run = client.post(
        f"/api/networks/{net['id']}/runs",
        json={"dataset": "shapes", "epochs": epochs, "max_train": 400, "lr": 0.05},
        headers=headers,
    )
    assert run.status_code == 201, run.text
    assert wait_done(client, run.json()["id"], headers)["status"] == "completed"
    return net


def test_a_challenge_is_scored_on_held_back_images_and_its_rules_are_kept(client):
    klass = open_class(client)
    ada, _a = join(client, klass["code"], "Ada")
    bob, _b = join(client, klass["code"], "Bob")
    ch = client.post(
        f"/api/classes/{klass['id']}/challenges",
        json={"name": "Shapes", "dataset": "shapes", "max_params": 20_000, "max_epochs": 2},
    )
    assert ch.status_code == 201, ch.text
    ch = ch.json()
    assert client.get("/api/me", headers=ada).json()["challenges"][0]["id"] == ch["id"]
    net = train(client, ada, SHAPES_NET, 2)
    r = client.post(f"/api/challenges/{ch['id']}/submit", json={"network_id": net["id"]}, headers=ada)
    assert r.status_code == 200, r.text
    entry = r.json()
    assert entry["epochs"] == 2 and entry["rank"] == 1 and entry["of"] == 1
    # scored on the held-back images, normalized as training was: the same number, independently
    row = client.app.state.services.db.query("SELECT * FROM challenges WHERE id = ?", (ch["id"],))[0]
    x, y = generate("shapes", row["holdout_size"], row["holdout_seed"], "test")
    ds = client.app.state.services.datasets.load("shapes")
    model = engine.load_checkpoint(client.get(f"/api/networks/{net['id']}/export", headers=ada).content)[0]
    assert entry["accuracy"] == pytest.approx(float((model.logits(ds.normalize(x)).argmax(1) == y).mean()))
    # the rules: parameters, epochs, and the network's history
    big = {**SHAPES_NET, "layers": [{**SHAPES_NET["layers"][0], "out_channels": 32}, *SHAPES_NET["layers"][1:]]}
    too_big = train(client, bob, big, 1)
    r = client.post(f"/api/challenges/{ch['id']}/submit", json={"network_id": too_big["id"]}, headers=bob)
    assert r.status_code == 422 and "at most 20,000" in r.json()["detail"]
    long = train(client, bob, SHAPES_NET, 3)
    r = client.post(f"/api/challenges/{ch['id']}/submit", json={"network_id": long["id"]}, headers=bob)
    assert r.status_code == 422 and "3 epochs" in r.json()["detail"]
    r = client.post(f"/api/challenges/{ch['id']}/submit", json={"network_id": net["id"]}, headers=bob)
    assert r.status_code == 404  # Ada's network is no one's to Bob
    r = client.post(f"/api/challenges/{ch['id']}/submit", json={"network_id": net["id"]})
    assert r.status_code == 403  # the teacher watches
    board = client.get(f"/api/challenges/{ch['id']}/leaderboard", headers=bob).json()
    assert [e["name"] for e in board["entries"]] == ["Ada"]
    assert client.post(f"/api/challenges/{ch['id']}/end").json()["ended"]
    r = client.post(f"/api/challenges/{ch['id']}/submit", json={"network_id": net["id"]}, headers=ada)
    assert r.status_code == 409 and "ended" in r.json()["detail"]
    # the results, one row per student
    out = client.get(f"/api/classes/{klass['id']}/results.csv")
    assert out.headers["content-type"].startswith("text/csv")
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(out.text))}
    assert float(rows["Ada"]["challenge: Shapes"]) == pytest.approx(entry["accuracy"], abs=1e-4)
    assert rows["Bob"]["challenge: Shapes"] == "" and rows["Bob"]["best validation accuracy"] != ""
    bad = client.post(f"/api/classes/{klass['id']}/challenges", json={"dataset": "mnist"})
    assert bad.status_code == 422 and "built-in generated" in json.dumps(bad.json())


def test_deleting_a_class_deletes_its_students_and_all_they_made(client, tmp_path):
    klass = open_class(client)
    ada, a = join(client, klass["code"], "Ada")
    net = client.post("/api/networks", json={"spec": TINY}, headers=ada).json()
    run = client.post(f"/api/networks/{net['id']}/runs", json=QUICK, headers=ada).json()
    wait_done(client, run["id"], ada)
    client.post("/api/exercises/conv_params/0/answer", json={"answer": 1}, headers=ada)
    files = client.app.state.services.files
    assert files.path("networks", net["id"]).exists()
    assert client.delete(f"/api/classes/{klass['id']}").status_code == 204
    db = client.app.state.services.db
    for table, column in (("students", "id"), ("networks", "id"), ("learners", "id"), ("attempts", "learner")):
        assert not db.query(f"SELECT 1 FROM {table} WHERE {column} IN (?, ?)", (a["id"], net["id"])), table
    assert not files.path("networks", net["id"]).exists()
    assert client.get("/api/networks", headers=ada).status_code == 401
    assert client.get(f"/api/classes/{klass['id']}").status_code == 404


def test_a_student_answers_as_themselves_whatever_learner_they_name(client):
    klass = open_class(client)
    ada, a = join(client, klass["code"], "Ada")
    client.post(
        "/api/exercises/conv_params/0/answer", json={"answer": 1520}, headers={**ada, "X-Learner": "someone-else-1"}
    )
    db = client.app.state.services.db
    assert [r["learner"] for r in db.query("SELECT learner FROM attempts")] == [a["id"]]


def test_a_closed_view_closes_every_endpoint_that_view_uses(client):
    klass = open_class(client)
    ada, _ = join(client, klass["code"], "Ada")
    net = client.post("/api/networks", json={"spec": TINY}, headers=ada).json()
    locks = {"hidden_views": {"inspect": {}, "init": {}}}
    assert client.put(f"/api/classes/{klass['id']}/locks", json=locks).status_code == 200
    sample = {"dataset": "strokes", "index": 0}
    for path, body in (
        ("predict", sample),
        ("receptive-field", {**sample, "layer": "layers[1]"}),
        ("adversarial", sample),
        ("feature-visualization", {"steps": 1}),
    ):
        r = client.post(f"/api/networks/{net['id']}/{path}", json=body, headers=ada)
        assert r.status_code == 403 and "the Inspect view" in r.json()["detail"], (path, r.text)
    r = client.post("/api/init/stack", json={}, headers=ada)
    assert r.status_code == 403 and "the Initialization view" in r.json()["detail"], r.text
    r = client.post("/api/init/batchnorm/runs", json={"epochs": 1, "examples": 20}, headers=ada)
    assert r.status_code == 403 and "the Initialization view" in r.json()["detail"], r.text
    assert client.post("/api/init/stack", json={}).status_code == 200  # the teacher's page is never locked
