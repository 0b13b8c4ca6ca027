"""POST /api/datasets/{name}/augment-preview: a few samples as they are and as augmentation draws
them, with the code a run trains with, seeded."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from engine.data import Augment, load_dataset


def pixels(data_url: str) -> np.ndarray:
    """A PNG data URL as a (C, H, W) uint8 array."""
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))))
    return image[None] if image.ndim == 2 else image.transpose(2, 0, 1)


def drawn_by_augment(x: np.ndarray, augment: dict, seed: int, copies: int) -> list[np.ndarray]:
    """What training does to a batch (Dataset.batches: scaled to 0..1, then Augment with the run's
    generator), here with a generator seeded by `seed`, once per copy, back on the 0..255 scale."""
    rng = np.random.default_rng(seed)
    scaled = x.astype(np.float32) * np.float32(1.0 / 255.0)
    return [
        np.clip(np.rint(Augment(**augment).apply(scaled, rng) * 255.0), 0, 255).astype(np.uint8) for _ in range(copies)
    ]


@pytest.mark.parametrize(
    "dataset,augment",
    [
        ("strokes", {"shift": 3, "noise": 0.15}),
        ("shapes", {"crop": True, "flip": True}),
        ("shapes", {"shift": 5, "flip": True, "noise": 0.05}),
    ],
)
def test_the_preview_is_augment_applied_with_that_seed(client, dataset, augment):
    body = {"augment": augment, "seed": 7, "n": 3, "copies": 4, "offset": 10}
    r = client.post(f"/api/datasets/{dataset}/augment-preview", json=body)
    assert r.status_code == 200, r.text
    preview = r.json()
    ds = load_dataset(dataset)
    x = ds.x_train[10:13]
    expected = drawn_by_augment(x, augment, seed=7, copies=4)
    assert [s["index"] for s in preview["samples"]] == [10, 11, 12]
    assert [s["label"] for s in preview["samples"]] == ds.y_train[10:13].tolist()
    for i, sample in enumerate(preview["samples"]):
        assert np.array_equal(pixels(sample["original"]), x[i])
        assert len(sample["augmented"]) == 4
        for k, png in enumerate(sample["augmented"]):
            assert np.array_equal(pixels(png), expected[k][i]), (i, k)
    assert preview["active"] and preview["augment"] == Augment(**augment).to_dict()
    # the same seed draws the same; another draws others
    assert client.post(f"/api/datasets/{dataset}/augment-preview", json=body).json() == preview
    other = client.post(f"/api/datasets/{dataset}/augment-preview", json={**body, "seed": 8}).json()
    assert other["samples"][0]["augmented"] != preview["samples"][0]["augmented"]


def test_without_augmentation_every_draw_is_the_image(client):
    r = client.post("/api/datasets/strokes/augment-preview", json={"n": 2, "copies": 2})
    preview = r.json()
    assert not preview["active"]
    for sample in preview["samples"]:
        assert sample["augmented"] == [sample["original"]] * 2


@pytest.mark.parametrize(
    "name,body,status,words",
    [
        ("strokes", {"augment": {"flip": True}}, 422, "flip"),  # refused for digits, as for a run
        ("strokes", {"augment": {"shift": 17}}, 422, "shift"),
        ("strokes", {"augment": {"spin": 3}}, 422, "spin"),
        ("strokes", {"copies": 9}, 422, "copies"),
        ("strokes", {"offset": 10**7}, 422, "out of range"),
        ("nope", {}, 404, "nope"),
    ],
)
def test_preview_errors_say_what_is_wrong(client, name, body, status, words):
    r = client.post(f"/api/datasets/{name}/augment-preview", json=body)
    assert r.status_code == status, r.text
    assert words in str(r.json()["detail"])
