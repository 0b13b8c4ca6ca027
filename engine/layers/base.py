"""The Layer base class: a forward and a backward, side by side.

A layer is told its input shape (without the batch axis) when it is built,
checks its config against it and computes its output shape; no weights exist
until init_params, so shape inference for a summary allocates nothing.

forward(x, train, record) keeps what backward needs only when `record` is
true (by default, when training); backward(dy) asserts that cache exists,
fills self.grads with arrays shaped like self.params, and returns dx.
"""

from __future__ import annotations

import numpy as np

from .fields import Field


class Layer:
    type: str = ""
    fields: tuple[Field, ...] = ()
    has_params = False
    summary_doc = ""
    # False while the network trains and this layer is its first: nobody needs dL/dx of the
    # data, so layers that can skip computing it (conv2d, linear) do and return None
    needs_input_grad = True

    def __init__(self, in_shape: tuple, path: str, cfg: dict):
        self.in_shape = tuple(in_shape)
        self.path = path
        self.cfg = cfg
        self.name = cfg.get("name")
        self.trainable = cfg.get("trainable", True)
        self.warnings: list[str] = []
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.cache = None
        self.out_shape: tuple = self.in_shape

    # ---- shape-level facts (no allocation) --------------------------------
    def param_shapes(self) -> dict[str, tuple]:
        """Parameter name -> shape (what init_params will allocate)."""
        return {}

    def buffer_shapes(self) -> dict[str, tuple]:
        """Non-trained state saved with the weights (batch norm's running stats)."""
        return {}

    def param_formula(self) -> str | None:
        """How the parameter count follows from the shapes, e.g. '20 x (5x5x3 + 1)'."""
        return None

    def macs(self) -> int:
        """Multiply-adds for one example."""
        return 0

    def window(self):
        """((kh, kw), (sh, sw), (ph, pw)) for layers that slide a window; else None."""
        return None

    def receptive_field(self, size: tuple, jump: tuple) -> tuple:
        """(size, jump) per axis after this layer from those before it (see summary.py): the
        receptive field r of one output and the distance j, in input pixels, between the
        receptive fields of neighbouring outputs. A window of K with stride S gives
        r' = r + (K - 1) j and j' = j S; a layer without a window changes neither."""
        w = self.window()
        if not w:
            return size, jump
        k, s, _ = w
        return (tuple(size[a] + (k[a] - 1) * jump[a] for a in range(2)), tuple(jump[a] * s[a] for a in range(2)))

    def children(self) -> list:
        """Nested sequences (residual and concat blocks)."""
        return []

    # ---- weights ----------------------------------------------------------
    def init_params(self, rng: np.random.Generator, dtype=np.float32) -> None:
        pass

    # ---- computation --------------------------------------------------------
    def forward(self, x: np.ndarray, train: bool = False, record: bool | None = None) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _saved(self, dy: np.ndarray):
        """The forward cache, after checking backward may run."""
        if self.cache is None:
            raise RuntimeError(
                f"{self.path} ({self.type}): backward called without a recorded forward pass; "
                "call forward(x, train=True) or forward(x, record=True) first"
            )
        expect = (dy.shape[0],) + self.out_shape
        if dy.shape != expect:
            raise ValueError(f"{self.path} ({self.type}): gradient has shape {dy.shape}, expected {expect}")
        return self.cache

    # ---- PyTorch export (engine/torch_export.py) ------------------------------
    def torch_module(self, nested) -> str:
        """The PyTorch module that computes what this layer does, as Python source
        (nested(seq) writes a nested sequence, for blocks)."""
        raise ValueError(f"no PyTorch equivalent for layer type {self.type!r}")

    def _check_grads(self):
        for k, g in self.grads.items():
            assert g.shape == self.params[k].shape, (self.path, k, g.shape, self.params[k].shape)

    def describe(self) -> str:
        return self.name or self.type
