"""Zip-of-class-folders uploads: a good archive, and every kind of hostile or broken one."""

import io
import stat
import struct
import warnings
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from app.imagefolder import load_image_folder_zip
from engine.data import Dataset, DatasetError


def _png(color, size=(12, 10), mode="RGB"):
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(color, size=(12, 10)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def _zip(members, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write on purpose
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, data in members:
                zf.writestr(name, data)  # name is a str or a ZipInfo
    return buf.getvalue()


def _good_members(n=5):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        out.append((f"cats/{i:03d}.png", _png(tuple(int(v) for v in rng.integers(0, 256, 3)))))
        out.append((f"dogs/{i:03d}.jpg", _jpeg((0, 0, 200 + i))))
    return out


def test_good_zip_rgb():
    ds = load_image_folder_zip(_zip(_good_members()), name="pets")
    assert isinstance(ds, Dataset)
    assert ds.class_names == ["cats", "dogs"] and ds.name == "pets" and ds.kind == "images"
    assert ds.shape == (3, 10, 12)  # (C, H, W) of the first image
    assert len(ds.x_train) + len(ds.x_test) == 10 and len(ds.x_test) == 2
    assert ds.x_train.dtype == np.uint8 and ds.mean.shape == (3,)
    dogs = np.concatenate([ds.x_train[ds.y_train == 1], ds.x_test[ds.y_test == 1]])
    assert abs(int(dogs[:, 2].mean()) - 202) <= 4 and dogs[:, 0].max() < 10


def test_greyscale_resize_and_wrapper_folder(tmp_path):
    members = [
        (f"data/{c}/{i}.png", _png(40 * i + 10 * k, size=(100, 80), mode="L"))
        for k, c in enumerate(["a", "b", "c"])
        for i in range(4)
    ]
    members.append(("data/a/rgb_but_grey.png", _png((90, 90, 90), size=(30, 30))))
    members += [("__MACOSX/data/a/._0.png", b"junk"), ("data/.DS_Store", b"junk")]
    p = tmp_path / "greys.zip"
    p.write_bytes(_zip(members))
    ds = load_image_folder_zip(p)
    assert ds.name == "greys" and ds.shape == (1, 51, 64)  # first image 80x100 (HxW), longer side capped at 64
    ds2 = load_image_folder_zip(p, size=(16, 16))
    assert ds2.shape == (1, 16, 16) and ds2.num_classes == 3


def test_default_size_from_first_sorted_image():
    members = [("b/x.png", _png((1, 2, 3), size=(50, 40))), ("a/y.png", _png((9, 9, 9), size=(20, 30)))]
    ds = load_image_folder_zip(_zip(members))
    assert ds.shape == (3, 30, 20)


def _info(name, data, mode=None):
    zi = zipfile.ZipInfo(name)
    if mode is not None:
        zi.external_attr = mode << 16
    return zi, data


@pytest.mark.parametrize(
    "bad, message",
    [
        (("../evil/x.png", _png(0)), "plain relative path"),
        (("cats/../../x.png", _png(0)), "plain relative path"),
        (("/etc/x.png", _png(0)), "absolute"),
        (("C:/x/y.png", _png(0)), "absolute"),
        (("C:\\x\\y.png", _png(0)), "backslash"),
        (("cats\\x.png", _png(0)), "backslash"),
        (("cats/sub/x.png", _png(0)), "exactly one class folder"),
        (("x.png", _png(0)), "exactly one class folder"),
        (("cats/notes.txt", b"hello"), "PNG and JPEG"),
        (("cats/fake.png", b"\x89PNG not really"), "cats/fake.png"),
        (("cats/shape.png", _png(0, mode="L")[:40]), "cats/shape.png"),
        (("cats/000.png", _png(1)), "twice"),
    ],
)
def test_bad_members(bad, message):
    with pytest.raises(DatasetError, match=message):
        load_image_folder_zip(_zip(_good_members() + [bad]))


def test_symlink_refused():
    link = _info("cats/link.png", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)
    with pytest.raises(DatasetError, match="symbolic link"):
        load_image_folder_zip(_zip(_good_members() + [link]))


def test_gif_refused_even_with_png_name():
    buf = io.BytesIO()
    Image.new("P", (8, 8)).save(buf, format="GIF")
    with pytest.raises(DatasetError, match="not a PNG or JPEG"):
        load_image_folder_zip(_zip(_good_members() + [("cats/sneaky.png", buf.getvalue())]))


def test_too_many_files():
    with pytest.raises(DatasetError, match="more than 6"):
        load_image_folder_zip(_zip(_good_members()), max_files=6)


def test_single_class_refused():
    with pytest.raises(DatasetError, match="at least 2 classes"):
        load_image_folder_zip(_zip([("only/a.png", _png(0)), ("only/b.png", _png(1))]))


def test_empty_zip():
    with pytest.raises(DatasetError, match="no images"):
        load_image_folder_zip(_zip([]))


def test_zip_bomb_declared_size():
    bomb = ("cats/bomb.png", b"\x00" * (30 * 1024 * 1024))  # 30 MB of zeros, ~30 KB compressed
    data = _zip(_good_members() + [bomb])
    assert len(data) < 200_000
    with pytest.raises(DatasetError, match=r"at most|zip bomb"):
        load_image_folder_zip(data)


def test_zip_bomb_lying_about_its_size():
    """The central directory claims 100 bytes but the member inflates to 1 MB."""
    payload = b"\x00" * 1_000_000
    data = bytearray(_zip([("cats/a.png", _png(0)), ("dogs/b.png", payload)]))
    patched = 0
    for sig, off, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        i = data.find(sig)
        while i != -1:
            if data[i + name_at : i + name_at + 10] == b"dogs/b.png":
                assert struct.unpack("<I", data[i + off : i + off + 4])[0] == len(payload)
                data[i + off : i + off + 4] = struct.pack("<I", 100)
                patched += 1
            i = data.find(sig, i + 4)
    assert patched == 2
    with pytest.raises(DatasetError):
        load_image_folder_zip(bytes(data))


@pytest.mark.parametrize("side", [5000, 30000])
def test_image_bomb_checked_from_header(side):
    """A PNG declaring side x side pixels in a few hundred bytes is refused before decoding."""
    raw = _png(0, size=(1, 1), mode="L")
    ihdr = raw.find(b"IHDR")
    body = struct.pack(">II", side, side) + raw[ihdr + 12 : ihdr + 17]
    chunk = body
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + chunk) & 0xFFFFFFFF)
    forged = raw[: ihdr + 4] + chunk + crc + raw[ihdr + 4 + 13 + 4 :]
    with pytest.raises(DatasetError, match="pixel limit"):
        load_image_folder_zip(_zip(_good_members() + [("cats/huge.png", forged)]))


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04 garbage", np.random.default_rng(0).bytes(5000)])
def test_random_bytes(data):
    with pytest.raises(DatasetError, match="zip"):
        load_image_folder_zip(data)


def test_encrypted_member_refused():
    data = bytearray(_zip([("cats/a.png", _png(0)), ("dogs/b.png", _png(1))], zipfile.ZIP_STORED))
    # set the "encrypted" flag bit of the first entry (local and central headers)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = data.find(sig)
        data[i + off] |= 0x1
    with pytest.raises(DatasetError, match="encrypted"):
        load_image_folder_zip(bytes(data))


def test_unsupported_compression_is_a_dataset_error():
    data = bytearray(_zip([("cats/a.png", _png(0)), ("dogs/b.png", _png(1))], zipfile.ZIP_STORED))
    # set the compression method of the first entry (local and central headers) to 99 (AES)
    for sig, off in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        i = data.find(sig)
        data[i + off : i + off + 2] = struct.pack("<H", 99)
    with pytest.raises(DatasetError):
        load_image_folder_zip(bytes(data))


def test_bad_size_argument():
    with pytest.raises(DatasetError, match="between 1 and 512"):
        load_image_folder_zip(_zip(_good_members()), size=(0, 10))
