"""Random specs and layer lists against the engine and the two routes that take a spec.

Whatever the spec: POST /api/networks/validate answers 200 or 422, POST /api/networks
201, 413 or 422 (never another code), a 422 names the path of each problem, and no
response carries NaN or infinity; engine.summarize raises SpecErrors and nothing else.
"""

from __future__ import annotations

import json
import math

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, find, given, settings
from hypothesis import strategies as st

import engine
from app.main import create_app
from app.settings import Settings

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CATALOGUE = {layer["type"]: [f["name"] for f in layer["fields"]] for layer in engine.catalogue()}
TYPES = sorted(CATALOGUE) + ["unknown", "", "Conv2d", "conv2d ", "residual2"]
FIELDS = sorted({name for names in CATALOGUE.values() for name in names}) + ["type", "kernel", "out", ""]
SPECIAL_STRINGS = [
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1e400",
    "-0",
    "same",
    "valid",
    "true",
    "",
    "he_normal",
    "x" * 300,
]

finite = st.floats(allow_nan=False, allow_infinity=False)
numbers = st.one_of(
    st.integers(-3, 70),
    st.integers(),
    st.sampled_from([0, -1, 2**31, 2**63, 2**64 + 1, 10**30, -(10**30), 10**400]),
    finite,
    st.sampled_from([0.5, -0.0, 1e-320, 1e308, -1e308, 3.0]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.sampled_from(SPECIAL_STRINGS), st.text(max_size=12))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
# what a field is set to: a plausible value most often, anything JSON now and then
field_values = st.one_of(scalars, st.lists(st.one_of(numbers, scalars), max_size=3), json_values)


def layers(depth: int = 2) -> st.SearchStrategy:
    """A list of layers: catalogue types with random fields, unknown types, blocks nesting more layers."""
    if depth == 0:
        inner = st.just([])
    else:
        inner = st.deferred(lambda: layers(depth - 1))
    extra = {
        "body": inner,
        "shortcut": st.one_of(st.none(), inner),
        "branches": st.lists(inner, max_size=3),
    }
    layer = st.one_of(
        st.builds(
            lambda t, fields, blocks: {"type": t, **fields, **blocks},
            st.sampled_from(TYPES),
            st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=4),
            st.fixed_dictionaries({}, optional=extra),
        ),
        st.builds(lambda t: {"type": t}, json_values),  # a type that is a list, a number, an object...
        json_values,  # not a layer at all
        st.dictionaries(st.text(max_size=6), json_values, max_size=3),  # no "type"
    )
    return st.lists(layer, max_size=6)


