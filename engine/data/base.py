"""Core dataset container: :class:`Dataset` and :class:`DatasetError`.

Images are stored as ``uint8`` arrays in NCHW layout; labels as ``int64``.
Normalisation statistics (per-channel ``mean`` and ``std``) are computed on the
training split in the ``[0, 1]`` scale (pixel / 255).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .augment import Augment

KINDS = ("digits", "images")


class DatasetError(ValueError):
    """A dataset could not be loaded or used. The message says what is wrong and how to fix it."""


def channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of a uint8 NCHW array, on the pixel/255 scale.

    Computed exactly from per-channel histograms, so memory use stays small even for
    CIFAR-sized arrays. A channel with zero spread gets std 1.0 (avoids division by 0).
    """
    if x.ndim != 4 or x.dtype != np.uint8:
        raise DatasetError(f"expected a uint8 array of shape (N, C, H, W), got {x.dtype} {x.shape}")
    c = x.shape[1]
    mean = np.zeros(c, dtype=np.float64)
    std = np.ones(c, dtype=np.float64)
    if x.shape[0] == 0 or x[0].size == 0:
        return mean.astype(np.float32), std.astype(np.float32)
    levels = np.arange(256, dtype=np.float64) / 255.0
    for ch in range(c):
        hist = np.bincount(x[:, ch].reshape(-1), minlength=256).astype(np.float64)
        total = hist.sum()
        m = float((hist * levels).sum() / total)
        var = float((hist * (levels - m) ** 2).sum() / total)
        mean[ch] = m
        s = np.sqrt(max(var, 0.0))
        std[ch] = s if s > 1e-6 else 1.0
    return mean.astype(np.float32), std.astype(np.float32)


@dataclass(eq=False)
class Dataset:
    """A labelled image dataset with train and test splits.

    ``x_train``/``x_test`` are uint8 arrays (N, C, H, W); ``y_train``/``y_test`` int64 (N,).
    ``mean``/``std`` are float32 (C,) on the pixel/255 scale, from the train split (or from
    the test split for a test-only dataset, see :attr:`test_only`).
    ``kind`` is ``"digits"`` (horizontal flips make no sense; never offered) or ``"images"``.
    """

    name: str
    class_names: list[str]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    kind: str = "images"
    source: str = ""  # "generated", "download", "file", "folder" ... (informational)
    description: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.class_names = [str(c) for c in self.class_names]
        for split in ("train", "test"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 4:
                raise DatasetError(f"x_{split} must be a uint8 array of shape (N, C, H, W)")
            if not isinstance(y, np.ndarray) or y.ndim != 1 or y.shape[0] != x.shape[0]:
                raise DatasetError(f"y_{split} must be a 1-D array with one label per image in x_{split}")
            if y.dtype != np.int64:
                setattr(self, f"y_{split}", y.astype(np.int64))
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise DatasetError(
                f"train images {self.x_train.shape[1:]} and test images {self.x_test.shape[1:]} differ in shape"
            )
        if self.kind not in KINDS:
            raise DatasetError(f"kind must be one of {KINDS}, got {self.kind!r}")
        self.mean = np.asarray(self.mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(self.std, dtype=np.float32).reshape(-1)
        if self.mean.shape != (self.shape[0],) or self.std.shape != (self.shape[0],):
            raise DatasetError("mean and std must have one value per channel")

    @classmethod
    def from_arrays(
        cls,
        name: str,
        class_names: list[str],
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_test: np.ndarray,
        y_test: np.ndarray,
        *,
        kind: str = "images",
        source: str = "",
        description: str = "",
        meta: dict | None = None,
    ) -> Dataset:
        """Build a dataset, computing mean/std on the train split (test split if train is empty)."""
        stats_from = x_train if len(x_train) else x_test
        mean, std = channel_stats(np.asarray(stats_from))
        return cls(
            name=name,
            class_names=list(class_names),
            x_train=x_train,
            y_train=np.asarray(y_train, dtype=np.int64),
            x_test=x_test,
            y_test=np.asarray(y_test, dtype=np.int64),
            mean=mean,
            std=std,
            kind=kind,
            source=source,
            description=description,
            meta=dict(meta or {}),
        )

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, int, int]:
        """Input shape (C, H, W)."""
        c, h, w = self.x_train.shape[1:]
        return int(c), int(h), int(w)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def test_only(self) -> bool:
        """True when the dataset has no training examples (e.g. only MNIST's t10k files)."""
        return len(self.x_train) == 0

    def summary(self) -> dict:
        """JSON-friendly description (no arrays)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "description": self.description,
            "shape": list(self.shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "train_size": int(len(self.x_train)),
            "test_size": int(len(self.x_test)),
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
        }

    def model_meta(self) -> dict:
        """What a saved network needs of the data it learnt, to read new images as training did:
        the dataset's name, its class names, and the mean and std its inputs were scaled by.
        Checkpoints and exports carry it (cnn-playground predict and evaluate read it back)."""
        return {
            "dataset": self.name,
            "classes": list(self.class_names),
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
        }

    # ------------------------------------------------------------------ data access
    def normalize(self, x: np.ndarray) -> np.ndarray:
        """Return ``(x / 255 - mean) / std`` as float32 NCHW.

        ``x`` is (N, C, H, W) or one example (C, H, W) (returned as (1, C, H, W)), uint8 or
        float **on the 0-255 scale** (the formula always divides by 255).
        """
        x = np.asarray(x)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or x.shape[1:] != self.shape:
            raise DatasetError(f"expected images of shape (N, {', '.join(map(str, self.shape))}), got {x.shape}")
        out = x.astype(np.float32) * np.float32(1.0 / 255.0)
        out -= self.mean.reshape(1, -1, 1, 1)
        out /= self.std.reshape(1, -1, 1, 1)
        return out

    def check_augment(self, augment: Augment | None) -> None:
        if augment is not None and augment.flip and self.kind == "digits":
            raise DatasetError(
                f"horizontal flips are not allowed for the digit dataset {self.name!r} "
                "(a flipped digit is a different symbol); use shift or noise instead"
            )

    def batches(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        rng: np.random.Generator,
        shuffle: bool = True,
        augment: Augment | None = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(xb, yb)``: float32 normalised images and int64 labels.

        One pass over ``x`` (every example exactly once, the last batch may be smaller),
        in a random order drawn from ``rng`` when ``shuffle``. ``augment`` is applied to the
        pixel/255 images before normalisation.
        """
        batch_size = int(batch_size)
        if batch_size < 1:
            raise DatasetError("batch_size must be at least 1")
        if len(x) != len(y):
            raise DatasetError(f"x has {len(x)} examples but y has {len(y)}")
        self.check_augment(augment)
        n = len(x)
        order = rng.permutation(n) if shuffle else np.arange(n)
        mean = self.mean.reshape(1, -1, 1, 1)
        std = self.std.reshape(1, -1, 1, 1)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            if not shuffle:
                idx = slice(start, start + batch_size)
            xb = np.asarray(x[idx]).astype(np.float32) * np.float32(1.0 / 255.0)
            if augment is not None:
                xb = augment.apply(xb, rng)
            xb -= mean
            xb /= std
            yield xb, np.asarray(y[idx], dtype=np.int64)
