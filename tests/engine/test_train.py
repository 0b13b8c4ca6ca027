"""The trainer: events, honest validation, control between batches, divergence, determinism."""

import threading

import numpy as np
import pytest

import engine
from engine.data import DatasetError, load_dataset
from engine.presets import adapt
from engine.train import TrainConfig, Trainer, evaluate, split


@pytest.fixture(scope="module")
def strokes():
    return load_dataset("strokes", n=1500, seed=0)


def lenet(seed=0):
    return engine.build_network(engine.PRESETS["lenet5"], seed=seed)


def test_a_short_run_learns_and_reports_every_event(strokes):
    trainer = Trainer(lenet(), strokes, TrainConfig(epochs=2, batch_size=50, lr=0.05, validation=0.2))
    events = list(trainer.events())
    kinds = [e["type"] for e in events]
    assert kinds.count("epoch") == 2 and kinds[-1] == "done"
    batches = [e for e in events if e["type"] == "batch"]
    assert len(batches) == 2 * 24  # 1200 training examples / 50
    assert batches[-1]["progress"] == 1.0 and batches[0]["lr"] == 0.05
    assert {"step", "epoch", "loss", "accuracy", "samples_per_s", "lr"} <= set(batches[0])
    epochs = [e for e in events if e["type"] == "epoch"]
    assert epochs[1]["val_loss"] < epochs[0]["val_loss"] or epochs[1]["val_accuracy"] > 0.8
    done = events[-1]
    assert done["status"] == "completed"
    assert done["metrics"]["val_accuracy"] > 0.25  # chance is 0.1; 48 steps only begin on varied strokes
    ev = done["evaluation"]
    assert ev["n"] == 300 and np.array(ev["confusion"]).sum() == 300
    assert len(ev["per_class_accuracy"]) == 10


def test_validation_is_disjoint_from_training_and_holdout_is_the_last_n(strokes):
    xt, _, xv, _ = split(strokes, TrainConfig(validation=0.1))
    assert len(xv) == 150 and len(xt) == 1350
    flat = {x.tobytes() for x in xt}
    assert not any(x.tobytes() in flat for x in xv)
    xt, _yt, xv, _yv = split(strokes, TrainConfig(holdout=100))
    assert np.array_equal(xv, strokes.x_train[-100:]) and len(xt) == 1400
    with pytest.raises(DatasetError, match="leaves nothing to train on"):
        split(strokes, TrainConfig(holdout=1500))


def test_same_seed_same_run(strokes):
    def run():
        t = Trainer(lenet(1), strokes, TrainConfig(epochs=1, batch_size=100, seed=4, augment={"shift": 2}))
        return [e["loss"] for e in t.events() if e["type"] == "batch"], t.net.state_dict()

    (a, wa), (b, wb) = run(), run()
    assert a == b and all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_a_huge_learning_rate_diverges_and_says_so(strokes):
    t = Trainer(lenet(), strokes, TrainConfig(epochs=1, lr=1e6, momentum=0.0))
    done = t.run()
    assert done["status"] == "diverged" and t.status == "diverged"
    assert "lower the learning rate" in done["message"]
    assert done["metrics"]["val_loss"] is None  # never NaN


def test_pause_resume_and_stop_between_batches(strokes):
    t = Trainer(lenet(), strokes, TrainConfig(epochs=5, batch_size=20))
    seen = []

    def on_event(e):
        seen.append(e)
        if e["type"] == "batch" and e["step"] == 3:
            t.pause()
            threading.Timer(0.2, t.resume).start()
        if e["type"] == "batch" and e["step"] == 6:
            t.stop()

    done = t.run(on_event)
    statuses = [e["status"] for e in seen if e["type"] == "status"]
    assert statuses == ["paused", "running"]
    assert done["status"] == "stopped" and done["steps"] == 6
    assert done["evaluation"]["n"] > 0


def test_early_stopping_keeps_the_best_weights(strokes):
    t = Trainer(lenet(), strokes, TrainConfig(epochs=30, lr=0.3, momentum=0.9, early_stopping=1, batch_size=100))
    done = t.run()
    assert done["status"] == "completed" and done["metrics"]["epochs"] < 30
    assert "stopped early" in done["message"]


