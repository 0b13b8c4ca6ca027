"""The generated datasets: determinism, shapes, value ranges and speed (printed, not asserted)."""

import hashlib
import time

import numpy as np
import pytest

from engine.data import builtin_names, load_dataset
from engine.data.builtin import SHAPE_CLASSES, _styles, generate, generate_shapes, generate_strokes


def test_builtin_names():
    names = builtin_names()
    assert names[:2] == ["shapes", "strokes"]
    assert {"mnist", "fashion-mnist", "cifar10"} <= set(names)


@pytest.mark.parametrize("fn, shape", [(generate_shapes, (3, 32, 32)), (generate_strokes, (1, 28, 28))])
def test_deterministic_and_seed_dependent(fn, shape):
    x1, y1 = fn(300, 7)
    x2, y2 = fn(300, 7)
    x3, _ = fn(300, 8)
    assert x1.shape == (300, *shape) and x1.dtype == np.uint8
    assert y1.shape == (300,) and y1.dtype == np.int64
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


@pytest.mark.parametrize("name", ["shapes", "strokes"])
def test_timing_10k(name):
    t0 = time.perf_counter()
    x, y = generate(name, 10_000, 0, "train")
    dt = time.perf_counter() - t0
    print(f"\n{name}: generated 10,000 examples in {dt:.2f} s")
    assert len(x) == 10_000
    assert np.bincount(y).min() > 10_000 / len(np.unique(y)) * 0.8  # roughly balanced


def test_train_and_test_streams_differ():
    xa, _ = generate("strokes", 50, 3, "train")
    xb, _ = generate("strokes", 50, 3, "test")
    assert not np.array_equal(xa, xb)


def test_strokes_look_like_mnist():
    x, y = generate_strokes(500, 1)
    assert set(np.unique(y)) == set(range(10))
    img = x[:, 0].astype(np.float64)
    # a black border, if thinner than MNIST's (where ~1% of digits touch the outer pixel, ~12% the
    # outer two): strokes spread wider than MNIST on purpose, so that a network reads MNIST better
    for k, limit in ((1, 0.12), (2, 0.35)):
        ring = np.zeros((28, 28), bool)
        ring[:k] = ring[-k:] = True
        ring[:, :k] = ring[:, -k:] = True
        assert (img[:, ring].max(axis=1) > 0).mean() < limit
    assert 0.08 < img.mean() / 255 < 0.2  # mostly black, white strokes
    assert (img.max(axis=(1, 2)) == 255).all()
    # centre of mass near the image centre (MNIST digits are centred that way)
    ys, xs = np.mgrid[0:28, 0:28] + 0.5
    mass = img.sum(axis=(1, 2))
    cy = (img * ys).sum(axis=(1, 2)) / mass
    cx = (img * xs).sum(axis=(1, 2)) / mass
    assert np.abs(cy - 14).mean() < 1.5 and np.abs(cx - 14).mean() < 1.5
    # ink fits a 20x20-ish box
    ink = img > 64
    heights = ink.any(axis=2).sum(axis=1)
    widths = ink.any(axis=1).sum(axis=1)
    assert np.percentile(np.maximum(heights, widths), 95) <= 23
    assert np.median(heights) >= 19


def test_strokes_same_seed_same_bytes():
    def digest(seed, split):
        x, y = generate("strokes", 3000, seed, split)
        return hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()

    assert digest(4, "train") == digest(4, "train")
    assert digest(4, "test") == digest(4, "test")
    assert len({digest(4, "train"), digest(4, "test"), digest(5, "train")}) == 3


def test_every_digit_has_several_handwriting_styles():
    for digit, (cumulative, styles) in enumerate(_styles()):
        assert len(styles) >= 3, digit
        assert cumulative[-1] == 1 and np.all(np.diff(cumulative) > 0)
        for style in styles:
            # the pen's path is a weighted mean of control points, and passes through each end
            np.testing.assert_allclose(style.path.sum(axis=1), 1.0)
            assert style.path.shape[1] == len(style.control) == len(style.stroke_of)
            assert style.starts.max() < len(style.path) - 1


def test_strokes_vary_in_slant_and_pen_width():
    x, y = generate_strokes(2000, 3)
    img = x[:, 0].astype(np.float64) / 255
    ys, xs = np.mgrid[0:28, 0:28] + 0.5
    mass = img.sum(axis=(1, 2))
    cy = (img * ys).sum(axis=(1, 2)) / mass
    cx = (img * xs).sum(axis=(1, 2)) / mass
    dy, dx = ys - cy[:, None, None], xs - cx[:, None, None]
    slant = -(img * dx * dy).sum(axis=(1, 2)) / (img * dy**2).sum(axis=(1, 2))  # > 0: leans right
    ones = slant[y == 1]
    assert (ones > 0.3).mean() > 0.1 and (ones < -0.1).mean() > 0.05  # ones lean both ways
    assert np.mean(slant) > 0  # more lean right, as in most hands
    ink = (img > 0.5).sum(axis=(1, 2))
    for digit in range(10):
        low, high = np.percentile(ink[y == digit], [10, 90])
        assert high > 1.6 * low, digit  # thin pens and thick ones


def test_shapes_colour_does_not_give_class_away():
    x, y = generate_shapes(4000, 2)
    assert len(SHAPE_CLASSES) == 8 and set(np.unique(y)) == set(range(8))
    mean_rgb = np.stack([x[y == c].reshape(-1).mean() for c in range(8)])
    assert mean_rgb.max() - mean_rgb.min() < 12  # similar average brightness in every class
    # every image has real contrast between shape and background
    flat = x.reshape(len(x), 3, -1).astype(np.float64)
    assert (flat.std(axis=2).max(axis=1) > 10).all()


def test_load_dataset_defaults_and_n():
    ds = load_dataset("strokes", seed=5, n=200)
    assert (len(ds.x_train), len(ds.x_test)) == (200, 40)
    assert ds.kind == "digits" and ds.shape == (1, 28, 28) and ds.num_classes == 10
    assert ds.mean.shape == (1,) and ds.mean.dtype == np.float32
    np.testing.assert_allclose(ds.mean[0], ds.x_train.mean() / 255, rtol=1e-5)
    np.testing.assert_allclose(ds.std[0], (ds.x_train / 255).std(), rtol=1e-4)
    again = load_dataset("strokes", seed=5, n=200)
    np.testing.assert_array_equal(again.x_train, ds.x_train)
    sh = load_dataset("shapes", seed=1, n=100)
    assert sh.shape == (3, 32, 32) and sh.kind == "images" and sh.mean.shape == (3,)
    assert not ds.x_train.flags.writeable  # cached arrays are shared, so read-only
