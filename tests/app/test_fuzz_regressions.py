"""Inputs that benchmarks/fuzz_loaders.py (and probing around it) found to give a 500, hang or
break a listing; each is now a clean 422 saying what is wrong."""

from __future__ import annotations

import io
import json
import struct
import time
import zipfile

import numpy as np
import pytest

from engine.data import DatasetError
from engine.data.idx import read_idx

from .test_bad_input import TINY, checkpoint, detail, good_arrays, npz, upload


@pytest.fixture
def client(client_seeing_500s):
    return client_seeing_500s


def npy_raw(header: bytes, data: bytes = b"") -> bytes:
    header = header + b" " * (64 - 10 - len(header) - 1) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def with_y(x_member: bytes) -> bytes:
    y = io.BytesIO()
    np.save(y, np.arange(4) % 2)
    return zip_of({"x.npy": x_member, "y.npy": y.getvalue()})


def test_an_npy_header_that_does_not_tokenize(client):
    """numpy's header parser raised tokenize.TokenError (not a ValueError) for an unclosed bracket."""
    member = npy_raw(b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, }", b"\0" * 24)
    assert "malformed .npy header" in detail(upload(client, with_y(member), "tok.npz"), 422)
    assert "malformed .npy header" in detail(
        upload(client, checkpoint(TINY, {"w:layers[1].W.npy": member}), "tok.npz", "/api/networks/import"), 422
    )


def test_an_empty_array_with_absurd_dimensions(client, tmp_path):
    """(0, 2**40, 2**40) holds no bytes but numpy cannot even shape it: 'array is too big'."""
    member = npy_raw(b"{'descr': '|u1', 'fortran_order': False, 'shape': (0, 1099511627776, 1099511627776), }")
    assert "unreasonable array shape" in detail(upload(client, with_y(member), "empty.npz"), 422)
    assert "unreasonable array shape" in detail(
        upload(client, checkpoint(TINY, {"w:layers[1].W.npy": member}), "empty.npz", "/api/networks/import"), 422
    )
    idx = tmp_path / "x-images-idx3-ubyte"
    idx.write_bytes(bytes.fromhex("00000803ffff0400000000 00c28f2564".replace(" ", "")))
    with pytest.raises(DatasetError, match="refused"):
        read_idx(idx)


def _patched(data: bytes, signature: bytes, offset: int, fmt: str, value) -> bytes:
    out = bytearray(data)
    i = out.rfind(signature)
    assert i >= 0
    struct.pack_into(fmt, out, i + offset, value)
    return bytes(out)


@pytest.mark.parametrize(
    "filename,url", [("a.npz", "/api/datasets"), ("a.zip", "/api/datasets"), ("a.npz", "/api/networks/import")]
)
def test_a_zip_needing_an_unknown_version_to_extract(client, filename, url):
    """zipfile raises NotImplementedError ('zip file version 25.5') from its constructor."""
    x, y = good_arrays()
    good = checkpoint(TINY, weights=True) if "import" in url else npz(x=x, y=y)
    forged = _patched(good, b"PK\x01\x02", 6, "<H", 0xFF)  # version needed to extract: 25.5
    text = detail(upload(client, forged, filename, url), 422)
    assert "version" in text or "not a valid .npz" in text, text


def test_a_central_directory_pointing_before_the_file(client):
    """An end record whose directory offset is too large makes zipfile seek to a negative offset:
    ValueError from an in-memory upload (the network import)."""
    good = checkpoint(TINY, weights=True)
    i = good.rfind(b"PK\x05\x06")
    (offset,) = struct.unpack_from("<I", good, i + 16)
    forged = _patched(good, b"PK\x05\x06", 16, "<I", offset + 2000)
    assert "cannot read" in detail(upload(client, forged, "seek.npz", "/api/networks/import"), 422)
    x, y = good_arrays()
    data = npz(x=x, y=y)
    i = data.rfind(b"PK\x05\x06")
    (offset,) = struct.unpack_from("<I", data, i + 16)
    detail(upload(client, _patched(data, b"PK\x05\x06", 16, "<I", offset + 2000), "seek.npz"), 422)


