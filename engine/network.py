"""Network: layers built from a spec, with weights, and what can be asked of them."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .errors import CheckpointError
from .layers import Layer, Sequence
from .layers.activations import Softmax
from .losses import LOSSES, softmax
from .spec import parse_spec

#: The output layer's weights start this many times smaller than its init draws them (its bias
#: starts at zero, as every bias does). Its logits then start near 0, every class about equally
#: likely, so the first loss is about ln(classes): the sanity check of a first run (a loss far
#: above it means the network starts out confidently wrong, and its first steps only undo that).
#: He and Xavier keep the signal's size through the hidden layers; the output layer has no layer
#: after it to feed, so it may start small. A spec that gives the output layer an init of its own
#: gets exactly that init.
OUTPUT_GAIN = 0.01
# between the output layer and the loss only these may stand: each passes logits on unchanged or
# only rearranged or averaged, so a small output layer still means small logits
_AFTER_OUTPUT = {"softmax", "flatten", "dropout", "global_avgpool2d", "avgpool2d"}


@dataclass
class Param:
    """One parameter tensor of a layer, named '<layer path>.<name>'."""

    key: str
    layer: Layer
    name: str

    @property
    def value(self) -> np.ndarray:
        return self.layer.params[self.name]

    @value.setter
    def value(self, array: np.ndarray) -> None:  # lets `p.value -= step` update in place
        self.layer.params[self.name] = array

    @property
    def grad(self) -> np.ndarray | None:
        return self.layer.grads.get(self.name)

    @property
    def trainable(self) -> bool:
        return self.layer.trainable


class Network:
    """A built network.

    forward(x) maps a batch x : (N, *input) to (N, *output); backward(dy)
    returns dL/dx and leaves each layer's parameter gradients in layer.grads.
    """

    def __init__(self, spec: dict, seed: int | None = None, dtype=np.float32):
        self.input_shape, self.root = parse_spec(spec)
        # a spec may carry the seed its weights are drawn with (a network's .json export does);
        # the network keeps it apart, as `seed`
        self.seed = int(spec.get("seed", 0) if seed is None else seed)
        self.spec = copy.deepcopy({k: v for k, v in spec.items() if k != "seed"})
        self.dtype = np.dtype(dtype)
        self.output_shape = self.root.out_shape
        rng = np.random.default_rng(self.seed)
        for i, layer in enumerate(self.layers()):
            layer.init_params(rng, self.dtype)
            if hasattr(layer, "rng"):  # dropout: its own stream, fixed by seed and position
                layer.rng = np.random.default_rng([self.seed, 7, i])
        output = self.output_layer()
        if output is not None and "init" not in spec["layers"][self.root.layers.index(output)]:
            output.params["W"] *= self.dtype.type(OUTPUT_GAIN)
        top = self.root.layers
        # a trailing softmax is folded into the loss, which works on logits (numerically stable)
        self.ends_in_softmax = bool(top) and isinstance(top[-1], Softmax)
        self.trunk = Sequence(top[:-1], self.input_shape) if self.ends_in_softmax else self.root

    # ---- structure ----------------------------------------------------------
    def layers(self) -> list[Layer]:
        """Every layer, depth first."""
        return list(self.root.walk())

    def layer(self, path: str) -> Layer:
        for layer in self.root.walk():
            if layer.path == path or (layer.name and layer.name == path):
                return layer
        raise KeyError(f"no layer {path!r}; layers are: " + ", ".join(l.path for l in self.root.walk()))

    def output_layer(self) -> Layer | None:
        """The layer whose weights give the logits: the last top-level layer with weights, when
        only layers that pass its output on unchanged follow it (else None: then a relu or a
        batch norm stands between it and the loss, and it is not an output layer)."""
        for layer in reversed(self.root.layers):
            if layer.type in _AFTER_OUTPUT:
                continue
            return layer if "W" in layer.params else None
        return None

    def parameters(self) -> list[Param]:
        return [Param(f"{l.path}.{n}", l, n) for l in self.root.walk() for n in l.params]

    def num_params(self) -> int:
        return int(sum(p.value.size for p in self.parameters()))

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer by '<path>.<name>' (arrays are the live ones)."""
        out = {}
        for layer in self.root.walk():
            for n, v in list(layer.params.items()) + list(layer.buffers.items()):
                out[f"{layer.path}.{n}"] = v
        return out

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays into the network, checking every name and shape first."""
        mine = self.state_dict()
        # files saved before batch norm counted its steps: those start counting from 0
        state = {**{k: np.zeros(()) for k in mine if k.endswith(".num_batches_tracked")}, **state}
        missing = sorted(set(mine) - set(state))
        extra = sorted(set(state) - set(mine))
        if missing or extra:
            raise CheckpointError(f"weights do not match the spec: missing {missing[:5]}, unexpected {extra[:5]}")
        for k, v in mine.items():
            if tuple(state[k].shape) != v.shape:
                raise CheckpointError(f"{k}: the file holds shape {tuple(state[k].shape)}, the spec needs {v.shape}")
        for layer in self.root.walk():
            for d in (layer.params, layer.buffers):
                for n in d:
                    d[n] = np.array(state[f"{layer.path}.{n}"], dtype=self.dtype)

    def astype(self, dtype) -> Network:
        """Convert weights in place (float64 for gradient checks)."""
        self.dtype = np.dtype(dtype)
        for layer in self.root.walk():
            for d in (layer.params, layer.buffers):
                for n in d:
                    d[n] = d[n].astype(dtype)
        return self

    def copy(self) -> Network:
        """An independent network with the same spec and weights."""
        other = Network.__new__(Network)
        other.__dict__.update(self.__dict__)
        other.spec = copy.deepcopy(self.spec)
        other.input_shape, other.root = parse_spec(self.spec)
        other.output_shape = other.root.out_shape
        for mine, theirs in zip(self.root.walk(), other.root.walk()):
            theirs.trainable = mine.trainable
            theirs.params = {k: v.copy() for k, v in mine.params.items()}
            theirs.buffers = {k: v.copy() for k, v in mine.buffers.items()}
            theirs.grads = {k: v.copy() for k, v in mine.grads.items()}
            if hasattr(mine, "rng"):
                theirs.rng = copy.deepcopy(mine.rng)
        top = other.root.layers
        other.trunk = Sequence(top[:-1], other.input_shape) if other.ends_in_softmax else other.root
        return other

    # ---- computation --------------------------------------------------------
    def _check_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"input has shape {x.shape}, expected (N, {', '.join(map(str, self.input_shape))})")
        return x.astype(self.dtype, copy=False)

    def forward(self, x, train: bool = False, record: bool | None = None, taps: dict | None = None):
        """x : (N, *input_shape) -> (N, *output_shape)."""
        return self.root.forward(self._check_input(x), train, record, taps)

    def backward(self, dy, taps: dict | None = None):
        """dy : (N, *output_shape) -> dx : (N, *input_shape)."""
        return self.root.backward(np.asarray(dy, dtype=self.dtype), taps)

    def logits(self, x, train=False, record=None, taps=None):
        """Forward up to (not including) a trailing softmax."""
        return self.trunk.forward(self._check_input(x), train, record, taps)

    def loss_and_backward(self, x, y, loss: str = "cross_entropy", train: bool = True, taps=None):
        """One forward and backward pass; returns (loss, logits). Gradients land in layer.grads.

        The gradient with respect to the data is not needed here, so the first layer skips it.
        """
        z = self.logits(x, train=train, record=True, taps=taps)
        value, dz = LOSSES[loss](z, y)
        first = self.trunk.layers[0] if self.trunk.layers else None
        if first is not None:
            first.needs_input_grad = False
        try:
            self.trunk.backward(dz, taps)
        finally:
            if first is not None:
                first.needs_input_grad = True
        return value, z

    def predict_proba(self, x) -> np.ndarray:
        """Class probabilities (N, K), evaluation mode."""
        z = self.logits(x)
        return softmax(z.astype(np.float64)).astype(np.float32)

    def zero_grad(self) -> None:
        for layer in self.root.walk():
            layer.grads = {}

    # ---- looking inside -------------------------------------------------------
    def feature_maps(self, x) -> dict[str, np.ndarray]:
        """Every layer's output for x (evaluation mode), by layer path, in order."""
        taps: dict[str, np.ndarray] = {"input": self._check_input(x)}
        self.root.forward(taps["input"], False, False, taps)
        return taps

    def saliency(self, x, cls: int | None = None) -> tuple[np.ndarray, int]:
        """d(score of class cls)/d(input) for one input x : (*input_shape).

        The score is the logit (before softmax). cls defaults to the predicted
        class. Returns (gradient shaped like x, cls).
        """
        xb = self._check_input(np.asarray(x)[None])
        z = self.logits(xb, train=False, record=True)
        if cls is None:
            cls = int(z[0].argmax())
        dz = np.zeros_like(z)
        dz[0, cls] = 1
        dx = self.trunk.backward(dz)
        return dx[0], cls

    def stats(self, x, y=None, loss: str = "cross_entropy", train: bool = False, bins: int = 30) -> list[dict]:
        """Per-layer statistics of activations and of the gradients reaching them.

        With labels y the gradients come from the loss; without, from the sum
        of the outputs. Each entry: path, type, activation and gradient
        {mean, std, zeros, min, max, histogram}, and per-parameter gradient norms.
        """
        acts: dict = {}
        grads: dict = {}
        xb = self._check_input(x)
        if y is not None:
            z = self.logits(xb, train=train, record=True, taps=acts)
            _, dz = LOSSES[loss](z, np.asarray(y))
        else:
            z = self.logits(xb, train=train, record=True, taps=acts)
            dz = np.ones_like(z) / z.shape[0]
        self.trunk.backward(dz, taps=grads)
        out = []
        for layer in self.trunk.walk():
            if layer.path not in acts:
                continue
            entry = {
                "path": layer.path,
                "type": layer.type,
                "name": layer.name,
                "activation": describe(acts[layer.path], bins),
                "gradient": describe(grads[layer.path], bins) if layer.path in grads else None,
                "params": {
                    n: {
                        "std": float(v.std()),
                        "grad_norm": float(np.linalg.norm(layer.grads[n])) if n in layer.grads else None,
                    }
                    for n, v in layer.params.items()
                },
            }
            out.append(entry)
        return out


def describe(a: np.ndarray, bins: int = 30) -> dict:
    """mean, std, fraction of exact zeros, range and a histogram of an array."""
    a = np.asarray(a, dtype=np.float64)
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return {
            "mean": None,
            "std": None,
            "zeros": None,
            "min": None,
            "max": None,
            "histogram": {"counts": [], "edges": []},
            "nonfinite": int(a.size),
        }
    lo, hi = float(finite.min()), float(finite.max())
    counts, edges = np.histogram(finite, bins=bins, range=(lo, hi if hi > lo else lo + 1e-12))
    return {
        "mean": float(finite.mean()),
        "std": float(finite.std()),
        "zeros": float((finite == 0).mean()),
        "min": lo,
        "max": hi,
        "histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
        "nonfinite": int(a.size - finite.size),
    }


def build_network(spec: dict, seed: int | None = None, dtype=np.float32) -> Network:
    """Build a network with weights from a spec; the same spec and seed give the same weights.
    Without a seed, the spec's own (`"seed"` in it), else 0."""
    return Network(spec, seed=seed, dtype=dtype)
