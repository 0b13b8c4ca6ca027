"""The fast path: how a network runs its layers when it trains or predicts.

Every layer in engine/layers/ computes its forward and backward the way the lecture writes
them (im2col and one matrix product for a convolution, plain NumPy for the rest): that is the
code to read. This package runs the same computation faster, and is tested to give the same
numbers (tests/engine/test_fast_path.py):

- FAST: a layer type -> its fast step (conv.py, conv_transpose.py, pool.py, norm.py,
  relu.py), which keeps the batch in cache-sized chunks, shares the work among threads
  (engine/parallel.py) and picks its kernels by shape (engine/kernels.py). Layer types not listed run as they are written.
- FUSED: a pair of layer types that run as one step (fusion.py's plan): a conv2d and the relu
  after it, the relu applied to each chunk of the conv's output while it is still in the cache.

Results do not depend on the thread count: chunks and channel blocks are chosen by shape,
and partial sums are added in the same order.

    with engine.fast.readable():   # run networks through the layers as they are written
        net.forward(x)             # (the gradient checks and the lessons do)
"""

from __future__ import annotations

import contextlib
import contextvars

from .conv import ConvReLU, FastConv2D
from .conv_transpose import FastConvTranspose2D
from .fusion import plan
from .norm import FastBatchNorm
from .pool import FastAvgPool2D, FastMaxPool2D
from .relu import FastReLU

FAST = {
    "conv2d": FastConv2D,
    "conv_transpose2d": FastConvTranspose2D,
    "maxpool2d": FastMaxPool2D,
    "avgpool2d": FastAvgPool2D,
    "batchnorm2d": FastBatchNorm,
    "batchnorm1d": FastBatchNorm,
    "relu": FastReLU,
}

FUSED = {
    ("conv2d", "relu"): ConvReLU,
}

_READABLE = contextvars.ContextVar("readable", default=False)


def is_on() -> bool:
    """Whether networks run through the fast path here (not inside `readable()`)."""
    return not _READABLE.get()


@contextlib.contextmanager
def readable():
    """Within this block (in this thread), networks run every layer's readable forward and
    backward, one layer after another: no fast steps, no fusion."""
    token = _READABLE.set(True)
    try:
        yield
    finally:
        _READABLE.reset(token)


__all__ = ["FAST", "FUSED", "ConvReLU", "FastConv2D", "is_on", "plan", "readable"]
