"""Optimizers and learning-rate schedules.

Optimizers take the network's parameters and read their gradients from the
layers; frozen layers (trainable: false) are never updated. The update rules
follow PyTorch's, so a run can be compared number for number.

Regularization is added to each gradient before the update:
    L2 (weight_decay):  g += weight_decay * w
    L1 (l1):            g += l1 * sign(w)
"""

from __future__ import annotations

import math

import numpy as np


class Optimizer:
    name = ""
    defaults: dict = {}

    def __init__(self, params, lr: float = 0.01, weight_decay: float = 0.0, l1: float = 0.0, **options):
        unknown = set(options) - set(self.defaults)
        if unknown:
            raise ValueError(f"{self.name} has no option {sorted(unknown)}; it takes {sorted(self.defaults)}")
        self.params = [p for p in params if p.trainable]
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.l1 = float(l1)
        self.options = {**self.defaults, **options}
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.steps = 0

    def _grad(self, p) -> np.ndarray | None:
        g = p.grad
        if g is None:
            return None
        if self.weight_decay:
            g = g + self.weight_decay * p.value
        if self.l1:
            g = g + self.l1 * np.sign(p.value)
        return g

    def step(self) -> None:
        self.steps += 1
        for p in self.params:
            g = self._grad(p)
            if g is not None:
                self.update(p, g, self.state.setdefault(p.key, {}))

    def update(self, p, g, state) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """{'config': {...}, 'arrays': {'<param key>/<slot>': array}}."""
        arrays = {f"{k}/{slot}": v for k, s in self.state.items() for slot, v in s.items()}
        config = {
            "name": self.name,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "l1": self.l1,
            "steps": self.steps,
            **self.options,
        }
        return {"config": config, "arrays": arrays}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state["config"].get("steps", 0))
        keys = {p.key: p for p in self.params}
        self.state = {}
        for name, v in state["arrays"].items():
            key, slot = name.rsplit("/", 1)
            if key not in keys:
                continue
            value = keys[key].value
            if v.shape == value.shape:  # a moment or a velocity: the parameter's shape and dtype
                self.state.setdefault(key, {})[slot] = np.array(v, dtype=value.dtype)
            elif v.ndim == 0:  # a counter (Adam's t): as it was saved
                self.state.setdefault(key, {})[slot] = np.array(v)


class SGD(Optimizer):
    """v = momentum*v + g;  w -= lr * (g + momentum*v if nesterov else v)."""

    name = "sgd"
    defaults = {"momentum": 0.0, "nesterov": False}

    def update(self, p, g, state):
        m = self.options["momentum"]
        if m:
            v = state.get("momentum")
            if v is None:
                v = state["momentum"] = g.copy()
            else:
                v *= m
                v += g
            g = g + m * v if self.options["nesterov"] else v
        p.value -= (self.lr * g).astype(p.value.dtype, copy=False)


class Adam(Optimizer):
    """Moment estimates m, v with bias correction; w -= lr * m_hat / (sqrt(v_hat) + eps)."""

    name = "adam"
    defaults = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}

    def update(self, p, g, state):
        b1, b2, eps = self.options["beta1"], self.options["beta2"], self.options["eps"]
        m = state.setdefault("m", np.zeros_like(p.value))
        v = state.setdefault("v", np.zeros_like(p.value))
        t = state["t"] = state.get("t", np.zeros((), np.int64)) + 1
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        step = self.lr / (1 - b1 ** int(t))
        denom = np.sqrt(v / (1 - b2 ** int(t))) + eps
        p.value -= (step * m / denom).astype(p.value.dtype, copy=False)


class RMSProp(Optimizer):
    """s = alpha*s + (1-alpha) g^2;  w -= lr * g / (sqrt(s) + eps)."""

    name = "rmsprop"
    defaults = {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0}

    def update(self, p, g, state):
        a, eps, mom = self.options["alpha"], self.options["eps"], self.options["momentum"]
        s = state.setdefault("square_avg", np.zeros_like(p.value))
        s *= a
        s += (1 - a) * g * g
        step = g / (np.sqrt(s) + eps)
        if mom:
            buf = state.setdefault("momentum", np.zeros_like(p.value))
            buf *= mom
            buf += step
            step = buf
        p.value -= (self.lr * step).astype(p.value.dtype, copy=False)


class Adagrad(Optimizer):
    """s += g^2;  w -= lr * g / (sqrt(s) + eps)."""

    name = "adagrad"
    defaults = {"eps": 1e-10}

    def update(self, p, g, state):
        s = state.setdefault("sum", np.zeros_like(p.value))
        s += g * g
        p.value -= (self.lr * g / (np.sqrt(s) + self.options["eps"])).astype(p.value.dtype, copy=False)


OPTIMIZERS = {cls.name: cls for cls in (SGD, Adam, RMSProp, Adagrad)}


def make_optimizer(name: str, params, **kwargs) -> Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, **kwargs)


# ---- learning-rate schedules: step count -> learning rate -------------------

SCHEDULES = ("constant", "step", "cosine")


def make_schedule(
    kind: str,
    lr: float,
    *,
    steps_per_epoch: int = 1,
    epochs: int = 1,
    step_size: int = 1,
    gamma: float = 0.1,
    min_lr: float = 0.0,
):
    """A function of the global step (0-based) giving the learning rate.

    constant: lr.  step: lr * gamma ** (epoch // step_size), as PyTorch's StepLR.
    cosine: from lr down to min_lr over all steps, along half a cosine.
    """
    if kind == "constant":
        return lambda step: lr
    if kind == "step":
        return lambda step: lr * gamma ** ((step // max(steps_per_epoch, 1)) // max(step_size, 1))
    if kind == "cosine":
        total = max(steps_per_epoch * epochs, 1)
        return lambda step: min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    raise ValueError(f"unknown schedule {kind!r}; choose one of {', '.join(SCHEDULES)}")
