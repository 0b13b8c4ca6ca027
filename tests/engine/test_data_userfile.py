"""Validation of user .npz datasets."""

import io
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npformat

from engine.data import DatasetError, load_dataset, load_npz


def _save(tmp_path, name="d.npz", compressed=False, **arrays):
    p = tmp_path / name
    (np.savez_compressed if compressed else np.savez)(p, **arrays)
    return p


def _data(n=50, shape=(8, 8), k=3, seed=0, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, *shape)).astype(dtype)
    y = np.arange(n) % k
    return x, y


def test_basic_hw_split_20_percent(tmp_path):
    x, y = _data()
    ds = load_dataset(_save(tmp_path, x=x, y=y))
    assert ds.shape == (1, 8, 8)
    assert len(ds.x_train) == 40 and len(ds.x_test) == 10
    assert ds.class_names == ["0", "1", "2"]
    assert ds.name == "d" and ds.source == "file"


@pytest.mark.parametrize(
    "shape, expect",
    [((6, 6, 3), (3, 6, 6)), ((3, 6, 6), (3, 6, 6)), ((1, 5, 7), (1, 5, 7)), ((5, 7, 1), (1, 5, 7))],
)
def test_layouts(tmp_path, shape, expect):
    x, y = _data(shape=shape)
    ds = load_npz(_save(tmp_path, x=x, y=y))
    assert ds.shape == expect
    if shape[-1] in (1, 3) and shape[0] not in (1, 3):  # NHWC: check the transpose
        allx = np.concatenate([ds.x_train, ds.x_test])
        assert sorted(map(bytes, allx.transpose(0, 2, 3, 1))) == sorted(map(bytes, x))


def test_ambiguous_layout(tmp_path):
    x, y = _data(shape=(5, 6, 7))
    with pytest.raises(DatasetError, match="channel axis"):
        load_npz(_save(tmp_path, x=x, y=y))


def test_float_scaling(tmp_path):
    x, y = _data(dtype=np.float32)
    ds = load_npz(_save(tmp_path, x=x / 255.0, y=y, x_test=x[:5], y_test=y[:5]))
    np.testing.assert_array_equal(ds.x_train[:, 0], x.astype(np.uint8))  # [0,1] floats scaled
    np.testing.assert_array_equal(ds.x_test[:, 0], x[:5].astype(np.uint8))  # [0,255] floats kept
    assert len(ds.x_train) == 50  # explicit test split: no 20% split


def test_class_names_and_compressed(tmp_path):
    x, y = _data()
    p = _save(tmp_path, compressed=True, x=x, y=y, class_names=np.array(["cat", "dog", "emu"]))
    assert load_npz(p).class_names == ["cat", "dog", "emu"]


def test_the_keras_layout_x_train_y_train_x_test_y_test_is_the_training_and_test_splits(tmp_path):
    x, y = _data()
    ds = load_npz(_save(tmp_path, x_train=x[:40], y_train=y[:40], x_test=x[40:], y_test=y[40:]))
    np.testing.assert_array_equal(ds.x_train[:, 0], x[:40])
    np.testing.assert_array_equal(ds.y_test, y[40:])
    assert ds.class_names == ["0", "1", "2"]


def test_keras_cifar_labels_as_a_column_are_taken_as_a_list(tmp_path):
    x, y = _data(shape=(6, 6, 3))
    ds = load_npz(_save(tmp_path, x_train=x, y_train=y[:, None], x_test=x[:5], y_test=y[:5, None]))
    np.testing.assert_array_equal(ds.y_train, y)
    np.testing.assert_array_equal(ds.y_test, y[:5])


def test_text_labels_become_classes_in_sorted_order(tmp_path):
    x, y = _data()
    words = np.array(["emu", "cat", "dog"])[y]
    ds = load_npz(_save(tmp_path, x=x, y=words, x_test=x[:6], y_test=words[:6]))
    assert ds.class_names == ["cat", "dog", "emu"]
    np.testing.assert_array_equal(ds.y_train, np.array([2, 0, 1])[y])
    np.testing.assert_array_equal(ds.y_test, np.array([2, 0, 1])[y[:6]])


def test_text_labels_follow_the_order_class_names_give(tmp_path):
    x, y = _data()
    words = np.array(["emu", "cat", "dog"])[y]
    ds = load_npz(_save(tmp_path, x=x, y=words, class_names=np.array(["emu", "cat", "dog"])))
    assert ds.class_names == ["emu", "cat", "dog"]
    np.testing.assert_array_equal(np.sort(np.concatenate([ds.y_train, ds.y_test])), np.sort(y))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda a: a.update(x=a["x"].astype(np.float32) * np.float32(np.nan)), "NaN"),
        (lambda a: a.update(x=a["x"].astype(np.float32) + np.float32(np.inf)), "NaN or infinite"),
        (lambda a: a.update(x=a["x"].astype(np.int32) - 5), r"\[0, 1\] or \[0, 255\]"),
        (lambda a: a.update(y=a["y"] + 10, class_names=np.array(["a", "b", "c"])), "class names"),
        (lambda a: a.update(y=a["y"] - 1), "negative"),
        (lambda a: a.update(y=a["y"][:-1]), "one label per image"),
        (lambda a: a.update(y=a["y"] * 0), "at least 2 classes"),
        (lambda a: a.update(y=a["y"] * 1000), "1000"),
        (lambda a: a.update(y=a["y"] + 0.5), "whole numbers"),
        (lambda a: a.pop("y"), "missing array 'y'"),
        (lambda a: a.update(x_train=a["x"]), "either as x and y or as x_train and y_train, not both"),
        (lambda a: a.update(x_train=a.pop("x"), y_test=a.pop("y")), "missing array 'y_train'"),
        (lambda a: a.update(y=np.array(["a", "b", "c"])[a["y"]], class_names=np.array(["a", "b"])), "'c' in y"),
        (lambda a: a.update(y=np.array(["a", "b", "c"])[a["y"]], x_test=a["x"][:3], y_test=a["y"][:3]), "text"),
        (lambda a: a.update(x_test=a["x"][:3]), "both x_test and y_test"),
        (lambda a: a.update(x=np.zeros((2, 600, 4), np.uint8), y=np.array([0, 1])), "512"),
        (lambda a: a.update(x=np.zeros((0, 4, 4), np.uint8), y=np.zeros(0, np.int64)), "no images"),
        (lambda a: a.update(class_names=np.array([b"a", b"b", b"c"])), "allowed"),
        (lambda a: a.update(x=a["x"].astype(np.complex64)), "allowed"),
    ],
)
def test_invalid(tmp_path, mutate, message):
    x, y = _data()
    arrays = {"x": x, "y": y}
    mutate(arrays)
    with pytest.raises(DatasetError, match=message):
        load_npz(_save(tmp_path, **arrays))


