"""Export to PyTorch: Python source for an equivalent torch.nn.Module, and its
weights keyed by that module's state_dict names, so a student can carry on in
PyTorch with the same numbers. Each layer writes its own module (Layer.torch_module, and a
block's torch_children for the weights' names); this file puts them together. Nothing here
imports torch."""

from __future__ import annotations

import numpy as np

from .layers import Block
from .network import Network
from .normalization import input_normalization

_HEADER = '''"""{title}: exported from CNN Playground.

    model = Net()
    model.load_state_dict({{k: torch.from_numpy(v) for k, v in numpy.load("weights.npz").items()}})
    {forward}
    loss = nn.CrossEntropyLoss()(model.logits(images), labels)   # to train on

{normalization}
"""
import torch
from torch import nn


class Residual(nn.Module):
    """output = body(x) + shortcut(x); an empty shortcut is the identity."""

    def __init__(self, body, shortcut):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class Concat(nn.Module):
    """Runs each branch on x and concatenates the outputs along channels."""

    def __init__(self, *branches):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], dim=1)


class Net(nn.Module):
    """Input: (N, {input})."""

    # (x - mean) / std per channel, before the first layer
    mean = torch.tensor({mean}).view(1, -1{view})
    std = torch.tensor({std}).view(1, -1{view})

    def __init__(self):
        super().__init__()
        self.layers = {layers}
        self.softmax = {softmax}

    def logits(self, x):
        """The scores before the softmax: what nn.CrossEntropyLoss takes (it applies the softmax itself)."""
        return self.layers((x - self.mean.to(x)) / self.std.to(x))

    def forward(self, x):
        return self.softmax(self.logits(x))
'''


def _module(layer, indent: int) -> str:
    """The layer's PyTorch module (Layer.torch_module), its nested sequences indented."""
    return layer.torch_module(lambda seq: " " * (indent + 4) + _sequential(seq, indent + 4))


def _printable(text) -> str:
    """Text safe in a comment of the generated source: a line break in a layer
    name must not start a line of code."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _sequential(seq, indent: int) -> str:
    if not seq.layers:
        return "nn.Identity()" if indent else "nn.Sequential()"
    pad = " " * (indent + 4)
    lines = []
    for i, layer in enumerate(seq.layers):
        label = f"  # {i}: {layer.path}" + (f" ({_printable(layer.name)})" if layer.name else "")
        frozen = ".requires_grad_(False)" if layer.params and not layer.trainable else ""  # trainable: false
        lines.append(f"{pad}{_module(layer, indent + 4)}{frozen},{label}")
    return "nn.Sequential(\n" + "\n".join(lines) + f"\n{' ' * indent})"


_NAMES = {
    "W": "weight",
    "b": "bias",
    "gamma": "weight",
    "beta": "bias",
    "running_mean": "running_mean",
    "running_var": "running_var",
    "num_batches_tracked": "num_batches_tracked",
}


def _state(seq, prefix: str, out: dict) -> None:
    for i, layer in enumerate(seq.layers):
        here = f"{prefix}.{i}"
        for part, child in layer.torch_children() if isinstance(layer, Block) else []:
            _state(child, f"{here}.{part}", out)
        for n, v in list(layer.params.items()) + list(layer.buffers.items()):
            out[f"{here}.{_NAMES[n]}"] = np.array(v, np.int64 if n == "num_batches_tracked" else v.dtype)


def to_pytorch(net: Network, title: str = "Net", mean=None, std=None) -> tuple[str, dict[str, np.ndarray]]:
    """(Python source defining class Net, state_dict arrays keyed as Net().state_dict()).

    Net.logits(x) is the network up to a trailing softmax, Net(x) applies that softmax too: the
    engine folds a trailing softmax into its loss, and so must a PyTorch user (nn.CrossEntropyLoss
    on the logits), or the softmax would be applied twice. `mean` and `std`, one per channel, are
    the normalisation of the data the network was trained on (Dataset.mean, .std); Net applies it,
    so it takes pixel values / 255 as the playground's datasets give them. Without them Net takes
    inputs already normalised."""
    title = _printable(title).replace("\\", "\\\\").replace('"', '\\"')  # inside a docstring
    channels = net.input_shape[0] if len(net.input_shape) == 3 else 1
    given = input_normalization(net, mean, std)  # checked as every export checks it
    mean = given[0].reshape(-1).astype(float).tolist() if given else [0.0] * channels
    std = given[1].reshape(-1).astype(float).tolist() if given else [1.0] * channels
    if given:
        normalization = (
            "Net normalises its input with the training data's mean and std per channel,\n"
            f"mean {mean}, std {std}: give it pixel values / 255."
        )
    else:
        normalization = "Net takes inputs as the network's first layer saw them (mean 0, std 1: no normalisation)."
    top = net.root.layers
    trunk = net.trunk if net.ends_in_softmax else net.root
    shape = ", ".join(map(str, net.input_shape))
    scale = "pixel values / 255" if given else "normalised as in training"
    source = _HEADER.format(
        title=title,
        input=shape,
        normalization=normalization,
        mean=mean,
        std=std,
        view=", 1" * (len(net.input_shape) - 1),
        layers=_sequential(trunk, 8),
        forward=f"probabilities = model(images)          # images : (N, {shape}), {scale}"
        if net.ends_in_softmax
        else f"logits = model(images)                 # images : (N, {shape}), {scale}\n"
        "    probabilities = torch.softmax(logits, dim=1)   # the network ends without a softmax",
        softmax=f"nn.Softmax(dim=1)  # {len(top) - 1}: {top[-1].path}"
        if net.ends_in_softmax
        else "nn.Identity()  # the network ends without a softmax",
    )
    state: dict[str, np.ndarray] = {}
    _state(trunk, "layers", state)
    return source, state
