"""The layers an input passes through to reach one layer's output, as one straight chain.

Inside a residual or concat block a layer sees only its own branch: a layer of a residual
body is reached through the layers before the block and the body's layers up to it, never
through the shortcut. The receptive field walks this chain backwards; the dropout view runs
it forwards to find what arrives at a dropout layer.
"""

from __future__ import annotations

import numpy as np

from engine.layers import Layer, Sequence


def layers_to(seq: Sequence, path: str) -> list[Layer] | None:
    """The layers from `seq`'s input to the output of the layer at `path`, in order (the
    layer last); None when `path` is not in `seq`."""
    for i, layer in enumerate(seq.layers):
        if layer.path == path:
            return seq.layers[: i + 1]
        for branch in layer.children():
            inner = layers_to(branch, path)
            if inner is not None:
                return seq.layers[:i] + inner
    return None


def run_chain(chain: list[Layer], in_shape: tuple, x: np.ndarray, record: bool) -> tuple:
    """x : (N, *in_shape) through the chain in evaluation mode -> (its output, the Sequence, to
    run backward when `record`)."""
    seq = Sequence(chain, in_shape)
    return seq.forward(x, False, record), seq