def test_mismatched_network_and_dataset_say_how_to_fix(strokes):
    with pytest.raises(DatasetError, match="takes input"):
        Trainer(engine.build_network(engine.PRESETS["resnet8"]), strokes, TrainConfig())
    spec = adapt(engine.PRESETS["lenet5"], num_classes=4)
    with pytest.raises(DatasetError, match="out_features 10"):
        Trainer(engine.build_network(spec), strokes, TrainConfig())


def test_flips_are_refused_for_digits(strokes):
    with pytest.raises(DatasetError, match="flip"):
        Trainer(lenet(), strokes, TrainConfig(augment={"flip": True}))


@pytest.mark.parametrize(
    "bad,words",
    [
        ({"epochs": 0}, "epochs"),
        ({"lr": -1.0}, "lr"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"validation": 1.5}, "validation"),
        ({"lr": float("nan")}, "lr"),
        ({"batch_size": True}, "batch_size"),
    ],
)
def test_bad_config_is_refused(bad, words):
    with pytest.raises(ValueError, match=words):
        TrainConfig(**bad)
    with pytest.raises(ValueError, match="unknown training option"):
        TrainConfig.from_dict({"learning_rate": 0.1})


def test_evaluate_counts_a_confusion_matrix(strokes):
    net = lenet()
    x, y = strokes.x_test[:200], strokes.y_test[:200]
    ev = evaluate(net, strokes, x, y)
    pred = net.logits(strokes.normalize(x)).argmax(axis=1)
    conf = np.array(ev["confusion"])
    assert conf.trace() == (pred == y).sum()
    assert ev["accuracy"] == pytest.approx((pred == y).mean())
    if ev["most_confused"]:
        worst = ev["most_confused"][0]
        assert worst["true"] != worst["predicted"] and worst["true"] == y[worst["index"]]


def test_a_checkpoint_is_offered_every_epoch(strokes, tmp_path):
    saved = []

    def checkpoint(trainer):
        path = tmp_path / f"e{trainer.epoch}.npz"
        path.write_bytes(trainer.checkpoint_bytes())
        saved.append(path)

    Trainer(lenet(), strokes, TrainConfig(epochs=2, batch_size=200), checkpoint=checkpoint).run()
    assert [p.name for p in saved] == ["e1.npz", "e2.npz"]
    _, optimizer, meta = engine.load_checkpoint(saved[-1])
    assert optimizer["config"]["name"] == "sgd" and meta["trainer"]["epoch"] == 2


def dropout_net(seed=0):
    spec = {
        "input": [1, 28, 28],
        "layers": [
            {"type": "conv2d", "out_channels": 4, "kernel_size": 5, "stride": 2},
            {"type": "batchnorm2d"},
            {"type": "relu"},
            {"type": "flatten"},
            {"type": "dropout", "p": 0.3},
            {"type": "linear", "out_features": 10},
        ],
    }
    return engine.build_network(spec, seed=seed)


RESUMABLE = [
    TrainConfig(
        epochs=4,
        batch_size=64,
        optimizer="adam",
        lr=0.003,
        augment={"shift": 2, "noise": 0.05},
        schedule="cosine",
        seed=7,
        max_train=800,
    ),
    TrainConfig(
        epochs=4,
        batch_size=100,
        lr=0.05,
        momentum=0.9,
        nesterov=True,
        weight_decay=1e-3,
        l1=1e-5,
        schedule="step",
        step_size=1,
        gamma=0.5,
        early_stopping=1,
        max_train=800,
    ),
]


