"""Dropout at work on one input: what arrives at a dropout layer, what it gives in training (a
mask drawn with p, the survivors scaled by 1/(1 - p)) and what it gives in evaluation (the
input, untouched).

The training mask comes from the engine's own Dropout layer, a fresh one built like the
network's, run in training mode with a generator seeded by the request: the same seed draws
the same mask, another seed another one, and the network's own dropout streams, which a run
draws its masks from, are never advanced.
"""

from __future__ import annotations

import numpy as np

from ..errors import Invalid
from ..runs.events import clean
from .inspect import _check_memory, _entry, _pick, _summary, _untouched, b64, bad, resolve_input
from .layer_chain import layers_to, run_chain


def _dropout_layer(net, wanted: str | None):
    layers = [layer for layer in net.layers() if layer.type == "dropout"]
    if not layers:
        raise Invalid(
            "this network has no dropout layer: add one in the Build view (a dropout "
            "layer with p 0.5, say, before a linear layer), or start from a preset with "
            "dropout such as alexnet_small_28"
        )
    if wanted is None:
        return layers[0]
    (path,) = _pick(net, [wanted], "layer")
    layer = net.layer(path) if path != "input" else None
    if layer is None or layer.type != "dropout":
        names = ", ".join(layer.name or layer.path for layer in layers)
        raise bad("layer", f"{wanted} is not a dropout layer; this network's are: {names}")
    return layer


def _float32(a: np.ndarray) -> dict:
    a = np.asarray(a, dtype=np.float64)
    return {"min": float(a.min()), "max": float(a.max()), "mean": float(a.mean()), "data": b64(a.astype("<f4"))}


def dropout(services, network_id: str, body) -> dict:
    summary = _summary(services, network_id)
    _check_memory(services, summary, 1, "the dropout view", factor=2)
    entry = _entry(services, network_id)
    with entry.reading() as net:
        layer = _dropout_layer(net, body.layer)
        x, _ = resolve_input(services, net, body)
        before = layers_to(net.root, layer.path)[:-1]
        with _untouched(net):
            arriving, _ = run_chain(before, net.input_shape, x[None].astype(net.dtype), False)
            evaluation = layer.forward(arriving, train=False, record=False)
        fresh = type(layer)(layer.in_shape, layer.path, layer.cfg)
        fresh.rng = np.random.default_rng(body.seed)
        training = fresh.forward(arriving, train=True, record=True)
        cache = fresh.cache
    p = float(layer.cfg["p"])
    kept = np.ones(arriving.shape[1:], bool) if cache[0] == "identity" else cache[1][0] != 0
    dropped = 1.0 - float(kept.mean())
    return clean(
        {
            "layer": layer.path,
            "name": layer.name,
            "shape": list(arriving.shape[1:]),
            "p": p,
            "scale": 1.0 / (1.0 - p),
            "seed": body.seed,
            "units": int(kept.size),
            "dropped": int(kept.size - kept.sum()),
            "dropped_fraction": dropped,
            "encoding": "float32",
            "dtype": "<f4",
            "input": _float32(arriving[0]),
            "train_output": _float32(training[0]),
            "eval_output": _float32(evaluation[0]),
            "mask": {
                "encoding": "uint8",
                "data": b64(kept.astype(np.uint8)),
                "meaning": "1: kept (and scaled by 1/(1 - p)), 0: dropped",
            },
            "text": (
                f"p = {p:g}: {100 * dropped:.1f}% of the {kept.size:,} values dropped this time "
                f"(p says {100 * p:g}%); the rest multiplied by 1/(1 - {p:g}) = "
                f"{1 / (1 - p):.4g}. In evaluation nothing is dropped or scaled."
            ),
        }
    )
