"""Digits drawn on the canvas are prepared as MNIST's were before the network sees them."""

import numpy as np

from app.services.inspect import center_digit


def test_an_off_centre_small_digit_is_fitted_and_centred():
    canvas = np.zeros((280, 280))
    canvas[20:80, 200:215] = 255  # a small "1" in the top-right corner
    out = center_digit(canvas)
    ink = np.argwhere(out > 0)
    top, bottom = ink[:, 0].min(), ink[:, 0].max()
    assert bottom - top + 1 == 200  # its longer side fills 20/28 of the frame
    cy, cx = (np.indices(out.shape) * out).reshape(2, -1).sum(axis=1) / out.sum()
    assert abs(cy - 140) <= 1 and abs(cx - 140) <= 1
    assert out.max() <= 255 and out.min() >= 0


def test_an_empty_canvas_stays_empty():
    assert not center_digit(np.zeros((56, 56))).any()


def test_centring_helps_a_network_trained_on_strokes_read_off_centre_digits(client):
    net = client.post("/api/networks", json={"preset": "lenet5"}).json()["id"]
    run = client.post(
        f"/api/networks/{net}/runs", json={"dataset": "strokes", "epochs": 1, "lr": 0.05, "max_train": 3000}
    ).json()["id"]
    import time

    deadline = time.monotonic() + 120
    while (
        client.get(f"/api/runs/{run}").json()["status"] not in ("completed", "failed") and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    samples = client.get("/api/datasets/strokes/samples?split=test&n=40&format=array").json()["items"]
    rng = np.random.default_rng(0)
    hits = {False: 0, True: 0}
    read_in_place = 0  # the digits where the dataset has them: what centring should get back to
    for item in samples:
        digit = np.array(item["pixels"][0], dtype=np.float64)  # 28x28
        r = client.post(f"/api/networks/{net}/predict", json={"pixels": [digit.tolist()], "dataset": "strokes"})
        read_in_place += r.json()["predicted"] == item["label"]
        big = np.kron(digit, np.ones((6, 6)))  # a person draws large...
        canvas = np.zeros((280, 280))
        y, x = rng.integers(0, 280 - 168, 2)  # ...and anywhere on the pad
        canvas[y : y + 168, x : x + 168] = big
        small = canvas.reshape(56, 5, 56, 5).mean(axis=(1, 3))
        for center in (False, True):
            r = client.post(
                f"/api/networks/{net}/predict",
                json={"pixels": small.round().tolist(), "center": center, "dataset": "strokes"},
            )
            hits[center] += r.json()["predicted"] == item["label"]
    assert hits[True] >= 0.8 * read_in_place, (hits, read_in_place)
    assert hits[True] > hits[False], hits
