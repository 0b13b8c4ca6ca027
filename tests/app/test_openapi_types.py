"""Every JSON response in the OpenAPI schema is typed, and real responses fit their types.

The walk below finds each 2xx JSON response, and each field in it, whose schema says nothing:
an empty schema, an object without properties, a list of anything. Then real responses (a real
run, a class with a student, the presets...) are checked against the published schema itself,
with the jsonschema package Schemathesis brings."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter, ValidationError

from app.main import create_app
from app.run_schemas import Evaluation, RunConfig, RunEvent, RunMetrics
from app.schemas import RunCreate
from app.settings import Settings
from app.spec_schemas import NetworkSpec
from engine import PRESETS, REGISTRY

from .conftest import make_network
from .test_runs_api import wait_for
from .test_schema import TINY


@pytest.fixture(scope="module")
def openapi(tmp_path_factory):
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("data"))).openapi()


def free_form(doc: dict) -> list[str]:
    """`METHOD path status.field[]...` of every 2xx JSON response or field whose schema is open."""
    components = doc["components"]["schemas"]
    found: list[str] = []

    def walk(schema: dict, where: str, seen: frozenset) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name in seen:
                return
            seen, schema = seen | {name}, components[name]
        open_object = schema.get("type") == "object" and "properties" not in schema
        if schema == {} or (open_object and schema.get("additionalProperties") in (None, True, {})):
            found.append(where)
        for name, inner in schema.get("properties", {}).items():
            walk(inner, f"{where}.{name}", seen)
        for key in ("anyOf", "oneOf", "allOf"):
            for inner in schema.get(key, []):
                walk(inner, where, seen)
        if "items" in schema:
            walk(schema["items"], f"{where}[]", seen)
        for inner in schema.get("prefixItems", []):
            walk(inner, f"{where}[]", seen)
        if isinstance(schema.get("additionalProperties"), dict) and schema["additionalProperties"]:
            walk(schema["additionalProperties"], f"{where}{{}}", seen)

    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                for media, body in response.get("content", {}).items():
                    if status.startswith("2") and "json" in media:
                        walk(body.get("schema", {}), f"{method.upper()} {path} {status}", frozenset())
    return sorted(set(found))


def conforms(doc: dict, component: str, value) -> list[str]:
    """Where `value` breaks the published schema of `component` (empty: it fits)."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": doc["components"]}
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in Draft202012Validator(schema).iter_errors(value)
    ]


def test_every_json_response_is_typed(openapi):
    assert free_form(openapi) == []


def test_no_two_models_share_a_name(openapi):
    # two models of one name are published under their module paths (app__x__Histogram), a name
    # that changes whenever a model moves: each published type keeps a name of its own
    assert [name for name in openapi["components"]["schemas"] if name.startswith("app__")] == []


def test_every_upload_has_a_named_documented_form(openapi):
    """A generated client names an upload's form after its model: FastAPI's own name for it
    (Body_predict_image_api_networks__network_id__predict_image_post) is no name for a user."""
    generated = sorted(name for name in openapi["components"]["schemas"] if name.startswith("Body_"))
    assert not generated, f"forms with FastAPI's generated names: {generated}"
    for path, operations in openapi["paths"].items():
        for method, op in operations.items():
            form = op.get("requestBody", {}).get("content", {}).get("multipart/form-data")
            if form:
                schema = form["schema"]
                schema = openapi["components"]["schemas"][schema["$ref"].split("/")[-1]] if "$ref" in schema else schema
                for field, about in schema["properties"].items():
                    assert about.get("description"), f"{method.upper()} {path}: its form field {field} says nothing"


def test_the_walk_finds_an_open_object():
    doc = {
        "components": {"schemas": {"Row": {"type": "object", "properties": {"extra": {"type": "object"}}}}},
        "paths": {
            "/x": {
                "get": {
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Row"}}}}
                    }
                }
            }
        },
    }
    assert free_form(doc) == ["GET /x 200.extra"]


# ---- the network spec ----------------------------------------------------------------------------


def test_the_spec_schema_has_every_layer_type(openapi):
    layer = openapi["components"]["schemas"]["NetworkSpec"]["properties"]["layers"]["items"]
    assert set(layer["discriminator"]["mapping"]) == set(REGISTRY)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_fits_the_published_spec_schema(openapi, name):
    spec = PRESETS[name]
    assert conforms(openapi, "NetworkSpec", spec) == []
    NetworkSpec.model_validate(spec)


def test_the_spec_schema_refuses_what_the_engine_refuses(openapi):
    spec = {"input": [1, 8, 8], "layers": [{"type": "residual", "body": [{"type": "conv2d", "kernel_size": 3}]}]}
    assert conforms(openapi, "NetworkSpec", spec)
    with pytest.raises(ValidationError, match=r"layers\.0\.residual\.body\.0\.conv2d\.out_channels"):
        NetworkSpec.model_validate(spec)
    assert conforms(openapi, "NetworkSpec", {**spec, "layers": [{"type": "nope"}]})


def test_a_json_export_fits_its_published_type(client, openapi):
    network = make_network(client, spec=TINY, name="tiny", seed=7)
    exported = client.get(f"/api/networks/{network}/export", params={"format": "json"})
    assert exported.status_code == 200 and exported.json()["seed"] == 7
    assert conforms(openapi, "SpecFile", exported.json()) == []
    assert conforms(openapi, "SpecFile", {**exported.json(), "seed": -1})


