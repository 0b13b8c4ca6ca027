"""The Initialization lab over REST: a deep stack measured at step 0, with and without batch norm,
checked against a plain NumPy computation of the same stack; and the stack trained both ways."""

import math
import time

import numpy as np
import pytest

import engine

EPS = 1e-5  # batch norm's default, added to the variance


def measure(client, **body) -> dict:
    r = client.post("/api/init/stack", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def by_hand(spec: dict, seed: int, n: int, batchnorm: bool) -> dict[str, list[float]]:
    """The stack's forward and backward in float64 NumPy, from the weights the engine draws for
    this spec and seed: per unit, the std of what enters the activation, of what leaves it and of
    the gradient reaching it (that of the readout's sum, averaged over the inputs)."""
    net = engine.build_network(spec, seed=seed)
    weights = [
        (layer.params["W"].astype(np.float64), layer.params["b"].astype(np.float64))
        for layer in net.layers()
        if layer.type == "linear"
    ]
    *hidden, (w_out, _) = weights
    x = np.random.default_rng(seed).standard_normal((n, spec["input"][0])).astype(np.float32)
    a, pre, out, slopes = x.astype(np.float64), [], [], []
    for w, b in hidden:
        h = a @ w.T + b
        if batchnorm:  # in training mode: the batch's own mean and variance; gamma 1, beta 0
            inv = 1 / np.sqrt(h.var(axis=0) + EPS)
            h = (h - h.mean(axis=0)) * inv
        a = np.maximum(h, 0)
        pre.append(h)
        out.append(a)
        slopes.append((h > 0, inv if batchnorm else None))
    grads = []
    da = np.full((n, w_out.shape[0]), 1 / n) @ w_out
    for (w, _), (on, inv), h in zip(reversed(hidden), reversed(slopes), reversed(pre)):
        grads.append(da)
        dh = da * on
        if batchnorm:  # through (h - mean) / std: the batch's mean and the part along h drop out
            dh = inv * (dh - dh.mean(axis=0) - h * (dh * h).mean(axis=0))
        da = dh @ w
    return {
        "pre_activation": [v.std() for v in pre],
        "activation": [v.std() for v in out],
        "gradient": [g.std() for g in reversed(grads)],
    }


def stds(result: dict, key: str) -> list[float]:
    return [unit[key]["std"] for unit in result["layers"]]


@pytest.mark.parametrize("batchnorm", [False, True])
def test_every_layer_is_what_numpy_computes_for_the_same_stack(client, batchnorm):
    result = measure(
        client,
        activation="relu",
        init="normal",
        depth=8,
        width=32,
        n=256,
        seed=3,
        batchnorm=batchnorm,
    )
    assert result["train_mode"] is True
    expected = by_hand(result["spec"], 3, 256, batchnorm)
    for key in ("pre_activation", "activation", "gradient"):
        assert stds(result, key) == pytest.approx(expected[key], rel=2e-3), key


def test_with_batch_norm_every_layer_has_std_1_before_its_activation_on_a_large_batch(client):
    result = measure(client, activation="relu", init="normal", depth=15, width=64, n=1024, batchnorm=True)
    assert stds(result, "pre_activation") == pytest.approx([1.0] * 15, abs=1e-3)
    # a standard normal through ReLU keeps sqrt(1/2 - 1/(2 pi)) of its std
    assert stds(result, "activation") == pytest.approx([math.sqrt(0.5 - 0.5 / math.pi)] * 15, rel=0.1)
    assert 1 / 1.5 < result["activation_ratio"] < 1.5


def test_without_batch_norm_the_signal_grows_by_the_factor_the_variance_predicts(client):
    # Var(W x) = fan_in * Var(W) * E[a^2] = 64 * 1 * Var/2 per ReLU layer: the std grows by sqrt(32)
    result = measure(client, activation="relu", init="normal", depth=15, width=64, n=1024)
    values = stds(result, "activation")
    per_layer = (values[-1] / values[0]) ** (1 / 14)
    assert per_layer == pytest.approx(math.sqrt(32), rel=0.1)
    assert result["activation_ratio"] == pytest.approx(values[-1] / values[0])
    grads = stds(result, "gradient")
    assert result["gradient_ratio"] == pytest.approx(grads[0] / grads[-1])
    assert result["gradient_ratio"] > 1e9  # and backward the gradient grows by as much


def test_the_sigmoid_stack_loses_its_gradient_without_batch_norm_and_keeps_it_with(client):
    plain = measure(client, activation="sigmoid", init="xavier_uniform")
    normed = measure(client, activation="sigmoid", init="xavier_uniform", batchnorm=True)
    assert plain["gradient_ratio"] < 1e-6
    grads = stds(normed, "gradient")
    assert max(grads[:-1]) / min(grads[:-1]) < 2  # layer 14 down to layer 1 (15 is the readout's own)


def test_residual_and_batch_norm_together_and_conv2d_stacks(client):
    result = measure(client, kind="conv2d", width=8, depth=4, activation="tanh", residual=True, batchnorm=True)
    assert [u["path"] for u in result["layers"]] == [f"layers[{k}]" for k in range(4)]
    assert result["spec"]["input"] == [8, 8, 8]
    body = result["spec"]["layers"][0]["body"]
    assert [layer["type"] for layer in body] == ["conv2d", "batchnorm2d", "tanh"]
    assert stds(result, "pre_activation") == pytest.approx([1.0] * 4, abs=1e-3)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"kind": "conv2d", "width": 64}, 422, "a conv2d stack takes 1 to 32 channels, not 64"),
        ({"activation": "softmax"}, 422, "activation"),
        ({"n": 1}, 422, "n"),
        (
            {"kind": "conv2d", "width": 32, "depth": 30, "n": 1024, "batchnorm": True},
            413,
            "use fewer inputs",
        ),
    ],
)
def test_stack_errors_say_what_to_change(client, body, status, words):
    r = client.post("/api/init/stack", json=body)
    assert r.status_code == status, r.text
    assert words in str(r.json()["detail"])


