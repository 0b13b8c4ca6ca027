"""Lessons and exercises through the REST API: reading, answering, solutions, each learner's
progress."""

import pytest
from fastapi.testclient import TestClient

from app.lessons.learner import COOKIE
from app.lessons.service import answer_of
from app.main import create_app

ALL_ZERO = {"attempts": 0, "correct": 0, "exercises": 0, "solved": 0, "solutions": 0}


def answer(client, kind, seed, value, **kw):
    return client.post(f"/api/exercises/{kind}/{seed}/answer", json={"answer": value}, **kw)


def lesson_progress(client, lesson_id):
    return next(l for l in client.get("/api/lessons").json() if l["id"] == lesson_id)["progress"]


# ---- lessons ------------------------------------------------------------------------------------
def test_read_lessons_in_the_lectures_order_with_no_progress_yet(client):
    r = client.get("/api/lessons")
    assert r.status_code == 200
    lessons = r.json()
    assert [l["order"] for l in lessons] == list(range(1, 14))
    assert lessons[0]["id"] == "image" and lessons[-1]["id"] == "residual"
    assert all(l["progress"] == ALL_ZERO and l["kinds"] for l in lessons)


def test_the_first_request_gives_the_browser_a_learner_cookie(client):
    r = client.get("/api/lessons")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Max-Age=" in cookie and "Path=/" in cookie
    assert "set-cookie" not in client.get("/api/lessons").headers  # kept, not made again


def test_read_lesson(client):
    r = client.get("/api/lessons/conv_backward")
    assert r.status_code == 200
    body = r.json()
    assert body["title"] == "Backpropagation through a convolution"
    assert body["widget"] == {"view": "conv", "caption": body["widget"]["caption"], "options": {"part": "backward"}}
    assert [k["name"] for k in body["exercises"]] == ["conv_dw_cell", "conv_dx_cell"]
    assert body["previous"] == "conv_forward" and body["next"] == "pooling"
    assert all(f["text"] and f["tex"] for f in body["formulas"]) and body["paragraphs"]


def test_read_lesson_not_found(client):
    r = client.get("/api/lessons/gans")
    assert r.status_code == 404
    assert r.json()["detail"].startswith("no lesson 'gans'; lessons: image, filters, kps")


def test_read_exercise_kinds(client):
    kinds = client.get("/api/exercises/kinds").json()
    assert len(kinds) >= 12
    by_name = {k["name"]: k for k in kinds}
    assert by_name["avgpool_gradient"]["tolerance"] == {
        "absolute": 0.01,
        "relative": 0.0,
        "text": "within 0.01 of the exact value",
    }
    assert by_name["output_size"]["answer_format"] == "integer"
    assert by_name["maxpool_route"]["answer_format"] == "cell"
    assert by_name["vanishing_init"]["answer_format"] == "choice"


# ---- exercises ----------------------------------------------------------------------------------
def test_read_exercise_never_holds_its_answer(client):
    r = client.get("/api/exercises/conv_output_cell/0")
    assert r.status_code == 200
    ex = r.json()
    assert ex["id"] == "conv_output_cell-0" and ex["lesson"] == "conv_forward"
    assert ex["given"]["x"][1] == [4, 1, 0, 1, 0] and ex["given"]["cell"] == [0, 0]
    assert set(ex) == {"id", "kind", "seed", "lesson", "title", "prompt", "given", "answer_format"}
    assert "expected" not in str(ex) and ex["answer_format"]["type"] == "integer"


def test_the_same_seed_is_the_same_exercise_and_post_draws_a_seed(client):
    first = client.get("/api/exercises/maxpool_route/77").json()
    assert client.post("/api/exercises", json={"kind": "maxpool_route", "seed": 77}).json() == first
    drawn = client.post("/api/exercises", json={"kind": "maxpool_route"}).json()
    assert drawn["id"] == f"maxpool_route-{drawn['seed']}" and 0 <= drawn["seed"] < 2**32
    assert client.get(f"/api/exercises/maxpool_route/{drawn['seed']}").json() == drawn


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/exercises/no_such_kind/0", None),
        ("post", "/api/exercises", {"kind": "no_such_kind"}),
        ("post", "/api/exercises/no_such_kind/0/answer", {"answer": 1}),
        ("post", "/api/exercises/no_such_kind/0/solution", None),
    ],
)
def test_an_unknown_kind_is_404_naming_the_kinds(client, method, path, body):
    r = client.request(method, path, json=body)
    assert r.status_code == 404
    assert r.json()["detail"].startswith("no exercise kind 'no_such_kind'; kinds: image_values, ")


