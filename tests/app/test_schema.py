"""The whole API against its own OpenAPI schema (Schemathesis, in-process).

Every operation gets generated requests, valid and invalid ones; for each response:
no 5xx, the status code is one the schema documents for that route, and the body
conforms to the documented schema. Path parameters are sometimes swapped for a real
network's and a real run's id, so the routes behind the 404 are fuzzed too, and the
routes that need a working input get one (with the rest generated) half the time.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi

import engine.data as edata
from app import exports
from app.errors import Conflict
from app.main import create_app
from app.services.datasets import DatasetService
from app.settings import Settings

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
# training runs stay cheap: one worker, a short queue, and every run a request started is stopped at once
LIMITS = {"max_concurrent_runs": 1, "max_queued_runs": 2}
TINY = {
    "input": [1, 28, 28],
    "layers": [
        {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "stride": 2, "name": "c"},
        {"type": "relu"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 10, "name": "fc"},
    ],
}
DOWNLOADED = set(edata.REAL)
SAMPLE = {"dataset": "strokes", "split": "test", "index": 3}
# requests that work on the real network, or name a real lesson or kind of exercise (body, query or
# path when it matters): what else is generated is fuzzed
WORKING = {
    ("POST", "/api/networks/{network_id}/predict"): [{"body": SAMPLE}],
    ("POST", "/api/networks/{network_id}/activations"): [
        {"body": SAMPLE, "query": {"format": "json"}},
        {"body": SAMPLE, "query": {"format": "png", "layer": "c"}},
    ],
    ("POST", "/api/networks/{network_id}/saliency"): [{"body": SAMPLE}],
    ("POST", "/api/networks/{network_id}/occlusion"): [{"body": {**SAMPLE, "patch": 7}}],
    ("POST", "/api/networks/{network_id}/overview"): [{"body": SAMPLE}],
    ("GET", "/api/networks/{network_id}/weights"): [{"query": {"layer": "c", "unit": 1}}],
    ("POST", "/api/networks/{network_id}/gradcheck"): [{"body": {"n": 1, "max_entries": 2}}],
    ("POST", "/api/networks"): [{"body": {"spec": TINY, "name": "tiny"}}],
    ("POST", "/api/networks/validate"): [{"body": TINY}],
    ("GET", "/api/lessons/{lesson_id}"): [{"path_parameters": {"lesson_id": "pooling"}}],
    ("POST", "/api/exercises"): [{"body": {"kind": "maxpool_route"}}],
    ("GET", "/api/exercises/{kind}/{seed}"): [{"path_parameters": {"kind": "conv_dx_cell"}}],
    ("POST", "/api/exercises/{kind}/{seed}/answer"): [{"path_parameters": {"kind": "output_size"}}],
    ("POST", "/api/exercises/{kind}/{seed}/solution"): [{"path_parameters": {"kind": "vanishing_init"}}],
}
EXAMPLES = 25  # per operation: valid, invalid and working requests


class Live:
    """The ids of a real network and a real run, made again when a generated request deleted them."""

    def __init__(self, app):
        self.app = app
        self._network = None
        self._run = None

    @property
    def services(self):
        return self.app.state.services

    def network(self) -> str:
        if self._network is None or self.services.db.network(self._network) is None:
            self._network = self.services.networks.create(TINY, "fuzzed", 0)["id"]
        return self._network

    def run(self) -> str:
        if self._run is None or self.services.runs.store.get(self._run) is None:
            # finished at once: the run's routes see a real record without a worker busy for long
            row = self.services.runs.start(
                self.network(), "strokes", {"epochs": 1, "batch_size": 64, "max_train": 64, "validation": 0.0}
            )
            self._run = row["id"]
        return self._run

    def stop_runs(self) -> None:
        """Generated runs may ask for 500 epochs: they stop at once, so the next operations run alone."""
        for row in self.services.runs.store.active_owned_by(self.services.instance.id):
            if row["id"] != self._run:
                try:
                    self.services.runs.stop(row["id"])
                except Conflict:  # it ended meanwhile
                    pass


def _operations():
    paths = create_app(Settings(data_dir="unused")).openapi()["paths"]  # no lifespan: nothing is written
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("schema"), **LIMITS))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the app's lifespan
    assert hasattr(app.state, "services")
    yield schema, Live(app)
    asgi.shutdown_lifespans()  # the runner's workers are stopped and joined


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _downloads(case) -> bool:
    """Whether the request names a dataset that would be downloaded (tests never leave loopback)."""
    parts = (case.path_parameters, case.query, case.body if not isinstance(case.body, bytes) else None)
    return any(DatasetService.builtin(s) in DOWNLOADED for p in parts for s in _strings(p))


def _refuse(token):
    raise AssertionError(f"{token} in a response")


# One test per operation, each running Hypothesis over the operation's strategy. (Schemathesis's own
# `schema.parametrize()` on a fixture-made schema reads a private attribute pytest 9 no longer has.)
@pytest.mark.parametrize(("method", "path"), _operations())
def test_operation_conforms_to_the_schema(api, method, path):
    schema, live = api
    operation = schema[path][method]
    # (a request, whether its ids are swapped for the real ones)
    cases = st.tuples(
        st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)),
        st.booleans(),
    )
    working = [operation.as_strategy(GenerationMode.POSITIVE, **fixed) for fixed in WORKING.get((method, path), [])]
    if working:  # half the requests start from one that works, on the real network
        cases = st.one_of(cases, st.tuples(st.one_of(working), st.just(True)))
    seen = Counter()

    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(cases)
    def check(drawn):
        case, real = drawn
        assume(not _downloads(case))
        # an export this installation cannot write answers 501 by design (tests/app/test_onnx_export_api.py)
        assume((case.query or {}).get("format") not in exports.missing_formats())
        if real and "network_id" in (case.path_parameters or {}):
            case.path_parameters["network_id"] = live.network()
        if real and "run_id" in (case.path_parameters or {}):
            case.path_parameters["run_id"] = live.run()
        response = case.call_and_validate(checks=CHECKS)
        if method == "POST" and path.endswith("/runs"):
            live.stop_runs()
        seen[response.status_code] += 1
        media = (response.headers.get("content-type") or [""])[0].split(";")[0]
        if media == "application/json" or media.endswith("+json"):  # one JSON document (not JSON lines)
            json.loads(response.content, parse_constant=_refuse)  # NaN and Infinity are not JSON

    check()
    # the real ids reached the handlers behind the 404, and known-good requests got through
    if "{network_id}" in path or "{run_id}" in path:
        assert set(seen) - {404}, seen
    if (method, path) in WORKING or (method == "GET" and "{" not in path):
        assert any(200 <= code < 300 for code in seen), seen
