"""What every fast step shares: the layer(s) it runs, a cache of its own, and its checks."""

from __future__ import annotations


class FastStep:
    """Runs one layer (or a fused run of layers, see fusion.py) the fast way.

    It reads the layers' parameters and writes their gradients (layer.grads, which the
    optimizers read), but keeps what backward needs in its own cache, never in a layer's.
    """

    def __init__(self, *layers):
        self.layers = layers
        self.layer = layers[0]
        self.cache = None

    @property
    def path(self) -> str:
        """The path of the last layer run: its output is this step's output."""
        return self.layers[-1].path

    @property
    def out_shape(self) -> tuple:
        return self.layers[-1].out_shape

    def _saved(self, dy):
        """The forward cache, after checking backward may run (as Layer._saved)."""
        last = self.layers[-1]
        if self.cache is None:
            raise RuntimeError(
                f"{last.path} ({last.type}): backward called without a recorded forward pass; "
                "call forward(x, train=True) or forward(x, record=True) first"
            )
        expect = (dy.shape[0],) + self.out_shape
        if dy.shape != expect:
            raise ValueError(f"{last.path} ({last.type}): gradient has shape {dy.shape}, expected {expect}")
        return self.cache

    def forward(self, x, train=False, record=None):
        raise NotImplementedError

    def backward(self, dy, taps=None):
        """dy : the gradient at this step's output -> the gradient at its input. `taps`, when
        given, collects the gradient reaching each inner layer's output (a fused step's)."""
        raise NotImplementedError