def _rarely(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """`good` nine times in ten: a layer has several fields, and one bad field ends the shape checks."""
    return st.integers(0, 9).flatmap(lambda k: bad if k == 0 else good)


def _plausible(field: dict, inner) -> st.SearchStrategy:
    """A value for one catalogue field: in range, or (rarely) at or past its bounds or of another type."""
    kind = field["kind"]
    if kind in ("int", "int2", "padding"):
        lo, hi = field["min"], field["max"]
        one = st.integers(lo, min(hi, lo + 5))
        bad = st.sampled_from([lo - 1, hi + 1, -1, 2**64, "3", 2.5, None, [1, 2, 3]])
        if kind == "int":
            return _rarely(st.one_of(one, st.just(hi)), bad)
        pair = st.lists(st.integers(lo, lo + 4), min_size=2, max_size=2)
        if kind == "int2":
            return _rarely(st.one_of(one, pair), bad)
        return _rarely(st.one_of(one, pair, st.just("same")), st.one_of(bad, st.sampled_from(["valid", "full"])))
    if kind == "float":
        lo, hi = field["min"], field["max"]
        return _rarely(
            st.floats(lo, hi, exclude_max=field.get("exclusive_max", False)),
            st.sampled_from([lo - 0.5, hi + 1.0, "NaN", "Infinity", 1e308, -0.0, True]),
        )
    if kind == "bool":
        return _rarely(st.booleans(), st.sampled_from([0, 1, "true", None]))
    if kind == "choice":
        return _rarely(st.sampled_from(field["choices"]), st.sampled_from(["", "HE_NORMAL", 3]))
    if kind == "str":
        return _rarely(st.text(max_size=10), st.sampled_from(["x" * 500, 5, None, ["a"]]))
    if kind == "layers":
        return inner
    if kind == "branches":
        return st.lists(inner, min_size=1, max_size=3)
    return json_values


def _catalogue_layer(entry: dict, inner) -> st.SearchStrategy:
    required = {f["name"]: _plausible(f, inner) for f in entry["fields"] if f.get("required")}
    optional = {f["name"]: _plausible(f, inner) for f in entry["fields"] if not f.get("required")}
    return st.fixed_dictionaries({"type": st.just(entry["type"]), **required}, optional=optional)


def nearly_valid_layers(depth: int = 2) -> st.SearchStrategy:
    """Layers from the catalogue with plausible fields: many networks work, and shapes go wrong deep inside."""
    inner = st.deferred(lambda: nearly_valid_layers(depth - 1)) if depth else st.just([{"type": "relu"}])
    return st.lists(st.one_of([_catalogue_layer(e, inner) for e in engine.catalogue()]), min_size=1, max_size=6)


def _pair_or(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(values, st.lists(values, min_size=2, max_size=2))


def _convolution(kind: str) -> st.SearchStrategy:
    """A conv2d or conv_transpose2d whose channels and groups often divide each other."""
    optional = {
        "stride": _pair_or(st.integers(1, 3)),
        "dilation": _pair_or(st.integers(1, 3)),
        "groups": st.sampled_from([1, 2, 4, 3]),
        "bias": st.booleans(),
    }
    if kind == "conv2d":
        optional["padding"] = st.one_of(_pair_or(st.integers(0, 3)), st.sampled_from(["same", "valid"]))
    else:
        optional["padding"] = _pair_or(st.integers(0, 2))
        optional["output_padding"] = _pair_or(st.integers(0, 2))
    required = {
        "type": st.just(kind),
        "out_channels": st.sampled_from([2, 4, 6, 8, 12]),
        "kernel_size": _pair_or(st.integers(1, 4)),
    }
    return st.fixed_dictionaries(required, optional=optional)


# grouped, dilated and transposed convolutions, with "same" of even kernels: most of these work
conv_family_specs = st.fixed_dictionaries(
    {
        "input": st.tuples(st.sampled_from([1, 2, 4, 6, 8]), st.integers(3, 20), st.integers(3, 20)).map(list),
        "layers": st.lists(
            st.one_of(
                _convolution("conv2d"),
                _convolution("conv_transpose2d"),
                st.sampled_from([{"type": "relu"}, {"type": "batchnorm2d"}, {"type": "maxpool2d", "kernel_size": 2}]),
            ),
            min_size=1,
            max_size=5,
        ),
    }
)

inputs = st.one_of(
    st.lists(st.integers(-2, 40), min_size=1, max_size=4),
    st.lists(numbers, min_size=3, max_size=3),
    st.sampled_from(
        [
            [1, 28, 28],
            [3, 32, 32],
            [784],
            [False, 0, 0],
            [True, 1, 1],
            [1.0, 8.0, 8.0],
            [1.5, 8, 8],
            [],
            [0],
            [-1, 8, 8],
            [1, 2**40, 2**40],
            [4096, 8192, 8192],
            ["1", "28", "28"],
        ]
    ),
    json_values,
)
specs = st.one_of(
    st.fixed_dictionaries(
        {"input": st.lists(st.integers(1, 24), min_size=3, max_size=3), "layers": nearly_valid_layers()}
    ),
    st.fixed_dictionaries(
        {"input": inputs, "layers": layers()}, optional={"name": json_values, "description": json_values}
    ),
    st.fixed_dictionaries({"input": st.sampled_from([[1, 28, 28], [3, 16, 16], [10]]), "layers": layers()}),
    st.dictionaries(st.sampled_from(["input", "layers", "name", "description", "Input", ""]), json_values, max_size=5),
    st.fixed_dictionaries(
        {"input": st.lists(st.integers(1, 24), min_size=3, max_size=3), "layers": nearly_valid_layers()}
    ),  # twice: the case that gets furthest
    conv_family_specs,
)


def nested(depth: int) -> dict:
    layer = {"type": "relu"}
    for i in range(depth):
        layer = {"type": "residual", "body": [layer]} if i % 2 else {"type": "concat", "branches": [[layer]]}
    return {"input": [1, 8, 8], "layers": [layer]}


HUGE = {"input": [1, 8, 8], "layers": [{"type": "relu"}] * 10_000}
HUGE_MIXED = {"input": [1, 8, 8], "layers": [{"type": "conv2d", "out_channels": 1, "kernel_size": 1}] * 10_000}
EDGE_CASES = [
    {"input": [False, 0, 0], "layers": []},
    {"input": [1, 28, 28], "layers": []},
    {"input": [], "layers": []},
    {"input": [1, 28, 28], "layers": [{}]},
    {"input": [1, 28, 28], "layers": [[]]},
    {"input": [1, 28, 28], "layers": [{"type": ["conv2d"]}, {"type": {"a": 1}}]},
    {"input": [1, 28, 28], "layers": [{"type": "relu"}, {"type": "nope"}, {"type": []}]},
    {"input": [1, 28, 28], "layers": [{"type": "conv2d", "out_channels": -5, "kernel_size": -3}]},
    {"input": [1, 28, 28], "layers": [{"type": "conv2d", "out_channels": 10**30, "kernel_size": 2**64}]},
    {"input": [1, 28, 28], "layers": [{"type": "linear", "out_features": "NaN"}]},
    {
        "input": [1, 28, 28],
        "layers": [{"type": "dropout", "p": "NaN"}, {"type": "leaky_relu", "negative_slope": "-inf"}],
    },
    {"input": [1, 28, 28], "layers": [{"type": "conv2d", "out_channels": 2, "kernel_size": [3, 3, 3]}]},
    {"input": [1, 28, 28], "layers": [{"type": "residual", "body": None, "shortcut": 7}]},
    {"input": [1, 28, 28], "layers": [{"type": "concat", "branches": [[], [{"type": "flatten"}], 3]}]},
    {"input": [1, 2**40, 2**40], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]},
    {"input": [4096, 8192, 8192], "layers": [{"type": "conv2d", "out_channels": 65536, "kernel_size": 1024}]},
    {
        "input": [4096, 8192, 8192],
        "layers": [
            {"type": "conv_transpose2d", "out_channels": 65536, "kernel_size": 1024, "stride": 1024, "dilation": 1024}
        ],
    },
    {
        "input": [1, 8192, 1],
        "layers": [{"type": "conv_transpose2d", "out_channels": 1, "kernel_size": 1, "groups": 65536}],
    },
    {
        "input": [4096, 8192, 8192],
        "layers": [
            {
                "type": "conv2d",
                "out_channels": 65536,
                "kernel_size": 1024,
                "dilation": 8,
                "groups": 4096,
                "padding": "same",
            }
        ],
    },
    {
        "input": [2, 8192, 8192],
        "layers": [
            {"type": "conv2d", "out_channels": 2, "kernel_size": 1, "stride": 1023, "dilation": 1024, "groups": 2}
        ],
    },
    {
        "input": [4, 8, 8],
        "layers": [
            {
                "type": "conv_transpose2d",
                "out_channels": 4,
                "kernel_size": 3,
                "stride": 2,
                "output_padding": 1,
                "dilation": 2,
                "groups": 4,
            }
        ],
    },
    {"": 1, "input": [1, 8, 8], "layers": []},
    nested(100),
    HUGE,
    HUGE_MIXED,
]


def with_edge_cases(test):
    for spec in EDGE_CASES:
        test = example(spec)(test)
    return test


# ---- the engine ------------------------------------------------------------------------------------
@with_edge_cases
@example(None)
@example([])
@example("conv2d")
@example({"input": [1, 8, 8], "layers": [{"type": "dropout", "p": float("nan")}]})
@example({"input": [1, 8, 8], "layers": [{"type": "conv2d", "out_channels": 1, "kernel_size": 3, "std": float("inf")}]})
@example({"input": [float("nan"), 8, 8], "layers": []})
@FUZZ
@given(st.one_of(specs, json_values))
def test_summarize_raises_only_spec_errors(spec):
    try:
        summary = engine.summarize(spec)
    except engine.SpecErrors as e:
        assert e.errors, "SpecErrors without any error"
        for err in e.errors:
            assert isinstance(err.path, str) and isinstance(err.message, str) and err.message
        return
    # a spec that works has a summary whose numbers are all finite
    assert summary["totals"]["params"] >= 0
    assert all(math.isfinite(x) for x in _numbers(summary)), summary


def _numbers(value):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _numbers(v)


# ---- the service -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # small limits: a random spec that happens to work is built and saved quickly, or refused with 413
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"), max_params=200_000, max_request_activation_bytes=16 * 2**20
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _strict_json(response) -> object:
    """The body as JSON, refusing NaN and Infinity (which are not JSON)."""

    def refuse(token):
        raise AssertionError(f"{token} in the response: {response.text[:200]}")

    return json.loads(response.text, parse_constant=refuse)


def _post(client, url: str, body) -> tuple[int, object]:
    # the body is sent as text: Python's json writes NaN and Infinity, which the server must refuse too
    text = json.dumps(body)
    response = client.post(url, content=text, headers={"content-type": "application/json"})
    return response.status_code, _strict_json(response)


def _names_paths(detail) -> bool:
    """Each problem names where it is: a spec path (the engine) or a loc (request validation)."""
    if not isinstance(detail, list) or not detail:
        return False
    for err in detail:
        if "path" in err:
            if not isinstance(err["path"], str) or not isinstance(err.get("message"), str):
                return False
        elif not (isinstance(err.get("loc"), list) and err["loc"] and isinstance(err.get("message"), str)):
            return False
    return True


@with_edge_cases
@example({"input": [1, 8, 8], "layers": [{"type": "dropout", "p": float("nan")}]})
@example({"input": [1, 8, 8], "layers": [{"type": "leaky_relu", "negative_slope": float("inf")}]})
@FUZZ
@given(specs)
def test_validate_answers_200_or_422_with_paths(client, spec):
    status, body = _post(client, "/api/networks/validate", spec)
    assert status in (200, 413, 422), (status, body)
    if status == 200:
        assert body["valid"] is True and body["input"] and body["output"]
    if status == 422:
        assert _names_paths(body["errors"]), body


@with_edge_cases
@example({"input": [1, 8, 8], "layers": [{"type": "linear", "out_features": 2, "std": float("nan")}]})
@FUZZ
@given(specs)
def test_create_answers_201_413_or_422_with_paths(client, spec):
    status, body = _post(client, "/api/networks", {"spec": spec, "name": "fuzzed"})
    assert status in (201, 413, 422), (status, body)
    if status == 201:
        assert body["spec"] == json.loads(json.dumps(spec)) and body["params"] >= 0
        assert client.delete(f"/api/networks/{body['id']}").status_code == 204
    elif status == 413:
        assert isinstance(body["detail"], str) and ("limit" in body["detail"] or "at most" in body["detail"]), body
    else:
        assert _names_paths(body["errors"]), body


def _works(spec) -> bool:
    try:
        engine.summarize(spec)
    except engine.SpecErrors:
        return False
    return True


def _convs(spec):
    """Every convolution of a (random) spec, in blocks too."""
    lists = [spec.get("layers")] if isinstance(spec, dict) else []
    while lists:
        layers = lists.pop()
        for layer in layers if isinstance(layers, list) else []:
            if not isinstance(layer, dict):
                continue
            if layer.get("type") in ("conv2d", "conv_transpose2d"):
                yield layer
            lists += [layer.get("body"), layer.get("shortcut")]
            branches = layer.get("branches")
            lists += branches if isinstance(branches, list) else []


def _not_one(v) -> bool:
    return v not in (None, 1, (1, 1), [1, 1])


@pytest.mark.parametrize(
    "what,wanted",
    [
        ("groups", lambda c: c["type"] == "conv2d" and _not_one(c.get("groups"))),
        ("dilation", lambda c: c["type"] == "conv2d" and _not_one(c.get("dilation"))),
        ("conv_transpose2d", lambda c: c["type"] == "conv_transpose2d" and _not_one(c.get("stride"))),
        ("grouped conv_transpose2d", lambda c: c["type"] == "conv_transpose2d" and _not_one(c.get("groups"))),
    ],
)
def test_the_random_specs_reach_working_networks_with_each_new_convolution(what, wanted):
    """The random specs reach networks that work and use each of the new options (the
    catalogue's layers with random fields get there only rarely: channels and groups must
    divide each other)."""
    spec = find(
        specs,
        lambda s: any(wanted(c) for c in _convs(s)) and _works(s),
        settings=settings(max_examples=5000, database=None, derandomize=True, suppress_health_check=list(HealthCheck)),
    )
    assert any(wanted(c) for c in _convs(spec)), what


@FUZZ
@given(st.one_of(layers(), nearly_valid_layers()))
def test_report_mode_answers_200_for_any_layer_list(client, layer_list):
    """?report=true: a spec that cannot work is 200 {"valid": false, "errors": [...]} with paths."""
    status, body = _post(client, "/api/networks/validate?report=true", {"input": [1, 28, 28], "layers": layer_list})
    assert status == 200, (status, body)
    assert body["valid"] is True or _names_paths(body["errors"]), body
