"""The Initialization lab: deep stacks made from a few settings, measured at step 0, and the
same stack trained with and without batch norm.

A stack is `depth` units, each a weight layer (linear, or conv2d 3x3 on 8x8 maps), then
batch norm if asked, then an activation; a residual stack wraps each unit in a residual
block. A 10-unit linear readout ends it. Measured on random standard-normal inputs, the
gradient being that of the readout's sum, averaged over the inputs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

import engine
from engine.train import TrainConfig, steps_per_epoch

from ..errors import Conflict, Invalid, TooLarge
from ..runs.events import clean

ACTIVATIONS = ("tanh", "relu", "sigmoid")
INITS = (
    "zeros",
    "normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
)
WIDTHS = {"linear": (2, 256), "conv2d": (1, 32)}
DEPTHS = (2, 30)
CONV_SIZE = 8  # the measured conv stacks work on 8x8 maps
# Measured in training mode: batch norm then normalizes with the batch's own mean and std. In
# evaluation mode it would use its running averages, which at step 0 are 0 and 1: it would do
# nothing.
TRAIN_MODE = True

# The training comparison: the stack reads the strokes digits (flattened, or pooled to 7x7 maps
# for conv2d) and learns to name them. A few hundred steps, sized to the stack so both runs end
# in seconds on a small machine.
DATASET = "strokes"
DIGIT = (1, 28, 28)
EPOCHS = 4
BATCH = 32
MAX_EXAMPLES = 4000  # 3,600 to train on and 400 to validate: 452 steps
MIN_EXAMPLES = 320  # the fewest a slow stack is cut to
FEWEST_EXAMPLES = 20  # the fewest one may ask for: 18 to train on and 2 to validate
TRAIN_MACS = 45e9  # multiply-adds one run may do (forward and backward): about 8 s here


@dataclass(frozen=True)
class Stack:
    kind: str = "linear"
    depth: int = 15
    width: int = 64
    activation: str = "tanh"
    init: str = "xavier_uniform"
    residual: bool = False
    batchnorm: bool = False

    def check(self) -> None:
        lo, hi = WIDTHS[self.kind]
        if not lo <= self.width <= hi:
            unit = "channels" if self.kind == "conv2d" else "units"
            raise Invalid(
                [
                    {
                        "loc": ["body", "width"],
                        "type": "value_error",
                        "msg": f"a {self.kind} stack takes {lo} to {hi} {unit}, not {self.width}",
                    }
                ]
            )


def _weight(stack: Stack) -> dict:
    if stack.kind == "conv2d":
        layer = {"type": "conv2d", "out_channels": stack.width, "kernel_size": 3, "padding": 1}
    else:
        layer = {"type": "linear", "out_features": stack.width}
    layer["init"] = stack.init
    if stack.init == "normal":
        layer["std"] = 1.0
    return layer


def _unit(stack: Stack) -> list[dict]:
    """One weight layer, its batch norm if asked (after the weights, before the activation)."""
    norm = [{"type": "batchnorm2d" if stack.kind == "conv2d" else "batchnorm1d"}] if stack.batchnorm else []
    return [_weight(stack), *norm, {"type": stack.activation}]


def _units(stack: Stack) -> list[dict]:
    if stack.residual:
        return [{"type": "residual", "body": _unit(stack)} for _ in range(stack.depth)]
    return [layer for _ in range(stack.depth) for layer in _unit(stack)]


def name(stack: Stack) -> str:
    how = ", ".join(w for w, on in (("residual", stack.residual), ("batch norm", stack.batchnorm)) if on)
    return f"init lab: {stack.depth} x {stack.kind} {stack.width} + {stack.activation}, {stack.init}" + (
        f", {how}" if how else ""
    )


def stack_spec(stack: Stack) -> dict:
    """The stack the lab measures: random inputs of the stack's width, a 10-unit readout."""
    readout = {"type": "linear", "out_features": 10, "init": stack.init}
    if stack.init == "normal":
        readout["std"] = 1.0
    flatten = [{"type": "flatten"}] if stack.kind == "conv2d" else []
    shape = [stack.width, CONV_SIZE, CONV_SIZE] if stack.kind == "conv2d" else [stack.width]
    return {"name": name(stack), "input": shape, "layers": [*_units(stack), *flatten, readout]}


def digit_spec(stack: Stack) -> dict:
    """The same stack reading a 28x28 digit. Its readout is left to the engine's default, 100
    times smaller than drawn, so both stacks start at an even guess (loss ln 10)."""
    if stack.kind == "conv2d":
        into, out = [{"type": "avgpool2d", "kernel_size": 4}], [{"type": "flatten"}]  # 7x7 maps
    else:
        into, out = [{"type": "flatten"}], []
    return {
        "name": name(stack),
        "input": list(DIGIT),
        "layers": [*into, *_units(stack), *out, {"type": "linear", "out_features": 10}],
    }