def test_object_array_refused(tmp_path):
    x, y = _data()
    p = tmp_path / "obj.npz"
    np.savez(p, x=x, y=y, class_names=np.array(["a", "b", None], dtype=object))
    with pytest.raises(DatasetError, match="object"):
        load_npz(p)


def _zip_members(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _npy_bytes(arr):
    buf = io.BytesIO()
    npformat.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _handmade_npy(header: str) -> bytes:
    """A version 1.0 .npy member with an arbitrary header dict and no data."""
    h = header.encode("latin1")
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h


def test_huge_declared_shape_in_tiny_file(tmp_path):
    p = _zip_members(
        tmp_path / "huge.npz",
        {
            "x.npy": _handmade_npy("{'descr': '|u1', 'fortran_order': False, 'shape': (100000000, 1000, 1000), }"),
            "y.npy": _npy_bytes(np.zeros(3, np.int64)),
        },
    )
    assert p.stat().st_size < 2000
    with pytest.raises(DatasetError, match="limit"):
        load_npz(p)


def test_lying_shape_smaller_than_data(tmp_path):
    p = _zip_members(
        tmp_path / "lie.npz",
        {
            "x.npy": _handmade_npy("{'descr': '|u1', 'fortran_order': False, 'shape': (10, 4, 4), }") + bytes(100),
            "y.npy": _npy_bytes(np.zeros(10, np.int64)),
        },
    )
    with pytest.raises(DatasetError, match="truncated or forged"):
        load_npz(p)


@pytest.mark.parametrize(
    "member",
    [
        b"\x93NUMPY\x01\x00\x10\x00{'descr': 'u1'",  # header shorter than declared
        _handmade_npy("{'descr': '|u1', 'fortran_order': False, 'shape': (-1, 4), }"),
        _handmade_npy("{'descr': '|u1', 'shape': (1, 4), }"),
        _handmade_npy("__import__('os').system('echo hi')"),
        b"not an npy file at all",
        _handmade_npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }") + bytes(16),
    ],
)
def test_malformed_headers(tmp_path, member):
    p = _zip_members(tmp_path / "bad.npz", {"x.npy": member, "y.npy": _npy_bytes(np.zeros(1, np.int64))})
    with pytest.raises(DatasetError):
        load_npz(p)


def test_zip_bomb_member_refused(tmp_path):
    # 64 MB of zeros deflates to ~64 KB; with a 1 MB limit it is refused from the declared size
    big = np.zeros((64, 1024, 1024), np.uint8)
    p = _zip_members(
        tmp_path / "bomb.npz",
        {"x.npy": _npy_bytes(big), "y.npy": _npy_bytes(np.zeros(64, np.int64))},
        zipfile.ZIP_DEFLATED,
    )
    assert p.stat().st_size < 1_000_000
    with pytest.raises(DatasetError, match="limit"):
        load_npz(p, max_bytes=1_000_000)


def test_zip_member_inflating_more_than_declared(tmp_path):
    # forge the central directory: declare a small size for a member that inflates to more
    x = np.zeros((20, 8, 8), np.uint8)
    p = _zip_members(
        tmp_path / "forged.npz", {"x.npy": _npy_bytes(x), "y.npy": _npy_bytes(np.arange(20) % 2)}, zipfile.ZIP_DEFLATED
    )
    raw = bytearray(p.read_bytes())
    true_size = len(_npy_bytes(x))
    # patch the uncompressed size in both the local header and the central directory entry
    needle = true_size.to_bytes(4, "little")
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        i = raw.find(sig)
        assert raw[i + off : i + off + 4] == needle
        raw[i + off : i + off + 4] = (true_size - 64).to_bytes(4, "little")
    p.write_bytes(bytes(raw))
    with pytest.raises(DatasetError):
        load_npz(p)


def test_not_a_zip(tmp_path):
    p = tmp_path / "rand.npz"
    p.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(DatasetError, match=r"not a valid \.npz"):
        load_npz(p)


def test_n_subsamples_train(tmp_path):
    x, y = _data(n=100)
    ds = load_dataset(_save(tmp_path, x=x, y=y), n=30)
    assert len(ds.x_train) == 30 and len(ds.x_test) == 20
