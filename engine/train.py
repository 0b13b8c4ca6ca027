"""The trainer: epochs of shuffled mini-batches, reported as events.

    trainer = Trainer(net, dataset, TrainConfig(epochs=3, lr=0.01))
    for event in trainer.events():       # or trainer.run(callback)
        print(event["type"], event)

Events (plain dicts, JSON-ready, never NaN):
  batch  step, epoch, batch, batches, loss, accuracy, samples_per_s, lr
  epoch  epoch, train_loss, train_accuracy, val_loss, val_accuracy, elapsed, lr (the rate at the
         epoch's first step: every step of it under a step schedule, falling within it under cosine)
  status status (paused, running) when a run is paused or resumed
  done   status (completed, stopped, diverged), message, metrics, evaluation (with its
         diagnosis: a loss that grew, a collapse to one class or no learning, see diagnosis.py)
  error  message (an unexpected failure; status "failed")

pause(), resume() and stop() may be called from another thread; they take
effect between batches. A loss that becomes NaN or infinite stops the run
with status "diverged".

At every epoch end the trainer calls `checkpoint(trainer)`; `trainer.checkpoint_bytes()`
is then everything needed to go on later (weights, optimizer state, the random
streams, the history), and `Trainer.from_checkpoint(data, dataset)` continues from it: the
rest of the run is the same, to the last bit, as if it had never stopped.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from .data import Augment, Dataset, DatasetError
from .diagnosis import diagnose
from .errors import CheckpointError
from .io import read_checkpoint, to_bytes
from .losses import LOSSES, softmax
from .network import Network
from .optim import OPTIMIZERS, SCHEDULES, make_optimizer, make_schedule
from .options import check_options, described, option

#: Momentum when a run leaves it out, per optimizer: SGD with momentum 0.9 is the playground's
#: starting point; RMSprop's is PyTorch's default, 0 (it scales each step by its own history).
MOMENTUM_DEFAULTS = {"sgd": 0.9, "rmsprop": 0.0}

STATUSES = ("created", "running", "paused", "completed", "stopped", "diverged", "failed")


@dataclass
class TrainConfig:
    """Everything that decides a run; with the same seed the run is the same.

    Each option is declared once, here (engine/options.py): the API's request model, the page's
    form and the command line's flags take their names, defaults, limits and help from it."""

    epochs: int = option("int", 1, "passes over the training data", min=1, max=10_000)
    batch_size: int = option("int", 64, "examples per step", min=1, max=65_536)
    optimizer: str = option("choice", "sgd", "how each step moves the weights", choices=tuple(OPTIMIZERS))
    lr: float = option("float", 0.01, "learning rate: the size of each step", min=0.0, exclusive_min=True, max=1e6)
    momentum: float | None = option(
        "float",
        None,
        "for sgd and rmsprop: how much of the last step goes on; left out, the optimizer's own: "
        f"{MOMENTUM_DEFAULTS['sgd']} for sgd (the playground's start), {MOMENTUM_DEFAULTS['rmsprop']} for rmsprop "
        "(PyTorch's)",
        min=0.0,
        max=1.0,
        exclusive_max=True,
        default_by={"optimizer": MOMENTUM_DEFAULTS},
    )
    nesterov: bool = option("bool", False, "for sgd: Nesterov momentum, the gradient taken a step ahead")
    beta1: float = option(
        "float", 0.9, "for adam: how slowly the mean of the gradients moves", min=0.0, max=1.0, exclusive_max=True
    )
    beta2: float = option(
        "float",
        0.999,
        "for adam: how slowly the mean of the squared gradients moves",
        min=0.0,
        max=1.0,
        exclusive_max=True,
    )
    weight_decay: float = option("float", 0.0, "L2 penalty: pulls each weight toward 0", min=0.0, max=10.0)
    l1: float = option("float", 0.0, "L1 penalty: pushes weights to exactly 0", min=0.0, max=10.0)
    schedule: str = option("choice", "constant", "how the learning rate changes as training goes", choices=SCHEDULES)
    step_size: int = option("int", 1, "with schedule step: epochs between steps", min=1, max=10_000)
    gamma: float = option("float", 0.1, "with schedule step: the factor at each step", min=0.0, max=1.0)
    min_lr: float = option("float", 0.0, "with schedule cosine: the learning rate it ends at", min=0.0, max=1e6)
    validation: float = option(
        "float", 0.1, "fraction of the training examples kept aside", min=0.0, max=1.0, exclusive_max=True
    )
    holdout: int | None = option(
        "int", None, "or: keep the last N training examples aside (overrides validation)", min=1
    )
    augment: dict = field(default_factory=dict)  # Augment's options (data/augment.py), only those set
    early_stopping: int | None = option(
        "int", None, "stop after this many epochs without a better validation loss", min=1, max=1000
    )
    loss: str = option("choice", "cross_entropy", "what training makes small", choices=tuple(LOSSES))
    seed: int = option("int", 0, "the same seed gives the same run", min=0, max=2**32, exclusive_max=True)
    max_train: int | None = option("int", None, "use only the first N training examples", min=2)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        check_options(self)
        # options that would do nothing, or the opposite of what they say, are refused with why
        if self.momentum is not None and self.optimizer not in MOMENTUM_DEFAULTS:
            users = " and ".join(MOMENTUM_DEFAULTS)
            raise ValueError(f"momentum is for {users}; {self.optimizer} does not use it: leave momentum out")
        if self.nesterov and self.optimizer != "sgd":
            raise ValueError(f"nesterov is for sgd; {self.optimizer} does not use it: leave nesterov out")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov needs momentum above 0: it takes the gradient a momentum step ahead")
        if self.schedule == "cosine" and self.min_lr > self.lr:
            raise ValueError(
                f"min_lr {self.min_lr:g}, where the cosine schedule ends, must be at most lr {self.lr:g}: "
                "the schedule brings the learning rate down"
            )
        if not isinstance(self.augment, dict):
            raise ValueError(f"augment must be an object of augmentation options, got {self.augment!r}")
        known = [f.name for f in described(Augment)]
        unknown = sorted(set(self.augment) - set(known))
        if unknown:
            raise ValueError(f"augment has no option {unknown[0]!r}; its options are {', '.join(known)}")
        Augment(**self.augment)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training option(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)

    def optimizer_options(self) -> dict:
        opts = {"lr": self.lr, "weight_decay": self.weight_decay, "l1": self.l1}
        momentum = MOMENTUM_DEFAULTS.get(self.optimizer) if self.momentum is None else self.momentum
        if self.optimizer == "sgd":
            opts.update(momentum=momentum, nesterov=self.nesterov)
        elif self.optimizer == "adam":
            opts.update(beta1=self.beta1, beta2=self.beta2)
        elif self.optimizer == "rmsprop":
            opts.update(momentum=momentum)
        return opts