# ---- measuring ---------------------------------------------------------------------------------
def _check_size(services, spec: dict, n: int) -> None:
    summary = services.networks.check_spec(spec)
    services.networks.check_buildable(summary)
    per = summary["totals"]["activation_bytes"]
    need, limit = (
        per * n * 3,
        services.settings.max_request_activation_bytes,
    )  # outputs, caches, gradients
    if need > limit:
        raise TooLarge(
            f"measuring this stack on {n} inputs needs about {need / 2**20:,.0f} MiB of "
            "activations; "
            f"this server allows {limit / 2**20:,.0f} MiB per request: use fewer inputs, "
            "or a shallower or narrower stack"
        )


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or not math.isfinite(a / b):
        return None
    return a / b


def measure(services, stack: Stack, n: int, seed: int) -> dict:
    """Per unit of the stack: what enters its activation, what leaves the unit, and the gradient
    reaching the unit's output, each as mean, std, range and histogram."""
    services.policy.view("init")  # a class may have closed the Initialization view
    stack.check()
    spec = stack_spec(stack)
    _check_size(services, spec, n)
    net = engine.build_network(spec, seed=seed)
    x = np.random.default_rng(seed).standard_normal((n, *net.input_shape)).astype(np.float32)
    try:
        layers = {row["path"]: row for row in net.stats(x, train=TRAIN_MODE)}
    except ValueError as e:  # batch norm in training mode on a single input
        raise Invalid(str(e)) from None
    units = []
    for k in range(stack.depth):
        if stack.residual:
            out, pre = f"layers[{k}]", f"layers[{k}].body[{len(_unit(stack)) - 2}]"
        else:
            per = len(_unit(stack))
            out, pre = f"layers[{k * per + per - 1}]", f"layers[{k * per + per - 2}]"
        units.append(
            {
                "layer": k + 1,
                "path": out,
                "pre_activation": layers[pre]["activation"],
                "activation": layers[out]["activation"],
                "gradient": layers[out]["gradient"],
            }
        )
    first, last = units[0], units[-1]
    return clean(
        {
            "settings": asdict(stack),
            "n": n,
            "seed": seed,
            "train_mode": TRAIN_MODE,
            "spec": spec,
            "layers": units,
            "activation_ratio": _ratio(last["activation"]["std"], first["activation"]["std"]),
            "gradient_ratio": _ratio(first["gradient"]["std"], last["gradient"]["std"]),
        }
    )


# ---- training with and without batch norm --------------------------------------------------------
def _examples(spec: dict, epochs: int, asked: int | None) -> int:
    """How many digits the stack trains on: all MAX_EXAMPLES (or those asked for) when cheap,
    fewer when not."""
    macs = engine.summarize(spec)["totals"]["macs"]
    affordable = TRAIN_MACS / (3 * macs * epochs)  # backward costs about twice the forward
    most = max(MIN_EXAMPLES, min(MAX_EXAMPLES, affordable // BATCH * BATCH))
    return int(most if asked is None else min(asked, most))


def train_pair(services, stack: Stack, lr: float, seed: int, epochs: int = EPOCHS, examples: int | None = None) -> dict:
    """Two networks, the same stack without and with batch norm (the same weights, the same
    digits in the same order), each training in a run of its own; the runs are queued as any."""
    services.policy.view("init")
    stack.check()
    pair = [replace(stack, batchnorm=False), replace(stack, batchnorm=True)]
    specs = [digit_spec(s) for s in pair]
    examples = _examples(specs[1], epochs, examples)
    config = {"epochs": epochs, "batch_size": BATCH, "lr": lr, "max_train": examples, "seed": seed}
    made, started = [], []
    try:
        for _s, spec in zip(pair, specs):
            made.append(services.networks.create(spec, None, seed)["id"])
            started.append(services.runs.start(made[-1], DATASET, config))
    except Exception:
        _undo(services, made, started)
        raise
    steps = steps_per_epoch(services.datasets.load(DATASET), TrainConfig.from_dict(config)) * epochs
    return {
        "dataset": DATASET,
        "examples": examples,
        "epochs": epochs,
        "batch_size": BATCH,
        "steps": steps,
        "stacks": [{"batchnorm": s.batchnorm, "network_id": id, "run": run} for s, id, run in zip(pair, made, started)],
    }


def _undo(services, networks: list[str], runs: list[dict]) -> None:
    """The second run could not start: stop the first, and delete the networks that can go."""
    for run in runs:
        try:
            services.runs.stop(run["id"])
        except Conflict:
            pass
    for id in networks:
        try:
            services.networks.delete(id)
        except Conflict:  # its run is still stopping; the page, or a notebook, deletes it later
            pass
