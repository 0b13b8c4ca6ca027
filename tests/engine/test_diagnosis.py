"""A run that completed but learned nothing says so: a collapse to one class, or no learning."""

import math

import pytest

import engine
from engine.data import load_dataset
from engine.diagnosis import diagnose
from engine.train import TrainConfig, Trainer

NAMES = [str(i) for i in range(10)]


@pytest.fixture(scope="module")
def strokes():
    return load_dataset("strokes")


def lenet_run(strokes, lr):
    net = engine.build_network(engine.PRESETS["lenet5"], seed=0)
    return Trainer(net, strokes, TrainConfig(epochs=1, lr=lr, max_train=3000)).run()


def test_lenet5_at_learning_rate_one_collapses_to_one_class_and_says_why(strokes):
    done = lenet_run(strokes, 1.0)
    d = done["evaluation"]["diagnosis"]
    assert done["status"] == "completed" and d["kind"] == "collapsed"
    assert d["share"] >= 0.9 and d["accuracy"] < 0.2 and d["high_learning_rate"]
    # the loss is named an even guess's exactly when it is within 10% of ln 10
    assert ("even guess" in done["message"]) == (abs(d["loss"] - math.log(10)) <= 0.1 * math.log(10))
    assert "collapsed to one class" in done["message"] and "learning rate" in done["message"]
    assert "(0.1)" in done["message"]  # the suggestion: a tenth of it


def test_a_healthy_run_has_no_diagnosis(strokes):
    done = lenet_run(strokes, 0.05)
    assert done["evaluation"]["accuracy"] > 0.5
    assert done["evaluation"]["diagnosis"] is None and "collapsed" not in done["message"]


def evaluation(confusion, loss):
    n = sum(map(sum, confusion))
    return {
        "n": n,
        "confusion": confusion,
        "accuracy": sum(confusion[i][i] for i in range(len(confusion))) / n,
        "loss": loss,
    }


def all_predicted_as(cls, per_class=10, k=10):
    return [[per_class if j == cls else 0 for j in range(k)] for _ in range(k)]


def test_nearly_all_one_class_at_chance_is_a_collapse():
    d = diagnose(evaluation(all_predicted_as(4), 2.38), NAMES, 0.5, "sgd")
    assert d["kind"] == "collapsed" and d["class"] == 4 and "'4' for 100.0%" in d["message"]
    assert "ln 10 = 2.30" in d["message"] and "0.05" in d["message"]


def test_a_collapse_at_a_usual_learning_rate_does_not_blame_it():
    d = diagnose(evaluation(all_predicted_as(0), 1.9), NAMES, 0.01, "sgd")
    assert d["kind"] == "collapsed" and not d["high_learning_rate"] and "not high" in d["message"]
    assert "even guess" not in d["message"]  # 1.9 is not ln 10


def test_even_probabilities_at_chance_are_no_learning_even_without_one_class():
    spread = [[1] * 10 for _ in range(10)]
    d = diagnose(evaluation(spread, 2.30), NAMES, 0.001, "adam")
    assert d["kind"] == "not_learning" and "even guess" in d["message"]


@pytest.mark.parametrize(
    "confusion,loss",
    [
        ([[9, 1], [1, 9]], 0.3),  # it learned
        ([[10, 0], [8, 2]], 0.69),  # 60%: above chance, though leaning to one class
        ([[1] * 10 for _ in range(10)], 1.5),  # at chance but the loss moved: too soon to say
    ],
)
def test_learning_or_too_soon_to_tell_is_no_diagnosis(confusion, loss):
    assert diagnose(evaluation(confusion, loss), NAMES, 0.5, "sgd") is None


def test_the_commonest_class_is_chance_on_unbalanced_data():
    # 90 of 100 examples are class 0: predicting 0 always is 90% right, and still learned nothing
    confusion = [[90, 0], [10, 0]]
    assert diagnose(evaluation(confusion, 0.33), ["a", "b"], 0.1, "sgd")["kind"] == "collapsed"
    assert (
        diagnose({"n": 0, "confusion": [[0, 0], [0, 0]], "accuracy": None, "loss": None}, ["a", "b"], 0.1, "sgd")
        is None
    )
