"""Reading the real MNIST test set from /work/shared/datasets/mnist (skipped when absent)."""

from pathlib import Path

import numpy as np
import pytest

from engine.data import DatasetError, load_dataset
from engine.data import download as dl

MNIST_DIR = Path("/work/shared/datasets/mnist")
pytestmark = pytest.mark.skipif(
    not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(), reason="real MNIST test files not present"
)


def test_real_mnist_test_set_by_path():
    ds = load_dataset(MNIST_DIR)
    assert ds.test_only and ds.name == "mnist" and ds.kind == "digits"
    assert ds.x_test.shape == (10000, 1, 28, 28) and ds.x_test.dtype == np.uint8
    assert list(ds.y_test[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(ds.y_test).tolist()[:3] == [980, 1135, 1032]
    assert abs(float(ds.mean[0]) - 0.1325) < 0.001


def test_real_mnist_checksums_match_published():
    for key in ("test_images", "test_labels"):
        rf = dl.FILES["mnist"][key]
        assert dl.md5_file(MNIST_DIR / rf.filename) == rf.md5


def test_named_load_without_train_files_is_a_clear_error():
    with pytest.raises(DatasetError) as info:
        load_dataset("mnist", root=MNIST_DIR.parent, download=False)
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg and "train-labels-idx1-ubyte.gz" in msg
    assert str(MNIST_DIR) in msg and "t10k" not in msg
