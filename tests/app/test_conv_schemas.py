"""POST /api/conv/explain answers through its model (app/conv_schemas.py) exactly what the service
built: no key lost, none added, no number changed in value or in type, for every branch of the
answer (padding, stride, dilation, channels, bias, each activation, terms listed or not, pooling
taken or refused)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.conv_schemas import ConvExplainBody, ConvExplanation
from app.services.conv_explain import MAX_LISTED_TERMS, explain

from .test_openapi_types import conforms

X = [[0, 1, 2, 1, 0], [4, 1, 0, 1, 0], [2, 0, 1, 1, 1], [1, 2, 3, 1, 0], [0, 4, 3, 2, 0]]
W = [[0, 1, 0], [1, 0, 1], [2, 1, 0]]
RGB_X = [X, X[::-1], [[v % 2 for v in row] for row in X]]
RGB_W = [W, [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[-1, 0, 1]] * 3]
BIG = [[(i * 7 + j) % 5 - 2 for j in range(24)] for i in range(24)]

REQUESTS = {
    "the lecture's example": {"x": X, "w": W},
    "stride and padding": {"x": X, "w": W, "stride": 2, "padding": 1},
    "dilation": {"x": X, "w": W, "padding": 2, "dilation": 2},
    "a stride that leaves columns unread": {"x": X, "w": [[1, -1]], "stride": 2},
    "channels, bias, relu and a layer of filters": {
        "x": RGB_X,
        "w": RGB_W,
        "bias": -1.5,
        "activation": "relu",
        "filters": 20,
    },
    "sigmoid with an upstream gradient": {
        "x": X,
        "w": W,
        "activation": "sigmoid",
        "dl_do": [[1, -2, 0.5], [0, 1, 1], [3, 1, -1]],
    },
    "tanh and leaky relu": {"x": X, "w": [[0.5, -1], [1, 0.25]], "activation": "tanh", "bias": 0.1},
    "leaky relu": {"x": X, "w": [[-1, 1], [1, -1]], "activation": "leaky_relu"},
    "pooling with its own stride, padding and gradient": {
        "x": RGB_X,
        "w": RGB_W,
        "pool_kernel": 3,
        "pool_stride": 2,
        "pool_padding": 1,
        "pool_delta": [[1, -1, 2], [0, 1, 1], [2, 2, 0.5]],
    },
    "pooling the engine refuses": {"x": X, "w": W, "pool_kernel": 9},
    "too many terms to list": {"x": BIG, "w": [[1] * 10] * 10, "padding": 4},
}


def differences(route, raw, where: str = "") -> list[str]:
    """Where the route's JSON and the service's dict differ: a key lost or added, a value or its
    type (an int turned float, a null turned 0) changed."""
    if isinstance(raw, dict):
        if not isinstance(route, dict):
            return [f"{where}: {type(route).__name__} instead of an object"]
        found = [f"{where}.{key}: lost" for key in raw.keys() - route.keys()]
        found += [f"{where}.{key}: added" for key in route.keys() - raw.keys()]
        for key in raw.keys() & route.keys():
            found += differences(route[key], raw[key], f"{where}.{key}")
        return found
    if isinstance(raw, (list, tuple)):
        if not isinstance(route, list) or len(route) != len(raw):
            return [f"{where}: {route!r:.80} instead of {raw!r:.80}"]
        return [d for i, (a, b) in enumerate(zip(route, raw)) for d in differences(a, b, f"{where}[{i}]")]
    if type(route) is not type(raw) or route != raw:
        return [f"{where}: {route!r} ({type(route).__name__}) instead of {raw!r} ({type(raw).__name__})"]
    return []


@pytest.mark.parametrize("body", REQUESTS.values(), ids=REQUESTS.keys())
def test_the_route_answers_every_key_the_service_builds(client, body):
    r = client.post("/api/conv/explain", json=body)
    assert r.status_code == 200, r.text[:500]
    # the service called as the route calls it: with the request's validated values
    raw = explain(**ConvExplainBody.model_validate(body).model_dump())
    assert differences(r.json(), raw) == []
    assert conforms(client.get("/openapi.json").json(), "ConvExplanation", r.json()) == []


def test_the_requests_reach_every_branch(client):
    answers = {name: explain(**ConvExplainBody.model_validate(body).model_dump()) for name, body in REQUESTS.items()}
    assert answers["pooling the engine refuses"]["pooling"]["error"]
    assert answers["too many terms to list"]["backward"]["dW_cells"] is None
    note = answers["too many terms to list"]["backward"]["terms_note"]
    assert note.startswith(f"the terms of each cell are listed up to {MAX_LISTED_TERMS:,}")
    assert answers["a stride that leaves columns unread"]["warnings"]
    assert answers["the lecture's example"]["pooling"]["warnings"]
    assert {a["activation"]["name"] for a in answers.values()} == {"none", "relu", "sigmoid", "tanh", "leaky_relu"}
    assert any(a["backward"]["db"] is not None for a in answers.values())


def test_differences_names_a_lost_key_and_a_changed_type():
    raw = {"a": [1, 2.0], "b": {"c": None}}
    assert differences({"a": [1, 2.0], "b": {"c": None}}, raw) == []
    assert differences({"a": [1, 2.0], "b": {}}, raw) == [".b.c: lost"]
    assert differences({"a": [1.0, 2.0], "b": {"c": None}}, raw) == [".a[0]: 1.0 (float) instead of 1 (int)"]


@pytest.mark.parametrize(
    "where",
    [(), ("backward",), ("backward", "dX_as_convolution"), ("pooling", "max"), ("cells", 0, "window")],
)
def test_a_key_the_models_do_not_name_is_refused_not_dropped(where):
    answer = explain(X, W)
    ConvExplanation.model_validate(answer)
    inner = answer
    for step in where:
        inner = inner[step]
    inner["unnamed"] = 1
    with pytest.raises(ValidationError, match="unnamed"):
        ConvExplanation.model_validate(answer)
