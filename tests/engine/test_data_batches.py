"""Dataset.normalize, Dataset.batches and Augment."""

import numpy as np
import pytest

from engine.data import Augment, Dataset, DatasetError


def _ds(n=53, c=1, h=8, w=8, kind="images", seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, c, h, w), dtype=np.uint8)
    y = np.arange(n) % 3
    return Dataset.from_arrays("t", ["a", "b", "c"], x, y, x[:5], y[:5], kind=kind)


def test_stats_and_normalize():
    ds = _ds(c=3)
    np.testing.assert_allclose(ds.mean, (ds.x_train / 255).mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(ds.std, (ds.x_train / 255).std(axis=(0, 2, 3)), rtol=1e-4)
    z = ds.normalize(ds.x_train)
    assert z.dtype == np.float32 and z.shape == ds.x_train.shape
    np.testing.assert_allclose(z.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 2, 3)), 1, atol=1e-4)
    one = ds.normalize(ds.x_train[0].astype(np.float64))
    np.testing.assert_allclose(one[0], z[0], rtol=1e-6)
    with pytest.raises(DatasetError):
        ds.normalize(np.zeros((2, 1, 8, 8)))


def test_batches_cover_every_example_once():
    ds = _ds()
    rng = np.random.default_rng(0)
    sizes = []
    marker = ds.x_train[:, 0, 0, 0].astype(np.int64) * 1000 + np.arange(len(ds.x_train)) % 1000
    lookup = {int(v): i for i, v in enumerate(marker)}
    assert len(lookup) == len(marker)
    orders = []
    for _epoch in range(2):
        order = []
        for xb, yb in ds.batches(ds.x_train, ds.y_train, 10, rng):
            assert xb.dtype == np.float32 and yb.dtype == np.int64
            assert xb.shape[1:] == (1, 8, 8) and len(xb) == len(yb)
            sizes.append(len(xb))
            raw = np.rint((xb * ds.std[0] + ds.mean[0]) * 255).astype(np.int64)
            for r, label in zip(raw, yb):
                # find the example by its pixels
                idx = np.nonzero((ds.x_train.reshape(len(ds.x_train), -1) == r.reshape(-1)).all(axis=1))[0]
                assert len(idx) == 1 and ds.y_train[idx[0]] == label
                order.append(int(idx[0]))
        assert sorted(order) == list(range(53))
        orders.append(order)
    assert sizes[:6] == [10, 10, 10, 10, 10, 3]
    assert orders[0] != orders[1] and orders[0] != list(range(53))  # shuffled, differently each epoch
    seen = [int(i) for xb, _ in ds.batches(ds.x_train, ds.y_train, 7, rng, shuffle=False) for i in range(len(xb))]
    assert len(seen) == 53
    first = next(ds.batches(ds.x_train, ds.y_train, 4, rng, shuffle=False))[0]
    np.testing.assert_allclose(first, ds.normalize(ds.x_train[:4]), rtol=1e-6)


def test_batches_reproducible_with_same_seed():
    ds = _ds()
    a = [yb for _, yb in ds.batches(ds.x_train, ds.y_train, 8, np.random.default_rng(3), augment=Augment(shift=2))]
    b = [yb for _, yb in ds.batches(ds.x_train, ds.y_train, 8, np.random.default_rng(3), augment=Augment(shift=2))]
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


def test_bad_batch_args():
    ds = _ds()
    with pytest.raises(DatasetError):
        next(ds.batches(ds.x_train, ds.y_train, 0, np.random.default_rng(0)))
    with pytest.raises(DatasetError):
        next(ds.batches(ds.x_train, ds.y_train[:-1], 4, np.random.default_rng(0)))


def test_digits_refuse_flip():
    ds = _ds(kind="digits")
    with pytest.raises(DatasetError, match="flip"):
        next(ds.batches(ds.x_train, ds.y_train, 4, np.random.default_rng(0), augment=Augment(flip=True)))
    next(ds.batches(ds.x_train, ds.y_train, 4, np.random.default_rng(0), augment=Augment(shift=2, noise=0.1)))
    _ds(kind="images").check_augment(Augment(flip=True))


@pytest.mark.parametrize(
    "aug",
    [
        Augment(),
        Augment(shift=3),
        Augment(crop=True),
        Augment(flip=True),
        Augment(noise=0.2),
        Augment(shift=2, crop=True, flip=True, noise=0.05),
    ],
)
def test_augment_shapes(aug):
    x = np.random.default_rng(0).random((16, 3, 32, 32)).astype(np.float32)
    out = aug.apply(x, np.random.default_rng(1))
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert not np.shares_memory(out, x)


def test_shift_moves_content_and_fills_black():
    x = np.zeros((200, 1, 9, 9), np.float32)
    x[:, 0, 4, 4] = 1.0
    out = Augment(shift=2).apply(x, np.random.default_rng(0))
    pos = np.argwhere(out[:, 0] == 1.0)
    assert len(pos) == 200  # the dot is always kept (shift 2 from the centre stays inside)
    dy, dx = pos[:, 1] - 4, pos[:, 2] - 4
    assert set(dy) == set(dx) == {-2, -1, 0, 1, 2}
    assert out.sum() == 200


def test_crop_like_cifar():
    x = np.ones((500, 3, 32, 32), np.float32)
    out = Augment(crop=True).apply(x, np.random.default_rng(0))
    zeros_rows = (out[:, 0].max(axis=2) == 0).sum(axis=1)
    assert zeros_rows.max() == 4 and zeros_rows.min() == 0


def test_flip_flips_about_half():
    x = np.zeros((400, 1, 4, 4), np.float32)
    x[:, 0, :, 0] = 1.0
    out = Augment(flip=True).apply(x, np.random.default_rng(0))
    flipped = out[:, 0, 0, 3] == 1.0
    assert 150 < flipped.sum() < 250
    assert (out[~flipped, 0, :, 0] == 1).all()


def test_noise_std():
    x = np.full((50, 1, 32, 32), 0.5, np.float32)
    out = Augment(noise=0.1).apply(x, np.random.default_rng(0))
    assert abs(out.std() - 0.1) < 0.01


@pytest.mark.parametrize("kwargs", [{"shift": -1}, {"shift": 1.5}, {"noise": -0.1}, {"noise": float("nan")}])
def test_augment_validation(kwargs):
    with pytest.raises(DatasetError):
        Augment(**kwargs)
