"""The fusion pass: a sequence of layers -> the steps that run it.

Each layer becomes its fast step (FAST), or stays itself when it has none; where two layers
in a row have a fused step (FUSED) and fusing is allowed, the pair becomes that one step,
with a cache of its own. Fusing is off when a caller asks for every layer's output (taps):
a fused pair never holds its first layer's output.
"""

from __future__ import annotations


def plan(layers: list, fuse: bool = True) -> list:
    """layers (one Sequence's, in order) -> steps, each with forward(x, train, record) and
    backward(dy) (a block's and a fast step's also take taps)."""
    from . import FAST, FUSED, is_on

    if not is_on():
        return list(layers)
    steps, i = [], 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        pair = FUSED.get((layer.type, nxt.type)) if fuse and nxt is not None else None
        if pair is not None:
            steps.append(pair(layer, nxt))
            i += 2
            continue
        fast = FAST.get(layer.type)
        steps.append(fast(layer) if fast is not None else layer)
        i += 1
    return steps
