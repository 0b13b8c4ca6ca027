"""Gradients with respect to the input, put to two uses: feature visualization (gradient ascent
on the input until one unit answers strongly, with jitter, blur and L2 decay to keep the image
natural) and adversarial examples (the fast gradient sign method).

Both work on the network's inputs as it sees them (normalized), one image per row of a batch;
the caller says which values are valid pixels (`lo`, `hi`, one per channel).
"""

from __future__ import annotations

import time

import numpy as np

from .losses import cross_entropy, log_softmax


# ---- the layers up to one ---------------------------------------------------------------------
def layers_to(net, path: str) -> list:
    """The layers that compute `path`'s output from the input, in order: the top-level layers
    before it and, for a layer inside a block, the layers before it in its own branch (the rest
    of the block does not reach it). KeyError when the network has no such layer."""

    def find(seq):
        for i, layer in enumerate(seq.layers):
            if layer.path == path:
                return seq.layers[: i + 1]
            for child in layer.children():
                inner = find(child)
                if inner is not None:
                    return seq.layers[:i] + inner
        return None

    found = find(net.root)
    if found is None:
        raise KeyError(path)
    return found


def macs_to(layers: list) -> int:
    """Multiply-adds of one example through `layers`, blocks counted by what they hold."""

    def count(layer):
        inner = sum(count(l) for seq in layer.children() for l in seq.layers)
        return layer.macs() + inner

    return sum(count(layer) for layer in layers)