@pytest.mark.parametrize("seed", ["-1", str(2**32), "seven"])
def test_a_seed_out_of_range_is_422(client, seed):
    r = client.get(f"/api/exercises/output_size/{seed}")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["path", "seed"]


# ---- answers ------------------------------------------------------------------------------------
def test_a_wrong_answer_gets_a_hint_with_the_numbers_and_not_the_answer(client):
    r = answer(client, "conv_params", 0, 1500)
    assert r.status_code == 200
    grade = r.json()
    assert grade["correct"] is False and grade["expected"] is None
    assert "20 × (5 × 5 × 3 + 1)" in grade["hint"]
    assert grade["progress"] == {**ALL_ZERO, "attempts": 1, "exercises": 1}


def test_a_correct_answer_shows_the_answer_and_counts_as_solved(client):
    grade = answer(client, "conv_params", 0, 1520).json()
    assert grade == {
        "exercise_id": "conv_params-0",
        "correct": True,
        "hint": None,
        "expected": 1520,
        "tolerance": {"absolute": 0.0, "relative": 0.0, "text": "exactly"},
        "progress": {**ALL_ZERO, "attempts": 1, "correct": 1, "exercises": 1, "solved": 1},
    }


def test_the_lectures_numbers_come_back_from_the_api(client):
    cells = [
        [client.post(f"/api/exercises/conv_output_cell/{3 * i + j}/solution").json()["expected"] for j in range(3)]
        for i in range(3)
    ]
    assert cells == [[9, 5, 4], [8, 8, 10], [8, 15, 12]]
    size = answer(client, "output_size", 0, 15.5).json()  # the formula's value, not floored
    assert size["correct"] is False and "15.5" in size["hint"] and "fits" in size["hint"]
    steps = " ".join(client.post("/api/exercises/output_size/0/solution").json()["steps"])
    assert "only padding is left over" in steps and "no input pixel is lost" in steps  # the lecture's layer
    steps = " ".join(client.post("/api/exercises/output_size/1/solution").json()["steps"])
    assert "1 row and 1 column of input pixels are lost" in steps  # 14.5 with P = 0
    assert answer(client, "output_size", 0, 15).json()["correct"] is True
    assert answer(client, "output_size", 1, 14).json()["correct"] is True  # 14.5 with P = 0


def test_a_number_is_graded_with_the_tolerance_it_states(client):
    kind, seed = "avgpool_gradient", 3
    exact = answer_of(kind, seed)
    tolerance = client.get(f"/api/exercises/{kind}/{seed}").json()["answer_format"]["tolerance"]
    assert tolerance["absolute"] == 0.01
    assert answer(client, kind, seed, exact + 0.009).json()["correct"] is True
    assert answer(client, kind, seed, exact - 0.009).json()["correct"] is True
    assert answer(client, kind, seed, exact + 0.011).json()["correct"] is False


def test_a_cell_and_a_choice_are_graded(client):
    assert answer(client, "maxpool_route", 0, [1, 0]).json()["correct"] is True
    wrong = answer(client, "maxpool_route", 0, [0, 1]).json()
    assert wrong["correct"] is False and "rows 0×2 to 0×2 + 3 - 1" in wrong["hint"]
    choice = client.get("/api/exercises/largest_layer/0").json()["answer_format"]
    ids = [o["id"] for o in choice["options"]]
    assert ids == ["layers[0]", "layers[3]", "layers[7]", "layers[11]"]
    assert answer(client, "largest_layer", 0, "layers[7]").json()["correct"] is True
    assert answer(client, "largest_layer", 0, "layers[3]").json()["correct"] is False


