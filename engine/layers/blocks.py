"""Containers: a sequence of layers, a residual block and a concat (Inception) block.

Each passes `taps` down: a dict that, when given, collects every layer's
output in forward (the feature maps) and the gradient reaching every
layer's output in backward, keyed by the layer's path.
"""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from .base import Layer
from .fields import Field


class Sequence:
    """Layers applied one after another; not a spec type of its own.

    It runs them through the fast path (engine/fast): the steps fusion.plan makes of its
    layers, built once and kept (they keep their work arrays between training steps)."""

    def __init__(self, layers: list[Layer], in_shape: tuple):
        self.layers = layers
        self.in_shape = tuple(in_shape)
        self.out_shape = layers[-1].out_shape if layers else self.in_shape
        self._plans: dict[tuple, list] = {}  # (fused, fast) -> steps
        self.steps: list = []  # the steps of the last forward, which backward runs back

    def plan(self, fuse: bool) -> list:
        from .. import fast

        key = (fuse, fast.is_on())
        if key not in self._plans:
            self._plans[key] = fast.plan(self.layers, fuse)
        return self._plans[key]

    def forward(self, x, train=False, record=None, taps=None):
        """Step by step. Pairs that fuse (a conv2d and its relu) run as one step unless taps
        are asked for: the same numbers, fewer trips to memory."""
        self.steps = self.plan(fuse=taps is None)
        for step in self.steps:
            if isinstance(step, Block):
                x = step.forward(x, train, record, taps=taps)
            else:
                x = step.forward(x, train, record)
            if taps is not None:
                taps[step.path] = x
        return x

    def backward(self, dy, taps=None):
        for step in reversed(self.steps or self.plan(fuse=True)):  # never run: backward says so
            if taps is not None:
                taps[step.path] = dy
            if isinstance(step, Layer):  # a layer as it is written (a block passes taps on)
                dy = step.backward(dy, taps=taps) if isinstance(step, Block) else step.backward(dy)
            else:  # a fast step: a fused one records its inner layers' gradients in taps
                dy = step.backward(dy, taps)
        return dy  # None when the first layer was told no one needs dL/dx

    def walk(self):
        """Every layer, depth first, blocks before their children."""
        for layer in self.layers:
            yield layer
            for seq in layer.children():
                yield from seq.walk()


class Block(Layer):
    """A layer made of nested sequences."""

    def __init__(self, in_shape, path, cfg, depth):
        super().__init__(in_shape, path, cfg)
        self.depth = depth

    def torch_children(self) -> list:
        """(attribute path in the PyTorch module, nested sequence) for each child."""
        return []

    def _build(self, specs, prefix):
        from .registry import build_sequence

        return build_sequence(specs, self.in_shape, prefix, self.depth + 1)


class Residual(Block):
    type = "residual"
    summary_doc = "output = body(x) + shortcut(x); the gradient flows through the sum unchanged to both"
    fields = (
        Field("body", "layers", required=True, help="the layers of the residual branch"),
        Field("shortcut", "layers", default=[], help="layers on the skip path; empty means identity"),
    )

    def __init__(self, in_shape, path, cfg, depth=0):
        super().__init__(in_shape, path, cfg, depth)
        self.body = self._build(cfg["body"], f"{path}.body")
        self.shortcut = self._build(cfg["shortcut"], f"{path}.shortcut")
        b, s = self.body.out_shape, self.shortcut.out_shape
        if b != s:
            if len(b) == len(s) == 3 and b[0] != s[0]:
                why = (
                    f"channel mismatch in a residual sum: body gives {b[0]} channels, "
                    f"shortcut gives {s[0]}; add a 1x1 conv2d with out_channels {b[0]} to the shortcut"
                )
            elif len(b) == len(s) == 3:
                why = (
                    f"spatial mismatch in a residual sum: body gives {b[1]}x{b[2]}, shortcut gives "
                    f"{s[1]}x{s[2]}; give the shortcut the same stride as the body"
                )
            else:
                why = f"shape mismatch in a residual sum: body gives {b}, shortcut gives {s}"
            raise SpecError(path, why)
        self.out_shape = b

    def children(self):
        return [self.body, self.shortcut]

    def torch_children(self):
        return [("body", self.body), ("shortcut", self.shortcut)]

    def torch_module(self, nested):
        return f"Residual(\n{nested(self.body)},\n{nested(self.shortcut)})"

    def forward(self, x, train=False, record=None, taps=None):
        return self.body.forward(x, train, record, taps) + self.shortcut.forward(x, train, record, taps)

    def backward(self, dy, taps=None):
        return self.body.backward(dy, taps) + self.shortcut.backward(dy, taps)


class Concat(Block):
    type = "concat"
    summary_doc = "runs each branch on the same input and stacks their outputs along channels"
    fields = (Field("branches", "branches", required=True, help="a list of layer lists, run side by side"),)

    def __init__(self, in_shape, path, cfg, depth=0):
        super().__init__(in_shape, path, cfg, depth)
        self.branches = [self._build(b, f"{path}.branches[{i}]") for i, b in enumerate(cfg["branches"])]
        shapes = [b.out_shape for b in self.branches]
        for i, s in enumerate(shapes):
            if len(s) != 3:
                raise SpecError(path, f"branch {i} gives {s}; concat joins (C, H, W) maps along channels")
            if s[1:] != shapes[0][1:]:
                raise SpecError(
                    path,
                    f"spatial mismatch in a concat: branch 0 gives {shapes[0][1]}x{shapes[0][2]}, "
                    f"branch {i} gives {s[1]}x{s[2]}; all branches must keep the same height and width",
                )
        self.splits = np.cumsum([s[0] for s in shapes])[:-1].tolist()
        self.out_shape = (sum(s[0] for s in shapes),) + shapes[0][1:]

    def children(self):
        return list(self.branches)

    def torch_children(self):
        return [(f"branches.{i}", b) for i, b in enumerate(self.branches)]

    def torch_module(self, nested):
        return "Concat(\n" + ",\n".join(nested(b) for b in self.branches) + ")"

    def forward(self, x, train=False, record=None, taps=None):
        return np.concatenate([b.forward(x, train, record, taps) for b in self.branches], axis=1)

    def backward(self, dy, taps=None):
        parts = np.split(dy, self.splits, axis=1)
        dx = None
        for b, d in zip(self.branches, parts):
            g = b.backward(np.ascontiguousarray(d), taps)
            dx = g if dx is None else dx + g
        return dx