def validation_rows(dataset: Dataset, config: TrainConfig) -> tuple[str, np.ndarray]:
    """Which split the validation examples come from, and their positions in it."""
    n = len(dataset.x_train) or len(dataset.x_test)
    which = "train" if len(dataset.x_train) else "test"
    if config.max_train is not None:
        n = min(n, config.max_train)
    if config.holdout is not None:
        return which, np.arange(n - config.holdout, n)
    if config.validation > 0:
        k = max(1, int(round(n * config.validation)))
        return which, np.sort(np.random.default_rng([config.seed, 11]).permutation(n)[:k])
    return which, np.arange(0)


def split(dataset: Dataset, config: TrainConfig):
    """(x_train, y_train, x_val, y_val) from the dataset's training examples.

    A dataset with no training split (a test-only folder) trains on its test
    examples; the holdout then keeps the last N of them apart.
    """
    x, y = dataset.x_train, dataset.y_train
    if len(x) == 0:
        x, y = dataset.x_test, dataset.y_test
    if config.max_train is not None:
        x, y = x[: config.max_train], y[: config.max_train]
    n = len(x)
    if config.holdout is not None:
        if config.holdout >= n:
            raise DatasetError(f"holdout {config.holdout} leaves nothing to train on: the dataset has {n} examples")
        cut = n - config.holdout
        return x[:cut], y[:cut], x[cut:], y[cut:]
    if config.validation > 0:
        k = max(1, int(round(n * config.validation)))
        if k >= n:
            raise DatasetError(f"validation {config.validation} leaves nothing to train on ({n} examples)")
        order = np.random.default_rng([config.seed, 11]).permutation(n)
        tr, va = np.sort(order[k:]), np.sort(order[:k])
        return x[tr], y[tr], x[va], y[va]
    return x, y, x[:0], y[:0]