def test_a_bad_spec_still_gets_the_engines_message(client):
    r = client.post("/api/networks", json={"spec": {"input": [1, 8, 8], "layers": [{"type": "conv2d"}]}})
    assert r.status_code == 422
    assert r.json()["detail"] == "layers[0].out_channels: conv2d needs 'out_channels'"


# ---- a run --------------------------------------------------------------------------------------


def finished_run(client, **options) -> dict:
    network = make_network(client, spec=TINY)
    r = client.post(f"/api/networks/{network}/runs", json={"epochs": 1, "max_train": 200, **options})
    assert r.status_code == 201, r.text
    return wait_for(client, r.json()["id"])


def test_a_real_run_fits_its_published_types(client, openapi):
    run = finished_run(client, augment={"shift": 1})
    assert run["status"] == "completed"
    assert conforms(openapi, "RunPublic", run) == []
    RunConfig.model_validate(run["config"])
    RunMetrics.model_validate(run["metrics"])
    Evaluation.model_validate(run["evaluation"])
    events = TypeAdapter(list[RunEvent]).validate_python(run["history"])
    assert {e.type for e in events} == {"status", "weights", "batch", "epoch", "done"}
    assert (
        run["evaluation"]["diagnosis"] is None or conforms(openapi, "Diagnosis", run["evaluation"]["diagnosis"]) == []
    )


@pytest.mark.parametrize(
    "options,kind",
    [({"lr": 1e5, "max_train": 300}, "loss_grew"), ({"lr": 0.01, "max_train": 40}, "too_few_examples")],
)
def test_a_run_with_a_diagnosis_fits_its_published_types(client, openapi, options, kind):
    linear = {"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}
    network = make_network(client, spec=linear)
    r = client.post(f"/api/networks/{network}/runs", json={"epochs": 1, **options})
    run = wait_for(client, r.json()["id"])
    diagnosis = run["evaluation"]["diagnosis"]
    assert run["status"] == "completed" and diagnosis["kind"] == kind, run["message"]
    assert conforms(openapi, "Diagnosis", diagnosis) == [] and diagnosis["message"] in run["message"]


def test_the_run_config_type_follows_the_run_options(openapi):
    config = openapi["components"]["schemas"]["RunConfig"]["properties"]
    assert set(config) == (set(RunCreate.model_fields) - {"dataset"}) | {"loss"}
    assert config["epochs"]["maximum"] == RunCreate.model_fields["epochs"].metadata[1].le


def test_a_published_run_type_refuses_a_wrong_run(client, openapi):
    run = finished_run(client)
    assert conforms(openapi, "RunPublic", {**run, "metrics": {"val_accuracy": "high"}})
    assert conforms(openapi, "RunPublic", {**run, "config": {**run["config"], "optimizer": "lbfgs"}})
    assert conforms(openapi, "RunPublic", {**run, "history": [{"type": "epoch", "epoch": 1}]})


# ---- a class ------------------------------------------------------------------------------------


def test_a_real_class_fits_its_published_types(client, openapi):
    assert conforms(openapi, "Teacher", client.get("/api/me").json()) == []
    klass = client.post("/api/classes", json={"name": "Lab"}).json()
    setup = {"spec": TINY, "dataset": "strokes", "hyper": {"lr": 0.1, "dropout": 0.2}, "view": "train"}
    assert client.put(f"/api/classes/{klass['id']}/locks", json={"architecture": True}).status_code == 200
    pushed = client.post(f"/api/classes/{klass['id']}/push", json={"setup": setup})
    assert pushed.status_code == 200 and conforms(openapi, "Pushed", pushed.json()) == []
    client.cookies.clear()
    joined = client.post("/api/classes/join", json={"code": klass["code"], "name": "Ada"}).json()
    student = {"Authorization": f"Bearer {joined['token']}"}
    me = client.get("/api/me", headers=student).json()
    assert me["kind"] == "student" and me["setup"]["setup"]["hyper"] == {"lr": 0.1, "dropout": 0.2}
    assert conforms(openapi, "Student", me) == []
    network = client.post("/api/networks", json={"spec": TINY}, headers=student).json()["id"]
    run = client.post(f"/api/networks/{network}/runs", json={"epochs": 1, "max_train": 64}, headers=student)
    assert run.status_code == 201, run.text
    wait_for(client, run.json()["id"])
    exercise = client.post("/api/exercises", json={"kind": "output_size"}, headers=student).json()
    answered = client.post(
        f"/api/exercises/{exercise['kind']}/{exercise['seed']}/answer", json={"answer": 3}, headers=student
    )
    assert answered.status_code == 200, answered.text
    client.cookies.clear()

    dashboard = client.get(f"/api/classes/{klass['id']}/dashboard")
    assert dashboard.status_code == 200, dashboard.text
    assert [s["name"] for s in dashboard.json()["students"]] == ["Ada"]
    assert dashboard.json()["exercises"][0]["kind"] == "output_size"
    assert conforms(openapi, "Dashboard", dashboard.json()) == []
    detail = client.get(f"/api/classes/{klass['id']}/students/{joined['student']['id']}")
    assert detail.status_code == 200, detail.text
    assert len(detail.json()["runs"][0]["curve"]) == 1 and detail.json()["answers"][0]["answer"] == 3
    assert conforms(openapi, "StudentDetail", detail.json()) == []
    assert conforms(openapi, "ClassPublic", client.get(f"/api/classes/{klass['id']}").json()) == []
    assert conforms(openapi, "ClassPublic", {**klass, "locks": {"architecture": "yes"}})