@pytest.mark.parametrize("config", RESUMABLE)
@pytest.mark.parametrize("stop_after", [1, 2])
def test_a_run_resumed_from_a_checkpoint_ends_as_if_it_had_never_stopped(strokes, config, stop_after):
    whole = Trainer(dropout_net(), strokes, config)
    done = whole.run()

    saved = {}

    def checkpoint(trainer):
        if trainer.epoch == stop_after:
            saved["data"] = trainer.checkpoint_bytes()
            trainer.stop()  # between batches: the next one never runs

    first = Trainer(dropout_net(), strokes, config, checkpoint=checkpoint)
    assert first.run()["status"] == "stopped" and "data" in saved
    second = Trainer.from_checkpoint(saved["data"], strokes)
    assert second.epoch == stop_after and second.step == stop_after * second.steps_per_epoch
    resumed = second.run()

    assert resumed["status"] == done["status"] and resumed["steps"] == done["steps"]
    for k, v in whole.net.state_dict().items():
        assert np.array_equal(v, second.net.state_dict()[k]), k  # bit for bit, batch norm's buffers too
    same = ("epoch", "step", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr")
    assert [{k: e[k] for k in same} for e in whole.history] == [{k: e[k] for k in same} for e in second.history]
    assert resumed["metrics"] == done["metrics"]


def test_a_plain_network_file_cannot_be_resumed(strokes, tmp_path):
    engine.save(lenet(), tmp_path / "plain.npz")
    with pytest.raises(engine.CheckpointError, match="no training state"):
        Trainer.from_checkpoint(tmp_path / "plain.npz", strokes)


@pytest.mark.parametrize(
    "cfg", [TrainConfig(validation=0.2, seed=3), TrainConfig(holdout=150), TrainConfig(max_train=900)]
)
def test_most_confused_examples_point_back_into_the_dataset(strokes, cfg):
    t = Trainer(lenet(), strokes, TrainConfig(**{**cfg.to_dict(), "epochs": 1, "batch_size": 100}))
    done = t.run()
    items = done["evaluation"]["most_confused"]
    assert items
    for item in items:
        assert item["split"] == "train"
        assert np.array_equal(strokes.x_train[item["dataset_index"]], t.x_val[item["index"]])
        assert strokes.y_train[item["dataset_index"]] == item["true"]


@pytest.mark.parametrize("optimizer, momentum", [("sgd", 0.9), ("rmsprop", 0.0)])
def test_each_optimizer_has_its_own_default_momentum(optimizer, momentum):
    """RMSprop left to its defaults runs without momentum, as PyTorch's; it does not inherit SGD's."""
    opts = TrainConfig(optimizer=optimizer).optimizer_options()
    assert opts["momentum"] == momentum
    assert TrainConfig(optimizer=optimizer, momentum=0.5).optimizer_options()["momentum"] == 0.5


@pytest.mark.parametrize("batch_size, max_train, ok", [(1, 40, False), (8, 41, False), (8, 42, True)])
def test_batch_norm_on_one_value_per_channel_refuses_batches_of_one(strokes, batch_size, max_train, ok):
    """Refused before the run starts, not at the last batch of the first epoch."""
    spec = {
        "input": [1, 28, 28],
        "layers": [
            {"type": "flatten"},
            {"type": "linear", "out_features": 8},
            {"type": "batchnorm1d"},
            {"type": "linear", "out_features": 10},
        ],
    }
    config = TrainConfig(batch_size=batch_size, max_train=max_train, validation=0.0)
    if ok:
        Trainer(engine.build_network(spec), strokes, config)
    else:
        with pytest.raises(DatasetError, match="batch of 1"):
            Trainer(engine.build_network(spec), strokes, config)


def linear_net(seed=0):
    spec = {"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}
    return engine.build_network(spec, seed=seed)


@pytest.mark.parametrize(
    "schedule,options",
    [("step", {"step_size": 1, "gamma": 0.5}), ("cosine", {"min_lr": 0.001}), ("constant", {})],
)
def test_each_epoch_row_gives_the_learning_rate_its_first_step_trained_at(strokes, schedule, options):
    config = TrainConfig(epochs=3, batch_size=100, lr=0.05, schedule=schedule, max_train=300, **options)
    events = list(Trainer(linear_net(), strokes, config).events())
    for row in (e for e in events if e["type"] == "epoch"):
        first = next(e for e in events if e["type"] == "batch" and e["epoch"] == row["epoch"])
        assert row["lr"] == first["lr"]
    rows = [e["lr"] for e in events if e["type"] == "epoch"]
    if schedule == "step":
        assert rows == [0.05, 0.025, 0.0125]
    else:
        assert rows[0] == 0.05