def evaluate(
    net: Network,
    dataset: Dataset,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int = 256,
    loss: str = "cross_entropy",
    top: int = 12,
) -> dict:
    """Accuracy, loss, confusion matrix, per-class accuracy and the most-confused examples.

    confusion[i][j] counts examples of true class i predicted as j. The
    most-confused examples are the wrong predictions made with the highest
    confidence (indices into x).
    """
    k = dataset.num_classes
    if len(x) == 0:
        return {
            "n": 0,
            "accuracy": None,
            "loss": None,
            "confusion": [[0] * k for _ in range(k)],
            "per_class_accuracy": [None] * k,
            "most_confused": [],
            "confused_pairs": [],
        }
    probs, losses = [], []
    for start in range(0, len(x), batch_size):
        xb = dataset.normalize(x[start : start + batch_size])
        with np.errstate(all="ignore"):  # weights near overflow give inf/NaN, reported as None
            z = net.logits(xb)
            value, _ = LOSSES[loss](z, y[start : start + batch_size])
        losses.append(value * len(xb))
        probs.append(softmax(z.astype(np.float64)))
    p = np.concatenate(probs)
    pred = p.argmax(axis=1)
    conf = np.zeros((k, k), dtype=np.int64)
    np.add.at(conf, (y, np.minimum(pred, k - 1)), 1)
    support = conf.sum(axis=1)
    wrong = np.flatnonzero(pred != y)
    worst = wrong[np.argsort(-p[wrong, pred[wrong]], kind="stable")][:top]
    off = conf.copy()
    np.fill_diagonal(off, 0)
    pairs = [
        {"true": int(i), "predicted": int(j), "count": int(off[i, j])}
        for i, j in zip(*np.unravel_index(np.argsort(-off, axis=None, kind="stable")[:5], off.shape))
        if off[i, j]
    ]
    return {
        "n": int(len(x)),
        "accuracy": float((pred == y).mean()),
        "loss": _finite(sum(losses) / len(x)),
        "confusion": conf.tolist(),
        "per_class_accuracy": [float(conf[i, i] / support[i]) if support[i] else None for i in range(k)],
        "most_confused": [
            {"index": int(i), "true": int(y[i]), "predicted": int(pred[i]), "confidence": float(p[i, pred[i]])}
            for i in worst
        ],
        "confused_pairs": pairs,
    }


def check_fit(net: Network, dataset: Dataset, config: TrainConfig) -> None:
    """Raise DatasetError saying why `net` cannot be trained on `dataset` with `config`, if it cannot.

    Cheap (no copies of the data): a service calls it before it accepts a run."""
    if tuple(dataset.shape) != tuple(net.input_shape):
        raise DatasetError(
            f"the network takes input {tuple(net.input_shape)} but {dataset.name} "
            f"images are {tuple(dataset.shape)}; pick a matching preset or change the spec's input"
        )
    if net.output_shape != (dataset.num_classes,) and config.loss == "cross_entropy":
        raise DatasetError(
            f"the network ends with {net.output_shape} outputs but {dataset.name} has "
            f"{dataset.num_classes} classes; make the last layer linear with "
            f"out_features {dataset.num_classes}"
        )
    dataset.check_augment(Augment(**config.augment) if config.augment else None)
    n = len(dataset.x_train) or len(dataset.x_test)
    if config.max_train is not None:
        n = min(n, config.max_train)
    if config.holdout is not None and config.holdout >= n:
        raise DatasetError(f"holdout {config.holdout} leaves nothing to train on: the dataset has {n} examples")
    if config.holdout is None and config.validation > 0 and max(1, int(round(n * config.validation))) >= n:
        raise DatasetError(f"validation {config.validation} leaves nothing to train on ({n} examples)")
    _check_batch_norm(net, _train_count(dataset, config), config.batch_size)