@pytest.mark.parametrize(
    ("kind", "value", "words"),
    [
        ("output_size", "15", 'expected a JSON number, e.g. {"answer": 28}'),
        ("output_size", None, "expected a JSON number"),
        ("output_size", [15], "expected a JSON number"),
        ("avgpool_gradient", {"value": 1}, "expected a finite JSON number"),
        ("maxpool_route", [1], "expected [row, column] as two integers"),
        ("maxpool_route", [5, 0], "[5, 0] is outside X: [row, column] of X, counted from 0: row 0"),
        ("largest_layer", "layers[1]", "expected one of the options' ids ('layers[0]', 'layers[3]'"),
    ],
)
def test_a_malformed_answer_is_422_naming_the_format(client, kind, value, words):
    r = answer(client, kind, 0, value)
    assert r.status_code == 422
    (problem,) = r.json()["errors"]
    assert problem["loc"] == ["body", "answer"] and words in problem["message"]
    assert client.get("/api/progress").json()["total"] == ALL_ZERO  # nothing recorded


def test_an_answer_body_without_answer_is_422(client):
    r = client.post("/api/exercises/output_size/0/answer", json={"value": 15})
    assert r.status_code == 422


# ---- solutions and progress ---------------------------------------------------------------------
def test_a_solution_shows_the_steps_and_later_answers_are_not_solved(client):
    r = client.post("/api/exercises/conv_dx_cell/0/solution")
    assert r.status_code == 200
    solution = r.json()
    assert solution["exercise_id"] == "conv_dx_cell-0" and solution["steps"]
    assert solution["expected"] == answer_of("conv_dx_cell", 0)
    wrong = answer(client, "conv_dx_cell", 0, 10**6).json()
    assert wrong["expected"] == solution["expected"] and wrong["hint"]  # the solution was shown
    right = answer(client, "conv_dx_cell", 0, solution["expected"]).json()
    assert right["progress"] == {"attempts": 2, "correct": 1, "exercises": 1, "solved": 0, "solutions": 1}


def test_progress_per_lesson_and_kind(client):
    answer(client, "conv_params", 0, 1520)
    answer(client, "macs", 0, 1)
    answer(client, "dropout_scale", 0, 1)
    progress = client.get("/api/progress").json()
    by_lesson = {l["lesson"]: l for l in progress["lessons"]}
    assert by_lesson["parameters"]["progress"] == {**ALL_ZERO, "attempts": 2, "correct": 1, "exercises": 2, "solved": 1}
    assert by_lesson["parameters"]["kinds"]["macs"] == {**ALL_ZERO, "attempts": 1, "exercises": 1}
    assert by_lesson["dropout"]["progress"]["attempts"] == 1
    assert progress["total"]["attempts"] == 3
    assert lesson_progress(client, "parameters") == by_lesson["parameters"]["progress"]


def test_progress_survives_a_reload_and_is_separate_for_another_browser(settings, client):
    answer(client, "conv_params", 0, 1520)
    cookie = client.cookies[COOKIE]
    with TestClient(create_app(settings)) as reloaded:  # a restarted server, the same browser
        reloaded.cookies.set(COOKIE, cookie)
        assert lesson_progress(reloaded, "parameters")["solved"] == 1
    with TestClient(create_app(settings)) as other:  # another browser
        assert lesson_progress(other, "parameters") == ALL_ZERO
        assert other.cookies[COOKIE] != cookie


def test_an_api_client_sends_its_own_learner_id(client):
    headers = {"X-Learner": "notebook-7f3a"}
    answer(client, "output_size", 0, 15, headers=headers)
    r = client.get("/api/progress", headers=headers)
    assert r.json()["total"]["solved"] == 1 and "set-cookie" not in r.headers
    assert client.get("/api/progress").json()["total"] == ALL_ZERO  # the browser's own learner


@pytest.mark.parametrize("bad", ["short", "has space in it", "x" * 65, "naïve-learner"])
def test_a_malformed_learner_id_is_422(client, bad):
    r = client.get("/api/progress", headers={"X-Learner": bad.encode()})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["header", "x-learner"]


def test_a_cookie_that_is_not_a_learner_id_is_replaced(client):
    r = client.get("/api/progress", headers={"Cookie": f"{COOKIE}=<script>"})
    assert r.status_code == 200
    given = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert len(given) == 22 and given != "<script>"
