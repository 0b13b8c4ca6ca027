"""Vectorised per-batch data augmentation on float images in the [0, 1] scale."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..options import check_options, option
from .base import DatasetError

MAX_SHIFT = 16  # pixels: a larger shift moves a 28x28 digit mostly out of its image
MAX_NOISE = 1.0  # standard deviation on the [0, 1] scale


def _gather_windows(padded: np.ndarray, oy: np.ndarray, ox: np.ndarray, h: int, w: int) -> np.ndarray:
    """Crop an (h, w) window at per-example offsets (oy, ox) from padded (B, C, H', W')."""
    b, c = padded.shape[:2]
    rows = oy[:, None] + np.arange(h)[None, :]  # (B, h)
    cols = ox[:, None] + np.arange(w)[None, :]  # (B, w)
    bi = np.arange(b)[:, None, None, None]
    ci = np.arange(c)[None, :, None, None]
    return padded[bi, ci, rows[:, None, :, None], cols[:, None, None, :]]


@dataclass(frozen=True)
class Augment:
    """Random augmentation applied to each mini-batch.

    shift: maximum translation in pixels (each example moved by an integer in
        [-shift, shift] on both axes, uncovered pixels become 0 / black).
    crop: CIFAR-style: pad 4 pixels of zeros and take a random crop of the original size.
    flip: random horizontal flip with probability 0.5 (refused for digit datasets).
    noise: standard deviation of Gaussian noise added on the [0, 1] scale (result clipped).
    """

    shift: int = option("int", 0, "move each image by up to this many pixels", min=0, max=MAX_SHIFT)
    crop: bool = option("bool", False, "pad 4 pixels and crop at random, as for CIFAR-10")
    flip: bool = option("bool", False, "mirror left-right at random (not for digits)")
    noise: float = option("float", 0.0, "standard deviation of noise on the 0..1 scale", min=0.0, max=MAX_NOISE)

    def __post_init__(self) -> None:
        check_options(self, DatasetError, "augment ")

    @property
    def active(self) -> bool:
        return bool(self.shift or self.crop or self.flip or self.noise > 0)

    def to_dict(self) -> dict:
        return {"shift": int(self.shift), "crop": bool(self.crop), "flip": bool(self.flip), "noise": float(self.noise)}

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return an augmented float32 copy of x (B, C, H, W), values in [0, 1]."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 4:
            raise DatasetError(f"augment expects a batch (B, C, H, W), got shape {x.shape}")
        b, _, h, w = x.shape
        if b == 0 or not self.active:
            return x.copy()
        pad = max(int(self.shift), 4 if self.crop else 0)
        if pad:
            padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            if self.crop:
                # random crop inside the padded image; shift (if larger) widens the range
                oy = rng.integers(0, 2 * pad + 1, size=b)
                ox = rng.integers(0, 2 * pad + 1, size=b)
            else:
                s = int(self.shift)
                oy = pad + rng.integers(-s, s + 1, size=b)
                ox = pad + rng.integers(-s, s + 1, size=b)
            x = _gather_windows(padded, oy, ox, h, w)
        else:
            x = x.copy()
        if self.flip:
            flip = rng.random(b) < 0.5
            x[flip] = x[flip, :, :, ::-1]
        if self.noise > 0:
            x += rng.normal(0.0, float(self.noise), size=x.shape).astype(np.float32)
            np.clip(x, 0.0, 1.0, out=x)
        return np.ascontiguousarray(x, dtype=np.float32)
