"""IDX reading/writing and loading IDX pairs by path."""

import gzip
import struct

import numpy as np
import pytest

from engine.data import DatasetError, load_dataset, read_idx, write_idx
from engine.data.userfile import label_file_for


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip(tmp_path, suffix, dtype):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((5, 3, 4)) * 50).astype(dtype)
    path = write_idx(tmp_path / f"a-images-idx3-ubyte{suffix}", arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    assert back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_gzip_detected_from_content_not_name(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    p = tmp_path / "plain.idx"
    write_idx(tmp_path / "x.gz", arr).rename(p)  # gzip content, no .gz name
    np.testing.assert_array_equal(read_idx(p), arr)


def _raw(tmp_path, data, name="bad-idx3-ubyte", gz=False):
    p = tmp_path / (name + (".gz" if gz else ""))
    p.write_bytes(gzip.compress(data) if gz else data)
    return p


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "too short"),
        (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic"),
        (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "type code"),
        (b"\x00\x00\x08\x00", "dimensions"),
        (b"\x00\x00\x08\x09" + b"\x00" * 36, "dimensions"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 2), "truncated"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 10) + b"\x00" * 5, "truncated"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 2) + b"\x00" * 5, "corrupt"),  # trailing data
        # a tiny file whose header claims 4 billion^3 bytes: refused before allocating
        (b"\x00\x00\x08\x03" + struct.pack(">3I", 4_000_000_000, 4_000_000_000, 4_000_000_000), "limit"),
        (b"\x00\x00\x0e\x02" + struct.pack(">2I", 60000, 60000), "limit"),
    ],
)
def test_bad_headers(tmp_path, data, message, gz):
    p = _raw(tmp_path, data, gz=gz)
    with pytest.raises(DatasetError, match=message):
        read_idx(p, max_bytes=10_000_000)


def test_corrupt_gzip(tmp_path):
    good = gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 1000) + bytes(1000))
    p = tmp_path / "x-images-idx3-ubyte.gz"
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError):
        read_idx(p)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_idx(tmp_path / "nope")


def _write_pair(folder, prefix, n, gz=True, seed=0, classes=10):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    y = (np.arange(n) % classes).astype(np.uint8)
    ext = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", x)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", y)
    return x, y


def test_label_file_for(tmp_path):
    _write_pair(tmp_path, "train", 3, gz=True)
    assert label_file_for(tmp_path / "train-images-idx3-ubyte.gz").name == "train-labels-idx1-ubyte.gz"
    (tmp_path / "foo-images-idx3-ubyte").write_bytes(b"")
    assert label_file_for(tmp_path / "foo-images-idx3-ubyte") is None


def test_load_folder_with_train_and_test(tmp_path):
    xtr, _ytr = _write_pair(tmp_path, "train", 50)
    _xte, yte = _write_pair(tmp_path, "t10k", 20, gz=False, seed=1)
    ds = load_dataset(tmp_path)
    assert ds.shape == (1, 28, 28)
    np.testing.assert_array_equal(ds.x_train[:, 0], xtr)
    np.testing.assert_array_equal(ds.y_test, yte)
    assert ds.y_train.dtype == np.int64 and ds.x_train.dtype == np.uint8
    assert not ds.test_only


def test_load_folder_test_only(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    _write_pair(folder, "t10k", 30)
    ds = load_dataset(folder)
    assert ds.test_only and len(ds.x_test) == 30 and len(ds.x_train) == 0
    assert ds.name == "mnist" and ds.kind == "digits" and ds.num_classes == 10
    assert ds.std[0] > 0


def test_load_single_image_file_splits_20_percent(tmp_path):
    _write_pair(tmp_path, "mine", 100, classes=4)
    ds = load_dataset(tmp_path / "mine-images-idx3-ubyte.gz")
    assert len(ds.x_train) == 80 and len(ds.x_test) == 20
    assert ds.num_classes == 4
    assert set(np.unique(ds.y_test)) == {0, 1, 2, 3}  # stratified


@pytest.mark.parametrize("prefix", ["t10k", "test"])
def test_a_test_file_alone_is_a_test_split_as_in_a_folder(tmp_path, prefix):
    """--dataset .../t10k-images-idx3-ubyte.gz gives what the folder holding only that pair gives:
    every example in the test split, none split off."""
    _write_pair(tmp_path, prefix, 30)
    ds = load_dataset(tmp_path / f"{prefix}-images-idx3-ubyte.gz")
    folder = load_dataset(tmp_path)
    assert ds.test_only and len(ds.x_train) == 0 and len(ds.x_test) == 30
    np.testing.assert_array_equal(ds.x_test, folder.x_test)
    np.testing.assert_array_equal(ds.mean, folder.mean)


def test_load_image_file_without_labels(tmp_path):
    write_idx(tmp_path / "mine-images-idx3-ubyte", np.zeros((3, 4, 4), np.uint8))
    with pytest.raises(DatasetError, match="label file"):
        load_dataset(tmp_path / "mine-images-idx3-ubyte")


def test_label_count_mismatch(tmp_path):
    write_idx(tmp_path / "a-images-idx3-ubyte", np.zeros((3, 4, 4), np.uint8))
    write_idx(tmp_path / "a-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(DatasetError, match="one label per image"):
        load_dataset(tmp_path / "a-images-idx3-ubyte")


def test_folder_without_pairs(tmp_path):
    with pytest.raises(DatasetError, match="no IDX"):
        load_dataset(tmp_path)


def test_unknown_name():
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset("no-such-dataset-xyz")