def unit_gradient(
    layers: list, x: np.ndarray, units: np.ndarray, centre: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Each image's unit and its gradient: for x : (N, *input_shape) and units : (N,), the output
    of `layers` for image n at channel units[n], shape (N,), and its gradient with respect to x,
    shaped like x. On a map the channel's value is its mean over all positions, or with
    `centre` its value at the middle position (one unit, reading one patch of the input).
    Evaluation mode (batch norm on its running statistics, no dropout); the layers' caches and
    gradients are left for the caller to reset."""
    y = x
    for layer in layers:
        y = layer.forward(y, False, True)
    rows = np.arange(len(units))
    dy = np.zeros_like(y)
    if centre and y.ndim == 4:
        h, w = (y.shape[2] - 1) // 2, (y.shape[3] - 1) // 2
        value = y[rows, units, h, w]
        dy[rows, units, h, w] = 1.0
    else:
        picked = y[rows, units].reshape(len(units), -1)
        value = picked.mean(axis=1)
        dy[rows, units] = 1.0 / picked.shape[1]  # d(mean)/d(each position)
    for layer in reversed(layers):
        dy = layer.backward(dy)
    return value.astype(np.float64), dy


# ---- feature visualization --------------------------------------------------------------------
def gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Blur each (H, W) plane of x : (N, C, H, W) with a Gaussian of `sigma` pixels (edges
    reflected). Separable: one pass down the rows, one across the columns."""
    if sigma <= 0:
        return x
    r = max(1, int(np.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = (k / k.sum()).astype(x.dtype)
    h, w = x.shape[2:]
    pad = np.pad(x, ((0, 0), (0, 0), (r, r), (0, 0)), mode="reflect" if h > r else "edge")
    x = sum(k[i] * pad[:, :, i : i + h, :] for i in range(2 * r + 1))
    pad = np.pad(x, ((0, 0), (0, 0), (0, 0), (r, r)), mode="reflect" if w > r else "edge")
    return sum(k[i] * pad[:, :, :, i : i + w] for i in range(2 * r + 1))


def _per_channel(v, x: np.ndarray) -> np.ndarray:
    """A number per channel, shaped to broadcast over x : (N, C, ...)."""
    v = np.asarray(v, dtype=x.dtype)
    return v.reshape((1, -1) + (1,) * (x.ndim - 2)) if v.ndim else v


KICK = 0.5  # noise, in the input's normalized units, that shakes an image with no gradient


def ascend(
    net,
    path: str,
    units,
    x0: np.ndarray,
    *,
    steps: int,
    lr: float,
    jitter: int,
    blur: float,
    l2: float,
    lo,
    hi,
    rng: np.random.Generator,
    centre: bool = False,
    deadline: float | None = None,
) -> dict:
    """Feature visualization: from x0 : (N, *input_shape), gradient ascent on each image so that
    its unit (units[n], a channel of `path`'s output: its mean over the map, or with `centre` the
    unit in the middle of the map) answers as strongly as it can. Each step:

    1. jitter: shift the image by up to `jitter` pixels (the same random shift for every image),
       so that what grows must work wherever it lands, not only on one pixel grid;
    2. step up the gradient, normalized to a root mean square of 1 per image, so `lr` is how far
       a typical pixel moves, in the input's normalized units;
    3. L2 decay: shrink every value by the fraction `l2` towards 0 (after normalization 0 is
       the dataset's mean), so only what the unit needs survives;
    4. blur with a Gaussian of `blur` pixels, which damps the high-frequency patterns a network
       answers to but a person does not see as anything;
    5. clip to the valid pixel range [lo, hi] (per channel).

    An image whose unit has no gradient at all (every ReLU before it closed: a trained first
    layer often has negative biases, so a flat grey start excites nothing) cannot climb; it is
    shaken instead, by adding noise of KICK standard deviations, until a path opens.

    Stops early, after a whole step, once time.monotonic() passes `deadline`.
    Returns {"images": (N, *input_shape), "history": (steps run, N) the activation at each step
    before its update, "final": (N,) the activation of the final images, unshifted, "steps"}.
    """
    layers = layers_to(net, path)
    units = np.asarray(units, dtype=np.int64)
    x = np.asarray(x0, dtype=net.dtype).copy()
    lo, hi = _per_channel(lo, x), _per_channel(hi, x)
    image = x.ndim == 4
    history = []
    for _ in range(steps):
        shift = tuple(int(s) for s in rng.integers(-jitter, jitter + 1, size=2)) if image and jitter > 0 else (0, 0)
        value, g = unit_gradient(layers, np.roll(x, shift, axis=(2, 3)) if image else x, units, centre)
        g = np.roll(g, (-shift[0], -shift[1]), axis=(2, 3)) if image else g
        history.append(value)
        rms = np.sqrt((g.astype(np.float64) ** 2).reshape(len(x), -1).mean(axis=1))
        x = x + (lr / (rms + 1e-12)).astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1)) * g
        dead = rms == 0
        if dead.any():
            x[dead] += (KICK * rng.standard_normal(x[dead].shape)).astype(x.dtype)
        x = x * (1 - l2)
        if image:
            x = gaussian_blur(x, blur)
        x = np.clip(x, lo, hi).astype(net.dtype, copy=False)
        if deadline is not None and time.monotonic() > deadline:
            break
    final, _ = unit_gradient(layers, x, units, centre)
    for layer in layers:
        layer.cache = None
    return {"images": x, "history": np.array(history).reshape(-1, len(units)), "final": final, "steps": len(history)}


# ---- adversarial examples ---------------------------------------------------------------------
def loss_gradient(net, x: np.ndarray, y) -> tuple[np.ndarray, np.ndarray]:
    """The cross-entropy loss of each image of x : (N, *input_shape) with its label y : (N,),
    shape (N,), and the gradient of each image's own loss with respect to it, shaped like x.
    Evaluation mode; layer gradients and caches are left for the caller to reset."""
    y = np.asarray(y, dtype=np.int64)
    z = net.logits(x, train=False, record=True)
    _, dz = cross_entropy(z, y)
    dx = net.trunk.backward(dz * len(y))  # the mean's 1/N undone: each image's own loss
    logp = log_softmax(z.astype(np.float64))
    return -logp[np.arange(len(y)), y], dx


def perturb(x: np.ndarray, sign: np.ndarray, eps, lo, hi) -> np.ndarray:
    """x + eps * sign, clipped to [lo, hi]; eps, lo and hi are numbers or one per channel."""
    return np.clip(x + _per_channel(eps, x) * sign, _per_channel(lo, x), _per_channel(hi, x))


def fgsm(net, x: np.ndarray, y, eps, lo, hi, targeted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The fast gradient sign method (Goodfellow, Shlens and Szegedy, 2015): one step of size
    eps on every input value in the direction that raises the loss of label y (untargeted), or
    lowers the loss of target class y (targeted), clipped to the valid range [lo, hi].
    Returns (the perturbed x, the step's direction: +1, -1 or 0 per value)."""
    _, g = loss_gradient(net, x, y)
    direction = -np.sign(g) if targeted else np.sign(g)
    return perturb(x, direction, eps, lo, hi), direction