def _check_batch_norm(net: Network, n: int, batch_size: int) -> None:
    """Batch norm needs two values per channel in training; where a channel holds one value
    per example (batchnorm1d, or a 1x1 map), no batch may have a single example."""
    single = [
        layer for layer in net.layers() if layer.type.startswith("batchnorm") and math.prod(layer.in_shape[1:]) == 1
    ]
    sizes = {min(batch_size, n), n % batch_size or batch_size}
    if single and min(sizes) < 2:
        raise DatasetError(
            f"{single[0].path} ({single[0].type}) needs at least 2 examples in every training batch, "
            f"but {n} examples in batches of {batch_size} leave a batch of 1; "
            "change batch_size (or the number of training examples)"
        )


def _train_count(dataset: Dataset, config: TrainConfig) -> int:
    """How many examples the Trainer trains on (after max_train and the validation split)."""
    n = len(dataset.x_train) or len(dataset.x_test)
    if config.max_train is not None:
        n = min(n, config.max_train)
    if config.holdout is not None:
        n -= config.holdout
    elif config.validation > 0:
        n -= max(1, int(round(n * config.validation)))
    return max(n, 0)


def steps_per_epoch(dataset: Dataset, config: TrainConfig) -> int:
    """How many batches one epoch has (as the Trainer will split the data)."""
    return max(1, math.ceil(_train_count(dataset, config) / config.batch_size))


def _finite(v):
    return float(v) if v is not None and math.isfinite(v) else None


