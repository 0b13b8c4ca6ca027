"""A run that completed but learned nothing says so: a loss that grew, a collapse to one class, no
learning; and a validation set too small to judge says that instead."""

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


def linear_run(strokes, lr, **options):
    spec = {"input": list(strokes.shape), "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}
    net = engine.build_network(spec, seed=0)
    return Trainer(net, strokes, TrainConfig(**{"epochs": 1, "lr": lr, "max_train": 300, **options})).run()


@pytest.mark.parametrize("lr", [1e6, 1e5, 1.0])
def test_a_loss_that_grew_says_the_learning_rate_is_too_high(strokes, lr):
    done = linear_run(strokes, lr)
    d = done["evaluation"]["diagnosis"]
    # the run ends completed (its network exists and beats a guess), with the warning in its message
    assert done["status"] == "completed" and d["kind"] == "loss_grew"
    assert d["train_loss"] > 3 * d["first_loss"] and d["loss"] > 3 * d["first_loss"]
    assert d["first_loss"] == pytest.approx(math.log(10), rel=0.05)
    assert "the loss grew instead of falling" in done["message"]
    assert f"Try one ten times smaller ({lr / 10:g})" in done["message"]


def test_a_loss_that_fell_is_no_diagnosis(strokes):
    assert linear_run(strokes, 0.01)["evaluation"]["diagnosis"] is None


def test_a_loss_that_grew_is_told_without_a_validation_set(strokes):
    d = linear_run(strokes, 1e3, validation=0.0)["evaluation"]["diagnosis"]
    assert d["kind"] == "loss_grew" and "on the training examples" in d["message"]
    assert "validation examples" not in d["message"]


def test_a_network_that_started_trained_is_not_blamed_for_a_small_rise():
    # cross-entropy from 0.1 to 0.5: five times, but far under ln 10, where an untrained net starts
    confusion = [[9 if i == j else 0 for j in range(10)] for i in range(10)]
    for i in range(10):
        confusion[i][(i + 1) % 10] = 1
    assert diagnose(evaluation(confusion, 0.5), NAMES, 0.01, "sgd", first_loss=0.1, train_loss=0.5) is None


def test_accuracy_below_chance_is_said_to_be_worse_than_a_guess():
    # 6 classes, 5 examples each, spread evenly over the wrong classes but two: right on 2 of 30
    spread = [[0 if i == j else 1 for j in range(6)] for i in range(6)]
    spread[0][0], spread[0][1], spread[1][1], spread[1][2] = 1, 0, 1, 0
    e = evaluation(spread, math.log(6))
    assert e["n"] == 30 and round(e["accuracy"], 3) == 0.067
    d = diagnose(e, NAMES[:6], 0.001, "adam")
    assert d["kind"] == "not_learning" and "right on 6.7%" in d["message"]
    assert "worse than a guess (16.7%)" in d["message"] and "what a guess gives" not in d["message"]


@pytest.mark.parametrize(
    "confusion,words",
    [
        (all_predicted_as(4), "the same as always answering the commonest class (10.0%)"),
        # no example of class 9, and every answer is 9: right on none
        ([[0] * 9 + [10]] * 9 + [[0] * 10], "worse than always answering the commonest class (11.1%)"),
        # 12 of class 0 among 102, all answered 0: 11.8%, a little above 1/10 but what answering 0 gives
        ([[12] + [0] * 9] + [[10] + [0] * 9] * 9, "the same as always answering the commonest class (11.8%)"),
        # 97 of 100 answered 0, and 3 right elsewhere: 13%, a little better than the commonest class
        (
            [[10] + [0] * 9] + [[9 + (i > 3)] + [0] * (i - 1) + [int(i <= 3)] + [0] * (9 - i) for i in range(1, 10)],
            "hardly better than always answering the commonest class (10.0%)",
        ),
    ],
)
def test_a_collapse_compares_its_accuracy_with_the_commonest_class_truthfully(confusion, words):
    d = diagnose(evaluation(confusion, 1.0), NAMES, 0.5, "sgd")
    assert d["kind"] == "collapsed" and words in d["message"], d["message"]


def test_a_validation_set_too_small_to_judge_says_so_instead_of_a_collapse():
    # 2 examples, both class 0, both predicted 1: "right on 0%, against 100%" would mean nothing
    d = diagnose(evaluation([[0, 2], [0, 0]], 0.9), ["a", "b"], 0.1, "sgd")
    assert d["kind"] == "too_few_examples" and "2 validation examples are too few" in d["message"]
    assert "collapsed" not in d["message"] and "100.0%" not in d["message"]


def test_a_small_validation_set_in_a_real_run_is_named_in_its_message(strokes):
    done = linear_run(strokes, 0.01, max_train=30)
    assert done["evaluation"]["n"] == 3 and done["evaluation"]["diagnosis"]["kind"] == "too_few_examples"
    assert "3 validation examples are too few to tell whether it learned" in done["message"]
    assert done["message"].startswith("trained 1 step, but")  # one step, not "1 steps"
