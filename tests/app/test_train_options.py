"""A run's options are defined once, by the engine's TrainConfig: the API (and the page's form,
built from GET /api/train/options) and the command line take their names, defaults, limits and
help from it. The server only caps what one run may cost (its epochs and batch size)."""

import dataclasses
import math

import pytest

from engine.data import Augment
from engine.train import TrainConfig
from tests.app.test_cli import cli

SERVER_CAPS = {"epochs", "batch_size"}  # this server's own limits, tighter than the engine's
NOT_SERVED = {"loss"}  # the engine's, for the command line; the page trains classifiers
RUN_ONLY = {"dataset"}  # what a run trains on, not how


def served(client) -> dict:
    return {o["name"]: o for o in client.get("/api/train/options").json()["options"]}


def engine_defaults() -> dict:
    out = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name != "augment"}
    out.update({f"augment.{f.name}": f.default for f in dataclasses.fields(Augment)})
    return out


def accepted(name: str, value) -> bool:
    """Whether the engine takes `value` for the option `name` (augment.* for augmentation)."""
    config = {"augment": {name[8:]: value}} if name.startswith("augment.") else {name: value}
    try:
        TrainConfig(**config)
    except ValueError:
        return False
    return True


def test_the_api_serves_every_engine_option_with_the_engines_default(client):
    options = served(client)
    assert set(options) - RUN_ONLY == set(engine_defaults()) - NOT_SERVED
    for name, default in engine_defaults().items():
        if name not in NOT_SERVED:
            assert options[name]["default"] == default, name


def test_the_engine_refuses_exactly_what_the_api_refuses_but_the_servers_caps(client):
    for name, o in served(client).items():
        if name in RUN_ONLY:
            continue
        for end, step in (("min", -1), ("max", 1)):
            if o.get(end) is None or (end == "max" and name in SERVER_CAPS):
                continue
            bound = o[end]
            beyond = bound + step if o["kind"] == "int" else bound + step * max(abs(bound), 1) * 0.5
            assert not accepted(name, beyond), f"the engine takes {name} = {beyond}, the API refuses it"
            assert accepted(name, bound) != o[f"exclusive_{end}"], f"{name} = {bound}: the engine and the API differ"
    # the caps are the server's, below the engine's own limits
    for name in SERVER_CAPS:
        assert accepted(name, served(client)[name]["max"] + 1)


@pytest.mark.parametrize("name", ["lr", "weight_decay", "augment.noise"])
def test_the_engine_refuses_a_number_that_is_not_finite(name):
    assert not accepted(name, math.nan) and not accepted(name, math.inf)


def test_the_command_line_offers_every_engine_option():
    text = cli("train", "--help").stdout
    for name in engine_defaults():
        flag = "--" + name.removeprefix("augment.").replace("_", "-")
        assert flag in text, f"train --help does not offer {flag}"


def test_the_command_line_holds_an_option_to_the_engines_limits():
    out = cli("train", "--dataset", "strokes", "--max-train", "100", "--weight-decay", "11", check=False)
    assert out.returncode == 2 and "weight_decay" in out.stderr and "Traceback" not in out.stderr
    out = cli("train", "--dataset", "strokes", "--max-train", "100", "--gamma", "2", check=False)
    assert out.returncode == 2 and "gamma" in out.stderr


def test_the_command_line_sets_a_step_schedule(tmp_path):
    out = cli(
        *("train", "--dataset", "strokes", "--max-train", "200", "--epochs", "2", "--json"),
        *("--schedule", "step", "--step-size", "1", "--gamma", "0.5", "--lr", "0.02"),
    )
    result = out.stdout.strip().splitlines()[-1]
    assert '"status": "completed"' in result


@pytest.mark.parametrize(
    "options, words",
    [
        ({"optimizer": "adam", "momentum": 0.5}, "adam does not use it"),
        ({"optimizer": "adagrad", "momentum": 0.0}, "adagrad does not use it"),
        ({"optimizer": "adam", "nesterov": True}, "nesterov is for sgd"),
        ({"optimizer": "sgd", "nesterov": True, "momentum": 0.0}, "nesterov needs momentum"),
        ({"schedule": "cosine", "lr": 0.05, "min_lr": 0.1}, "min_lr"),
    ],
)
def test_options_that_would_do_nothing_or_the_opposite_are_refused_with_why(client, options, words):
    with pytest.raises(ValueError, match=words):
        TrainConfig(**options)
    net = client.post("/api/networks", json={"preset": "lenet5"}).json()
    r = client.post(f"/api/networks/{net['id']}/runs", json={"dataset": "strokes", **options})
    assert r.status_code == 422 and words in r.json()["detail"], r.text


def test_the_options_that_belong_together_are_taken():
    TrainConfig(optimizer="sgd", nesterov=True)  # with SGD's own momentum, 0.9
    TrainConfig(optimizer="rmsprop", momentum=0.5)
    TrainConfig(schedule="cosine", lr=0.05, min_lr=0.05)