class Trainer:
    """Trains `net` on `dataset` with `config`; see the module docstring for events."""

    def __init__(
        self,
        net: Network,
        dataset: Dataset,
        config: TrainConfig,
        checkpoint: Callable[[Trainer], None] | None = None,
        batch_hook: Callable[[Network], None] | None = None,
    ):
        self.net, self.dataset, self.config = net, dataset, config
        self.checkpoint = checkpoint  # called at every epoch end: checkpoint_bytes() is then a resumable state
        self.batch_hook = batch_hook  # called after every step (e.g. to publish a weight snapshot)
        check_fit(net, dataset, config)
        self.augment = Augment(**config.augment) if config.augment else None
        self.x_train, self.y_train, self.x_val, self.y_val = split(dataset, config)
        self.val_split, self.val_rows = validation_rows(dataset, config)
        self.optimizer = make_optimizer(config.optimizer, net.parameters(), **config.optimizer_options())
        self.steps_per_epoch = max(1, math.ceil(len(self.x_train) / config.batch_size))
        self.schedule = make_schedule(
            config.schedule,
            config.lr,
            steps_per_epoch=self.steps_per_epoch,
            epochs=config.epochs,
            step_size=config.step_size,
            gamma=config.gamma,
            min_lr=config.min_lr,
        )
        self.status = "created"
        self.history: list[dict] = []  # epoch events
        self.result: dict | None = None
        self._run = threading.Event()
        self._run.set()
        self._stop = threading.Event()
        self.step = 0
        self.epoch = 0  # epochs finished
        self.elapsed = 0.0  # seconds spent training before this process took the run over
        self.rng = np.random.default_rng([config.seed, 5])  # shuffling and augmentation
        self.best_loss = math.inf  # early stopping: the best validation loss so far,
        self.best_weights: dict[str, np.ndarray] | None = None  # the weights that had it,
        self.stale = 0  # and the epochs since
        self.first_loss: float | None = None  # the first step's, before any learning: did the loss grow?

    # ---- control, from any thread -------------------------------------------
    def pause(self) -> None:
        self._run.clear()

    def resume(self) -> None:
        self._run.set()

    def stop(self) -> None:
        self._stop.set()
        self._run.set()

    # ---- checkpoints -----------------------------------------------------------
    def checkpoint_bytes(self, meta: dict | None = None) -> bytes:
        """Everything needed to go on from the last finished epoch, as a network .npz file.

        Call it between epochs (from the `checkpoint` callback): the weights, the optimizer's
        state, the step and epoch counts, the history, the random streams of shuffling,
        augmentation and dropout, and the early-stopping state."""
        state = {
            "epoch": self.epoch,
            "step": self.step,
            "elapsed": self.elapsed,
            "history": self.history,
            "config": self.config.to_dict(),
            "rng": self.rng.bit_generator.state,
            "dropout_rngs": {
                layer.path: layer.rng.bit_generator.state for layer in self.net.layers() if hasattr(layer, "rng")
            },
            "best_loss": self.best_loss if math.isfinite(self.best_loss) else None,
            "stale": self.stale,
            "first_loss": self.first_loss,
        }
        extra = {f"best:{k}": v for k, v in (self.best_weights or {}).items()}
        meta = {**self.dataset.model_meta(), **(meta or {}), "trainer": state}  # read like any saved network
        return to_bytes(self.net, self.optimizer, meta, extra=extra)

    @classmethod
    def from_checkpoint(cls, data, dataset: Dataset, **kwargs) -> Trainer:
        """A trainer that goes on from a checkpoint_bytes() file (bytes or a path) to the planned epochs."""
        saved = read_checkpoint(data)
        state = saved.meta.get("trainer")
        if not isinstance(state, dict):
            raise CheckpointError("this network file holds no training state to resume from")
        trainer = cls(saved.net, dataset, TrainConfig.from_dict(state["config"]), **kwargs)
        if saved.optimizer is not None:
            trainer.optimizer.load_state_dict(saved.optimizer)
        trainer.epoch, trainer.step, trainer.elapsed = state["epoch"], state["step"], state["elapsed"]
        trainer.history = list(state["history"])
        trainer.rng.bit_generator.state = state["rng"]
        for layer in trainer.net.layers():
            if hasattr(layer, "rng") and layer.path in state["dropout_rngs"]:
                layer.rng.bit_generator.state = state["dropout_rngs"][layer.path]
        trainer.best_loss = math.inf if state["best_loss"] is None else state["best_loss"]
        trainer.stale = state["stale"]
        trainer.first_loss = state.get("first_loss")  # absent from checkpoints saved before it was kept
        best = {k[5:]: v for k, v in saved.extra.items() if k.startswith("best:")}
        trainer.best_weights = best or None
        return trainer

    # ---- running ---------------------------------------------------------------
    def run(self, callback: Callable[[dict], None] | None = None) -> dict:
        """Train to the end, passing each event to callback; returns the done event."""
        for event in self.events():
            if callback is not None:
                callback(event)
        return self.result

    def events(self) -> Iterator[dict]:
        """Train, yielding events as they happen."""
        try:
            yield from self._loop()
        except Exception as e:  # a bug or bad data must end the run with a message, not hang it
            self.status = "failed"
            self.result = {"type": "error", "status": "failed", "message": f"{type(e).__name__}: {e}"}
            yield self.result

    def _loop(self) -> Iterator[dict]:
        cfg, net, rng = self.config, self.net, self.rng
        self.status = "running"
        start = time.perf_counter() - self.elapsed
        message = ""
        for epoch in range(self.epoch + 1, cfg.epochs + 1):
            seen = correct = 0
            loss_sum = 0.0
            first_step = self.step  # the epoch's row gives the rate it trained at, not the next one's
            window_t, window_n = time.perf_counter(), 0
            for b, (xb, yb) in enumerate(
                self.dataset.batches(self.x_train, self.y_train, cfg.batch_size, rng, augment=self.augment)
            ):
                if not self._run.is_set():
                    self.status = "paused"
                    yield {"type": "status", "status": "paused", "step": self.step}
                    self._run.wait()
                    if not self._stop.is_set():
                        self.status = "running"
                        yield {"type": "status", "status": "running", "step": self.step}
                    window_t, window_n = time.perf_counter(), 0
                if self._stop.is_set():
                    yield self._finish("stopped", f"stopped by request after {self.step} steps")
                    return
                lr = self.schedule(self.step)
                self.optimizer.lr = lr
                with np.errstate(all="ignore"):  # a diverging run overflows; it is caught just below
                    loss, z = net.loss_and_backward(xb, yb, loss=cfg.loss)
                if not math.isfinite(loss) or not np.all(np.isfinite(z)):
                    yield self._finish(
                        "diverged",
                        f"the loss became {'NaN' if math.isnan(loss) else 'infinite'} "
                        f"at step {self.step + 1} (epoch {epoch}); lower the learning rate "
                        f"(it was {lr:g})",
                    )
                    return
                if self.first_loss is None:
                    self.first_loss = float(loss)
                with np.errstate(all="ignore"):
                    self.optimizer.step()
                self.step += 1
                if self.batch_hook is not None:
                    self.batch_hook(net)
                hits = int((z.argmax(axis=1) == yb).sum())
                seen += len(yb)
                correct += hits
                loss_sum += loss * len(yb)
                window_n += len(yb)
                elapsed = time.perf_counter() - window_t
                yield {
                    "type": "batch",
                    "step": self.step,
                    "epoch": epoch,
                    "batch": b + 1,
                    "batches": self.steps_per_epoch,
                    "loss": loss,
                    "accuracy": hits / len(yb),
                    "samples_per_s": window_n / elapsed if elapsed > 0 else None,
                    "lr": lr,
                    "progress": self.step / (self.steps_per_epoch * cfg.epochs),
                }
            val = evaluate(net, self.dataset, self.x_val, self.y_val, loss=cfg.loss, top=0)
            event = {
                "type": "epoch",
                "epoch": epoch,
                "epochs": cfg.epochs,
                "step": self.step,
                "train_loss": _finite(loss_sum / max(seen, 1)),
                "train_accuracy": correct / max(seen, 1),
                "val_loss": val["loss"],
                "val_accuracy": val["accuracy"],
                "elapsed": time.perf_counter() - start,
                "lr": self.schedule(first_step),
            }
            self.history.append(event)
            self.epoch = epoch
            self.elapsed = event["elapsed"]
            yield event
            if cfg.early_stopping and val["loss"] is not None:
                if val["loss"] < self.best_loss:
                    self.best_loss, self.stale = val["loss"], 0
                    self.best_weights = {k: v.copy() for k, v in net.state_dict().items()}
                else:
                    self.stale += 1
                    if self.stale >= cfg.early_stopping:
                        net.load_state_dict(self.best_weights)
                        message = (
                            f"stopped early after epoch {epoch}: validation loss did not improve for "
                            f"{self.stale} epochs; the best weights were kept"
                        )
                        break
            if self.checkpoint is not None:
                self.checkpoint(self)
        yield self._finish("completed", message or f"trained {self.step} step{'s' if self.step != 1 else ''}")

    def _finish(self, status: str, message: str) -> dict:
        self.status = status
        cfg = self.config
        evaluation = (
            evaluate(self.net, self.dataset, self.x_val, self.y_val, loss=cfg.loss) if status != "diverged" else None
        )
        if evaluation:  # where each example is in the dataset, so a page can show its picture
            for item in evaluation["most_confused"]:
                item["split"], item["dataset_index"] = self.val_split, int(self.val_rows[item["index"]])
            # said once, here, for every client: "completed" alone would hide a network that learned nothing
            evaluation["diagnosis"] = diagnose(
                evaluation,
                self.dataset.class_names,
                cfg.lr,
                cfg.optimizer,
                first_loss=self.first_loss,
                train_loss=self.history[-1]["train_loss"] if self.history else None,
                loss_name=cfg.loss,
            )
            if evaluation["diagnosis"]:
                message = f"{message}, but {evaluation['diagnosis']['message']}"
        test = None
        if status != "diverged" and len(self.dataset.x_train) and len(self.dataset.x_test):
            test = evaluate(self.net, self.dataset, self.dataset.x_test, self.dataset.y_test, loss=cfg.loss, top=0)
        last = self.history[-1] if self.history else {}
        self.result = {
            "type": "done",
            "status": status,
            "message": message,
            "steps": self.step,
            "metrics": {
                "train_loss": last.get("train_loss"),
                "train_accuracy": last.get("train_accuracy"),
                "val_loss": evaluation["loss"] if evaluation else None,
                "val_accuracy": evaluation["accuracy"] if evaluation else None,
                "test_accuracy": test["accuracy"] if test else None,
                "test_loss": test["loss"] if test else None,
                "epochs": len(self.history),
            },
            "evaluation": evaluation,
        }
        return self.result