@pytest.mark.parametrize("top", [10**7, 10**12, 2**62])
def test_a_huge_label_is_refused_before_naming_that_many_classes(client, top):
    """Labels 0..10**12 without class_names built 10**12 names ('0', '1', ...) before the class limit."""
    x, _ = good_arrays(4)
    t = time.monotonic()
    text = detail(upload(client, npz(x=x, y=np.array([0, 1, 0, top], dtype=np.int64)), "labels.npz"), 422)
    assert "1000 allowed" in text and time.monotonic() - t < 2


@pytest.mark.parametrize("code", [0x110000, 0xFFFFFFFF, 0xD800, 0xDFFF])
def test_class_names_that_are_not_text(client, data_dir, code):
    """Code points past U+10FFFF raised SystemError; a lone surrogate was stored and then broke
    every GET /api/datasets (the response could not be encoded)."""
    x, y = good_arrays()
    names = np.array(["cat", "dog"], dtype="<U3")
    names.view(np.uint32)[1] = code
    assert "not valid text" in detail(upload(client, npz(x=x, y=y, class_names=names), "names.npz"), 422)
    assert client.get("/api/datasets").status_code == 200
    assert list((data_dir / "datasets").iterdir()) == []


SURROGATE_SPECS = [
    b'{"input": [1, 8, 8], "layers": [{"type": "flatten", "name": "\\udfff"}, {"type": "linear", "out_features": 2}]}',
    b'{"input": [1, 8, 8], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 2}], "name": "a\\ud800"}',
    b'{"input": [1, 8, 8], "\\udfff": 1, "layers": []}',
    b'{"input": [1, 8, 8], "layers": [{"type": "fl\\udfffatten"}]}',
]


@pytest.mark.parametrize("spec", SURROGATE_SPECS, ids=["layer-name", "spec-name", "key", "layer-type"])
def test_a_spec_with_a_lone_surrogate_is_422_and_listings_keep_working(client, spec):
    """A layer name "\\udfff" was stored and every GET /api/networks then failed with a 500."""
    for r in (
        client.post("/api/networks", content=b'{"spec": ' + spec + b"}", headers={"content-type": "application/json"}),
        client.post("/api/networks/validate", content=spec, headers={"content-type": "application/json"}),
        upload(client, spec, "s.json", "/api/networks/import"),
    ):
        assert r.status_code == 422, r.text[:300]
        assert "Unicode" in r.text or "unknown" in r.text
        json.loads(r.text)
    packed = io.BytesIO()
    np.save(packed, np.frombuffer(spec, np.uint8))
    bad_checkpoint = zip_of(
        {
            "__meta__.npy": _text_npy(json.dumps({"format": "cnn-playground/1", "seed": 0})),
            "__spec__.npy": packed.getvalue(),
        }
    )
    detail(upload(client, bad_checkpoint, "s.npz", "/api/networks/import"), 422)
    assert client.get("/api/networks").status_code == 200
    assert client.get("/api/networks").json() == []


def _text_npy(text: str) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.frombuffer(text.encode(), np.uint8))
    return buf.getvalue()


def test_an_error_echoing_a_lone_surrogate_is_still_json(client):
    """A run's augment key "\\udfff" came back in the error message and the response failed to encode (500)."""
    net = client.post("/api/networks", json={"preset": "lenet5"}).json()["id"]
    r = client.post(
        f"/api/networks/{net}/runs",
        content=b'{"dataset": "strokes", "augment": {"\\udfff": 1}}',
        headers={"content-type": "application/json"},
    )
    assert "augment" in detail(r, 422)  # the typed augment options refuse the key, still as JSON