def test_both_routes_are_documented_with_their_response_models(client):
    paths = client.get("/openapi.json").json()["paths"]
    stack = paths["/api/init/stack"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    runs = paths["/api/init/batchnorm/runs"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert stack == {"$ref": "#/components/schemas/StackStats"}
    assert runs == {"$ref": "#/components/schemas/PairRuns"}
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"batchnorm", "residual"} <= set(schemas["StackMeasure"]["properties"])


def wait_ended(client, run_ids, timeout=120) -> list[dict]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        runs = [client.get(f"/api/runs/{id}").json() for id in run_ids]
        if all(r["status"] not in ("queued", "running", "paused") for r in runs):
            return runs
        time.sleep(0.2)
    raise AssertionError(f"the runs did not end in {timeout} s")


def test_the_stack_trains_with_and_without_batch_norm_in_two_runs(client):
    # one epoch of 2,000 digits (57 steps, under a second here) already tells the two apart
    r = client.post(
        "/api/init/batchnorm/runs",
        json={
            "activation": "sigmoid",
            "init": "xavier_uniform",
            "lr": 0.1,
            "epochs": 1,
            "examples": 2000,
        },
    )
    assert r.status_code == 201, r.text
    pair = r.json()
    assert (pair["epochs"], pair["examples"], pair["steps"]) == (1, 2000, 57)
    assert [s["batchnorm"] for s in pair["stacks"]] == [False, True]
    assert pair["dataset"] == "strokes" and pair["steps"] == pair["epochs"] * math.ceil(
        pair["examples"] * 0.9 / pair["batch_size"]
    )
    specs = [client.get(f"/api/networks/{s['network_id']}").json()["spec"] for s in pair["stacks"]]
    without_norm = [layer for layer in specs[1]["layers"] if layer["type"] != "batchnorm1d"]
    assert without_norm == specs[0]["layers"]  # the same stack but for batch norm
    configs = [s["run"]["config"] for s in pair["stacks"]]
    assert configs[0] == configs[1]

    plain, normed = wait_ended(client, [s["run"]["id"] for s in pair["stacks"]])
    assert plain["status"] == normed["status"] == "completed"
    assert sum(e["type"] == "batch" for e in normed["history"]) == pair["steps"]
    # sigmoid's slope is at most 1/4: without batch norm, 15 layers of it leave the first ones no
    # gradient
    assert plain["metrics"]["val_accuracy"] < 0.2
    assert normed["metrics"]["val_accuracy"] > plain["metrics"]["val_accuracy"] + 0.2
    for s in pair["stacks"]:
        assert client.delete(f"/api/networks/{s['network_id']}").status_code == 204


def test_a_slow_stack_trains_on_fewer_digits(client):
    r = client.post("/api/init/batchnorm/runs", json={"kind": "conv2d", "width": 32, "depth": 30})
    assert r.status_code == 201, r.text
    pair = r.json()
    assert pair["examples"] < 1000
    for s in pair["stacks"]:
        client.post(f"/api/runs/{s['run']['id']}/stop")
    wait_ended(client, [s["run"]["id"] for s in pair["stacks"]])


def test_by_default_the_runs_take_four_epochs_of_as_many_digits_as_are_cheap(client):
    r = client.post("/api/init/batchnorm/runs", json={"depth": 2, "width": 8})
    assert r.status_code == 201, r.text
    pair = r.json()
    assert (pair["epochs"], pair["examples"]) == (4, 4000)
    assert [s["run"]["config"]["max_train"] for s in pair["stacks"]] == [4000, 4000]
    for s in pair["stacks"]:
        client.post(f"/api/runs/{s['run']['id']}/stop")
    wait_ended(client, [s["run"]["id"] for s in pair["stacks"]])


def test_asked_for_more_digits_than_a_slow_stack_affords_it_trains_on_fewer(client):
    r = client.post(
        "/api/init/batchnorm/runs",
        json={"kind": "conv2d", "width": 32, "depth": 30, "epochs": 1, "examples": 4000},
    )
    assert r.status_code == 201, r.text
    pair = r.json()
    assert pair["examples"] < 4000
    for s in pair["stacks"]:
        client.post(f"/api/runs/{s['run']['id']}/stop")
    wait_ended(client, [s["run"]["id"] for s in pair["stacks"]])


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"epochs": 0}, "epochs", "greater than or equal to 1"),
        ({"epochs": 5}, "epochs", "less than or equal to 4"),
        ({"examples": 10}, "examples", "greater than or equal to 20"),
        ({"lr": 0}, "lr", "greater than 0"),
        ({"batchnorm": True}, "batchnorm", "Extra inputs are not permitted"),
    ],
)
def test_training_errors_say_which_field_and_what_it_takes(client, body, field, words):
    r = client.post("/api/init/batchnorm/runs", json=body)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert any(e["loc"][-1] == field and words in e["message"] for e in errors), errors
    assert client.get("/api/runs").json() == []  # nothing was started
