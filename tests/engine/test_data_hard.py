"""The "-hard" built-ins: made so that a student sees a network overfit."""

import numpy as np
import pytest

import engine
from engine.data import builtin_names, list_datasets, load_dataset
from engine.data.builtin import GENERATORS, HARD_LABEL_NOISE, generate
from engine.train import TrainConfig, Trainer


@pytest.mark.parametrize("name, clean", [("strokes-hard", "strokes"), ("shapes-hard", "shapes")])
def test_some_training_labels_are_wrong_and_no_test_label_is(name, clean):
    info = GENERATORS[name]
    ds = load_dataset(name, seed=3)
    assert len(ds.x_train) == info["train_size"] < 10_000 and len(ds.x_test) == 2_000
    # the same images without label noise: the generator of the clean set, with the hard options
    for split, x, y in (("train", ds.x_train, ds.y_train), ("test", ds.x_test, ds.y_test)):
        ss = np.random.SeedSequence([3, {"train": 0, "test": 1}[split], 0xC44])
        x_clean, y_clean = GENERATORS[clean]["fn"](len(x), ss, **info["options"])
        np.testing.assert_array_equal(x, x_clean)
        wrong = (y != y_clean).mean()
        if split == "train":
            assert wrong == pytest.approx(HARD_LABEL_NOISE, abs=0.001)
        else:
            assert wrong == 0
    again = generate(name, info["train_size"], 3, "train")
    np.testing.assert_array_equal(again[1], ds.y_train)  # the same labels are wrong every time


def test_listed_with_what_is_harder_and_why():
    rows = {d["name"]: d for d in list_datasets()}
    for name in ("strokes-hard", "shapes-hard"):
        assert name in builtin_names()
        row = rows[name]
        assert row["source"] == "generated" and row["train_size"] == GENERATORS[name]["train_size"]
        assert "15% of" in row["description"] and "wrong" in row["description"]
        assert "validation loss" in row["description"]
        assert "test labels are all right" in row["description"]


def test_lenet_overfits_strokes_hard_with_a_students_settings():
    ds = load_dataset("strokes-hard")
    net = engine.build_network(engine.PRESETS["lenet5"], seed=1)
    # the page's defaults, over 20 epochs
    config = TrainConfig(epochs=20, batch_size=64, optimizer="sgd", lr=0.05, momentum=0.9, validation=0.1, seed=1)
    trainer = Trainer(net, ds, config)
    epochs = [e for e in trainer.events() if e["type"] == "epoch"]
    val = [e["val_loss"] for e in epochs]
    train = [e["train_loss"] for e in epochs]
    best = int(np.argmin(val))
    assert best < 15  # the validation loss bottoms out early...
    assert np.mean(val[-3:]) > 1.2 * val[best]  # ...then rises,
    assert np.mean(train[-3:]) < 0.5 * train[best]  # while the training loss keeps falling
    confusion = np.array(trainer.result["evaluation"]["confusion"])
    off_diagonal = confusion - np.diag(np.diag(confusion))
    assert off_diagonal.sum() > 0.2 * confusion.sum() and (off_diagonal > 0).sum() >= 20
    assert trainer.result["metrics"]["test_accuracy"] > 0.5  # it did learn the digits
