"""What augmentation does to a few samples, before training: the very code training runs.

Training scales each batch to 0..1 and hands it to engine's Augment with the run's
random stream (Dataset.batches). The preview does the same to the same few images,
with a generator seeded by the request, once per copy in turn: the same seed and
settings give the same pictures, and a new seed gives new draws.
"""

from __future__ import annotations

import numpy as np

from engine.data import Augment, Dataset, DatasetError

from ..errors import Invalid
from .datasets import _image_png as image_png


def augmented_copies(x: np.ndarray, augment: Augment, seed: int, copies: int) -> list[np.ndarray]:
    """`copies` augmentations of the uint8 images x (N, C, H, W), on the 0..1 scale, drawn in turn
    from one generator seeded with `seed`."""
    scaled = np.asarray(x).astype(np.float32) * np.float32(1.0 / 255.0)  # as Dataset.batches does
    rng = np.random.default_rng(seed)
    return [augment.apply(scaled, rng) for _ in range(copies)]


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def preview(ds: Dataset, augment: dict, seed: int, n: int, copies: int, split: str = "train", offset: int = 0) -> dict:
    """n images from `offset` of a split, each as it is and as `copies` augmented draws (PNG data
    URLs)."""
    try:
        aug = Augment(**augment)
        ds.check_augment(aug)
    except DatasetError as e:
        raise Invalid(str(e)) from None
    x = ds.x_train if split == "train" else ds.x_test
    y = ds.y_train if split == "train" else ds.y_test
    if not 0 <= offset < len(x):
        raise Invalid(f"offset {offset} is out of range: the {split} split of {ds.name!r} has {len(x)} images")
    images = np.asarray(x[offset : offset + n])
    drawn = [to_uint8(c) for c in augmented_copies(images, aug, seed, copies)]
    samples = []
    for i, img in enumerate(images):
        label = int(y[offset + i])
        name = ds.class_names[label] if 0 <= label < ds.num_classes else str(label)
        samples.append(
            {
                "index": offset + i,
                "label": label,
                "class_name": name,
                "original": image_png(img),
                "augmented": [image_png(c[i]) for c in drawn],
            }
        )
    return {
        "dataset": ds.name,
        "split": split,
        "seed": seed,
        "augment": aug.to_dict(),
        "active": aug.active,
        "samples": samples,
    }
