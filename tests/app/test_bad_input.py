"""Hostile and broken input over HTTP: what a user (or an attacker) sends, and the answer they see.

Every case asserts the status code and that the JSON detail says what was wrong; none may be a 500,
allocate what the input declares, unpickle anything, or touch a file named by the client.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import struct
import sys
import time
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from numpy.lib import format as npformat
from PIL import Image
from starlette.testclient import WebSocketDenialResponse

from app.main import create_app
from app.settings import Settings

from .test_runs_api import QUICK, wait_for

MiB = 2**20


# ---------------------------------------------------------------------------------------------- helpers


@pytest.fixture
def client(client_seeing_500s):
    return client_seeing_500s


@pytest.fixture
def net_id(client):
    r = client.post("/api/networks", json={"preset": "lenet5"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def detail(r, *statuses) -> str:
    """The response's detail as text, after checking the status and the problem-details shape."""
    assert r.status_code in statuses, (r.status_code, r.text[:500])
    body = r.json()
    assert set(body) == {"type", "title", "status", "detail", "errors"} and body["status"] == r.status_code, body
    assert isinstance(body["detail"], str) and body["detail"], body
    return body["detail"] + (" " + json.dumps(body["errors"]) if body["errors"] else "")


def upload(client, content: bytes, filename: str, url: str = "/api/datasets", **kw):
    return client.post(url, files={"file": (filename, content, "application/octet-stream")}, **kw)


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def good_arrays(n=20):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, 8, 8), dtype=np.uint8), np.arange(n) % 2


def png(size=(12, 10), color=(10, 20, 30), mode="RGB", fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color if mode == "RGB" else 7).save(buf, format=fmt)
    return buf.getvalue()


def folder_zip(extra=()) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for cls in ("cats", "dogs"):
                for i in range(3):
                    z.writestr(f"{cls}/{i}.png", png(color=(40 * i, 90, 200 if cls == "dogs" else 0)))
            for name, data in extra:
                z.writestr(name, data)
    return buf.getvalue()


def npy_header(shape, descr="<f8") -> bytes:
    buf = io.BytesIO()
    npformat.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def checkpoint(spec: dict, members: dict[str, bytes] | None = None, weights: bool = False) -> bytes:
    """A network .npz as the playground writes it, with extra raw members (name -> .npy bytes)."""
    import engine
    from engine.io import to_bytes

    if weights:
        return to_bytes(engine.build_network(spec))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for key, text in (
            ("__meta__", json.dumps({"format": "cnn-playground/1", "seed": 0})),
            ("__spec__", json.dumps(spec)),
        ):
            b = io.BytesIO()
            np.save(b, np.frombuffer(text.encode(), np.uint8))
            z.writestr(key + ".npy", b.getvalue())
        for name, data in (members or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


TINY = {"input": [1, 8, 8], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 2}]}


def raw_zip(members) -> bytes:
    """A zip written by hand: members are (name, deflated bytes, crc, declared size), so sizes can lie."""
    out, central = bytearray(), bytearray()
    for name, comp, crc, size in members:
        n = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(comp), size, len(n), 0) + n + comp
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(comp),
                size,
                len(n),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + n
        )
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + eocd)


def deflated_zeros(prefix: bytes, n_mib: int) -> tuple[bytes, int, int]:
    """(raw deflate stream, crc32, size) of prefix + n_mib MiB of zeros, made in milliseconds:
    one fully flushed 4 MiB block is repeated (a full flush makes each block independent)."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(prefix) + co.flush(zlib.Z_FULL_FLUSH)
    block = b"\0" * (4 * MiB)
    seg = co.compress(block) + co.flush(zlib.Z_FULL_FLUSH)
    tail = co.flush()
    crc = zlib.crc32(prefix)
    for _ in range(n_mib // 4):
        crc = zlib.crc32(block, crc)
    return head + seg * (n_mib // 4) + tail, crc, len(prefix) + n_mib * MiB


def peak_bytes(fn):
    """(result, peak bytes that Python and NumPy allocated while fn ran)."""
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ----------------------------------------------------------------------- 1. specs too big to build

HUGE = {
    "input": [3, 1024, 1024],
    "layers": [
        {"type": "conv2d", "out_channels": 1024, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "conv2d", "out_channels": 1024, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "global_avgpool2d"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 10},
    ],
}


def test_a_spec_needing_tens_of_gigabytes_is_refused_before_anything_is_allocated(client, net_id):
    r, peak = peak_bytes(lambda: client.post("/api/networks", json={"spec": HUGE}))
    text = detail(r, 413)
    assert "16,396 MiB" in text and "512 MiB" in text, text  # what it would need, and the limit
    assert peak < 32 * MiB, f"{peak / MiB:.0f} MiB allocated to refuse it"
    assert "16,396 MiB" in detail(client.patch(f"/api/networks/{net_id}", json={"spec": HUGE}), 413)
    assert "16,396 MiB" in detail(upload(client, json.dumps(HUGE).encode(), "huge.json", "/api/networks/import"), 413)
    # a network file whose spec is huge: refused from the spec, before the network is built
    params = {
        **TINY,
        "input": [3, 64, 64],
        "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 200_000}],
    }
    for spec, words in ((HUGE, "16,396 MiB"), (params, "2,457,800,000 parameters")):
        data = checkpoint(spec)
        r, peak = peak_bytes(lambda: upload(client, data, "huge.npz", "/api/networks/import"))  # noqa: B023
        assert words in detail(r, 413)
        assert peak < 32 * MiB
    assert [n["id"] for n in client.get("/api/networks").json()] == [net_id]


BIG = {
    "input": [1, 512, 512],
    "layers": [  # 129 MiB of activations per example, 770 parameters
        {"type": "conv2d", "out_channels": 64, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "global_avgpool2d"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 2},
    ],
}


def test_a_big_but_buildable_network_respects_the_request_activation_limit(data_dir):
    pixels = [[0] * 8] * 8
    with TestClient(create_app(Settings(data_dir=data_dir, max_request_activation_bytes=200 * MiB))) as c:
        r = c.post("/api/networks", json={"spec": BIG})
        assert r.status_code == 201, r.text
        id = r.json()["id"]
        assert c.post(f"/api/networks/{id}/predict", json={"pixels": pixels}).status_code == 200
        for r in (
            c.post(f"/api/networks/{id}/saliency", json={"pixels": pixels}),
            c.get(f"/api/networks/{id}/stats", params={"n": 64}),
        ):
            text = detail(r, 413)
            assert "MiB" in text and "200 MiB" in text, text
    # the same network on a server with a lower limit: nothing that runs it is allowed to
    with TestClient(create_app(Settings(data_dir=data_dir, max_request_activation_bytes=64 * MiB))) as c:
        for r in (
            c.post(f"/api/networks/{id}/activations", json={"pixels": pixels}),
            c.post(f"/api/networks/{id}/activations?format=png&layer=layers[0]", json={"pixels": pixels}),
            c.post(f"/api/networks/{id}/predict", json={"pixels": pixels}),
            upload(c, png(), "a.png", f"/api/networks/{id}/predict/image"),
        ):
            assert "64 MiB" in detail(r, 413)


# ------------------------------------------------------------------------ 2. wrong types and values


def nested(depth):
    layers = [{"type": "relu"}]
    for _ in range(depth):
        layers = [{"type": "residual", "body": layers}]
    return layers


@pytest.mark.parametrize(
    "spec,where,words",
    [
        ({"input": [False, 0, 0], "layers": []}, "input[0]", "positive integer"),
        ({"input": [1, -5, 8], "layers": []}, "input[1]", "at least 1"),
        ({"input": [1, 8, 8.5], "layers": []}, "input[2]", "positive integer"),
        ({"input": "1x8x8", "layers": []}, "input", "channels"),
        ({"input": [1, 8, 8], "layers": {"type": "relu"}}, "layers", "list"),
        (
            {"input": [1, 8, 8], "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 20}]},
            "layers[0]",
            "larger than the padded input",
        ),
        (
            {"input": [1, 8, 8], "layers": [{"type": "conv2d", "out_channels": -4, "kernel_size": 3}]},
            "layers[0]",
            "out_channels",
        ),
        (
            {"input": [1, 8, 8], "layers": [{"type": "conv2d", "out_channels": "4", "kernel_size": 3}]},
            "layers[0]",
            "out_channels",
        ),
        (
            {"input": [1, 8, 8], "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 0}]},
            "layers[0]",
            "stride",
        ),
        ({"input": [1, 8, 8], "layers": [{"type": "relu"}] * 10_000}, "layers", "10000 layers"),
        ({"input": [1, 8, 8], "layers": nested(100)}, "layers[0]", "nested more than"),
        ({"input": [1, 8, 8], "layers": [None, 3]}, "layers[0]", "object"),
        ({**TINY, "name": ["x"]}, "name", "text"),
        ({**TINY, "description": {"a": 1}}, "description", "text"),
        ({**TINY, "name": "x" * 10_000}, "name", "at most 100"),
    ],
)
def test_a_wrong_spec_is_422_naming_the_field(client, net_id, spec, where, words):
    for r in (
        client.post("/api/networks", json={"spec": spec}),
        client.patch(f"/api/networks/{net_id}", json={"spec": spec}),
        upload(client, json.dumps(spec).encode(), "spec.json", "/api/networks/import"),
    ):
        assert r.status_code == 422, r.text[:300]
        errors = r.json()["errors"]
        assert isinstance(errors, list) and errors
        assert any(e["path"].startswith(where) and words in (e["field"] or "") + " " + e["message"] for e in errors), (
            errors
        )


@pytest.mark.parametrize(
    "body",
    [
        b'{"spec": {"input": [1, 8, 8], "layers": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
        b'{"spec": {"input": [1, 8, 8], "layers": [{"type": "dropout", "p": NaN}]}}',
        b'{"spec": {"input": [1, 8, 8], "layers": [{"type": "conv2d", "out_channels": 1e999, "kernel_size": 3}]}}',
        b'{"spec": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}",
        b"\xff\xfe not json",
    ],
)
def test_malformed_or_absurd_json_is_an_error_not_a_500(client, body):
    r = client.post("/api/networks", content=body, headers={"content-type": "application/json"})
    detail(r, 400, 422)
    assert "NaN" not in r.text and "Infinity" not in r.text


def test_a_spec_file_that_is_not_an_object_or_has_a_bad_seed_is_422(client):
    for content, words in (
        (b"[1, 2]", "object"),
        (b'"text"', "object"),
        (b"1e999", "object"),
        (b"[" * 100_000 + b"]" * 100_000, "neither"),
        (json.dumps({**TINY, "seed": -1}).encode(), "seed"),
        (json.dumps({**TINY, "seed": 2**80}).encode(), "seed"),
        (json.dumps({**TINY, "seed": "x"}).encode(), "seed"),
    ):
        assert words in detail(upload(client, content, "spec.json", "/api/networks/import"), 422)


# ----------------------------------------------------------------------------- 4. multipart abuse

B = "zzzboundary"


def part(name, value: bytes, filename=None) -> bytes:
    disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{B}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + value + b"\r\n"


END = f"--{B}--\r\n".encode()
ABUSE = {
    "thousands of fields": b"".join(part(f"f{i}", b"x") for i in range(5000)) + part("file", b"abc", "a.png") + END,
    "thousands of files": b"".join(part("file", b"x", f"{i}.png") for i in range(3000)) + END,
    "a huge text part": part("file", b"abc", "a.png") + part("dataset", b"x" * 3_000_000) + END,
    "endless part headers": f"--{B}\r\n".encode() + b"".join(b"X-H%d: v\r\n" % i for i in range(200_000)),
    "one endless header": f'--{B}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nX: '.encode()
    + b"a" * 5_000_000
    + b"\r\n\r\nabc\r\n"
    + END,
    "no closing boundary": f"--{B}\r\n".encode() + b"a" * 2_000_000,
}


@pytest.mark.parametrize("kind", list(ABUSE))
@pytest.mark.parametrize("url", ["/api/datasets", "/api/networks/import", "/api/networks/{id}/predict/image"])
def test_multipart_abuse_is_a_fast_400_or_413(client, net_id, url, kind):
    t = time.monotonic()
    r = client.post(
        url.format(id=net_id), content=ABUSE[kind], headers={"content-type": f"multipart/form-data; boundary={B}"}
    )
    text = detail(r, 400, 413)
    assert time.monotonic() - t < 5
    assert re.search(r"multipart|field|file|part|limit", text, re.IGNORECASE), text
    assert client.get("/api/networks").json()[0]["id"] == net_id and len(client.get("/api/networks").json()) == 1


# ------------------------------------------------------------------------------- 5. nothing unpickled


class Boom:
    """Unpickling this object creates the marker file."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickles_in_uploads_are_refused_and_never_unpickled(client, tmp_path):
    Boom.marker = tmp_path / "unpickled"
    pickle.loads(pickle.dumps(Boom()))  # the marker works: unpickling creates the file
    assert Boom.marker.exists()
    Boom.marker.unlink()
    boom = np.array([Boom(), Boom()], dtype=object)
    x, y = good_arrays()
    dataset_files = {
        "x.npz": npz(x=boom, y=y[:2]),
        "y.npz": npz(x=x, y=np.array([Boom()] * len(x), dtype=object)),
        "names.npz": npz(x=x, y=y, class_names=boom),
        "test.npz": npz(x=x, y=y, x_test=boom, y_test=y[:2]),
    }
    for name, content in dataset_files.items():
        assert "not allowed" in detail(upload(client, content, name), 422)
    buf = io.BytesIO()
    np.save(buf, boom, allow_pickle=True)
    weights = checkpoint(TINY, {"w:layers[1].W.npy": buf.getvalue()})
    assert "not allowed" in detail(upload(client, weights, "net.npz", "/api/networks/import"), 422)
    spec_pickled = io.BytesIO()
    with zipfile.ZipFile(spec_pickled, "w") as z:
        z.writestr("__meta__.npy", buf.getvalue())
        z.writestr("__spec__.npy", buf.getvalue())
    assert "not allowed" in detail(upload(client, spec_pickled.getvalue(), "n.npz", "/api/networks/import"), 422)
    assert not Boom.marker.exists()


# --------------------------------------------------------------------- 6. .npy headers that lie


@pytest.mark.parametrize(
    "member,words",
    [
        (npy_header((65536, 65536)) + b"\0" * 64, "34,359,738,368 bytes"),
        (npy_header((2**64, 2)), "shape"),
        (npy_header((-1, 8, 8), "|u1"), "shape"),
        (npy_header((4, 8, 8), "|u1")[:-10] + b"\n", "header"),
        (b"\x93NUMPY\x01\x00\x20\x00{'descr': <f8, 'shape': (3,), }     \n", "header"),
        (b"\x93NUMPY\x09\x00garbage", "version"),
        (b"\x93NUMPY\x01\x00" + struct.pack("<H", 60000) + b"{" * 100, "header"),
        (npy_header((4, 8, 8), "<c16"), "not allowed"),
        (npy_header((4,), "|V8"), "not allowed"),
    ],
)
def test_npy_headers_are_checked_before_anything_is_allocated(client, member, words):
    _, y = good_arrays()
    with_y = io.BytesIO()
    np.save(with_y, y)
    dataset = io.BytesIO()
    with zipfile.ZipFile(dataset, "w") as z:
        z.writestr("x.npy", member)
        z.writestr("y.npy", with_y.getvalue())
    r, peak = peak_bytes(lambda: upload(client, dataset.getvalue(), "lies.npz"))
    assert words in detail(r, 422)
    assert peak < 32 * MiB
    r, peak = peak_bytes(
        lambda: upload(client, checkpoint(TINY, {"w:layers[1].W.npy": member}), "lies.npz", "/api/networks/import")
    )
    assert words in detail(r, 422)
    assert peak < 32 * MiB


# ------------------------------------------------------------------------------------ 7. bombs


@pytest.fixture(scope="module")
def gigabyte_npy():
    """An .npy member of (16384, 256, 256) uint8 zeros: 1 GiB inflated, about 1 MB deflated."""
    return deflated_zeros(npy_header((16384, 256, 256), "|u1"), 1024)


def test_an_npz_bomb_is_refused_by_its_declared_size(client, gigabyte_npy, data_dir):
    comp, crc, size = gigabyte_npy
    bomb = raw_zip([("x.npy", comp, crc, size)])
    assert len(bomb) < 2 * MiB
    r, peak = peak_bytes(lambda: upload(client, bomb, "bomb.npz"))
    text = detail(r, 413, 422)
    assert "limit" in text and "1,073,741," in text, text
    assert peak < 32 * MiB
    r, peak = peak_bytes(
        lambda: upload(client, raw_zip([("w:layers[1].W.npy", comp, crc, size)]), "bomb.npz", "/api/networks/import")
    )
    assert "limit" in detail(r, 413, 422)
    assert peak < 32 * MiB
    assert list((data_dir / "datasets").iterdir()) == []


@pytest.mark.parametrize("lie", [64, 4096, 10 * MiB])
def test_a_bomb_lying_about_its_size_is_cut_off_at_the_declared_size(client, gigabyte_npy, lie):
    """The zip's directory says `lie` bytes; the deflate stream holds 1 GiB. Inflation stops at the
    declared size (and the CRC then fails), so at most `lie` bytes are ever produced."""
    comp, crc, _ = gigabyte_npy
    forged_header = npy_header((lie - 128,), "|u1")
    assert len(forged_header) == 128
    # the first bytes of the real stream are the real header: give the lie its own consistent header
    comp2, crc2, _ = deflated_zeros(forged_header, 1024)
    for data, url, name in (
        (raw_zip([("x.npy", comp2, crc2, lie), ("y.npy", comp, crc, lie)]), "/api/datasets", "b.npz"),
        (raw_zip([("w:layers[1].W.npy", comp2, crc2, lie)]), "/api/networks/import", "b.npz"),
        (raw_zip([("cats/a.png", comp, crc, lie), ("dogs/b.png", comp, crc, lie)]), "/api/datasets", "b.zip"),
    ):
        t = time.monotonic()
        r, peak = peak_bytes(lambda: upload(client, data, name, url))  # noqa: B023 (called at once)
        detail(r, 422)
        assert peak < lie + 32 * MiB, f"{peak / MiB:.0f} MiB for a {lie}-byte member"
        assert time.monotonic() - t < 10


def test_an_image_zip_bomb_is_refused_by_its_declared_size(client, gigabyte_npy):
    comp, crc, size = gigabyte_npy
    members = [("cats/a.png", comp, crc, size), ("dogs/b.png", comp, crc, size)]
    r, peak = peak_bytes(lambda: upload(client, raw_zip(members), "bomb.zip"))
    assert "bytes" in detail(r, 422)
    assert peak < 32 * MiB


# ----------------------------------------------------------------------- 8. hostile zip member names


@pytest.mark.parametrize(
    "name,words",
    [
        ("../x.png", ".."),
        ("cats/../../x.png", ".."),
        ("/etc/x.png", "absolute"),
        ("C:\\x.png", "backslash"),
        ("C:/x.png", "absolute"),
        ("cats\\..\\..\\x.png", "backslash"),
        ("./cats/x.png", "plain relative"),
        ("cats/0.png", "twice"),
        ("link", "link"),
    ],
)
def test_hostile_zip_member_names_are_refused_and_nothing_is_extracted(
    client, data_dir, tmp_path, monkeypatch, name, words
):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # a relative extraction would land here
    if name == "link":
        info = zipfile.ZipInfo("cats/x.png")
        info.external_attr = 0o120777 << 16
        member = (info, b"/etc/passwd")
    else:
        member = (name, png())
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    text = detail(upload(client, folder_zip([member]), "hostile.zip"), 422)
    assert words in text, text
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    new = [p for p in after if p not in before and not p.name.startswith("playground.sqlite3")]
    assert new == [], new
    assert not any(p.name in ("x.png", "link") for p in tmp_path.rglob("*"))
    assert list((data_dir / "datasets").iterdir()) == []


# ------------------------------------------------------------------------------ 9. random bytes

JUNK = np.random.default_rng(9).bytes(5000)


@pytest.mark.parametrize(
    "content",
    [
        JUNK,
        b"PK\x03\x04" + JUNK,
        b"\x89PNG\r\n\x1a\n" + JUNK,
        b"\xff\xd8\xff\xe0" + JUNK,
        b"\x93NUMPY" + JUNK,
        b"",
        png()[:40],
    ],
    ids=["random", "zip", "png", "jpeg", "npy", "empty", "cut-png"],
)
def test_random_bytes_are_422_everywhere(client, net_id, content):
    for filename in ("junk.zip", "junk.npz"):
        assert re.search(r"zip|npz", detail(upload(client, content, filename), 422))
    for filename in ("junk.png", "junk.jpg"):
        assert re.search(
            r"PNG|image", detail(upload(client, content, filename, f"/api/networks/{net_id}/predict/image"), 422)
        )
    for filename in ("junk.npz", "junk.json"):
        assert re.search(r"network|npz|json", detail(upload(client, content, filename, "/api/networks/import"), 422))


# ------------------------------------------------------------------------- 10. image bombs, formats


def png_declaring(w, h) -> bytes:
    """A ~100-byte PNG whose header declares w x h pixels."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [5000, 10000, 20000, 2**31 - 1])
def test_an_image_bomb_is_refused_from_its_header(client, net_id, side):
    bomb = png_declaring(side, side)
    assert len(bomb) < 200
    r, peak = peak_bytes(lambda: upload(client, bomb, "bomb.png", f"/api/networks/{net_id}/predict/image"))
    assert "pixels" in detail(r, 413)
    assert peak < 32 * MiB
    r, peak = peak_bytes(lambda: upload(client, folder_zip([("cats/bomb.png", bomb)]), "bomb.zip"))
    assert "pixel" in detail(r, 422)
    assert peak < 32 * MiB


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "WEBP", "ICO", "PPM"])
def test_only_png_and_jpeg_are_opened(client, net_id, fmt):
    other = png(fmt=fmt)
    assert "PNG or JPEG" in detail(upload(client, other, "x.png", f"/api/networks/{net_id}/predict/image"), 422)
    assert "PNG or JPEG" in detail(upload(client, folder_zip([("cats/x.png", other)]), "x.zip"), 422)
    assert ".png" in detail(upload(client, folder_zip([(f"cats/x.{fmt.lower()}", other)]), "x.zip"), 422)


# ---------------------------------------------------------- 11. names and ids never reach the disk

_SEEN: list[str] | None = None


def _audit(event, args):
    if _SEEN is not None and event in (
        "open",
        "os.remove",
        "os.rename",
        "os.mkdir",
        "os.rmdir",
        "shutil.rmtree",
        "os.truncate",
        "os.chmod",
        "os.symlink",
        "os.link",
        "os.listdir",
        "os.scandir",
        "sqlite3.connect",
    ):
        path = args[0] if args else None
        if isinstance(path, (str, bytes, os.PathLike)):
            _SEEN.append(os.fsdecode(path))


sys.addaudithook(_audit)  # observes every file the process opens, renames or deletes while _SEEN is a list

EVIL_IDS = [
    "..",
    "%2e%2e",
    "..%2F..%2Fetc%2Fpasswd",
    "%2Fetc%2Fpasswd",
    "abc%00def",
    "ABCDEF",
    "a" * 5000,
    "..%5C..%5Cboot.ini",
    "evil%20name",
    "%252e%252e",
]


def test_names_and_ids_from_the_client_never_reach_the_file_system(client, net_id, data_dir, tmp_path):
    global _SEEN
    victim = tmp_path / "victim.npz"
    victim.write_bytes(b"keep me")
    x, y = good_arrays()
    _SEEN = []
    try:
        for evil in EVIL_IDS + [
            "..%2F..%2Fvictim",
            "..%2F" * 6 + str(victim.with_suffix("")).lstrip("/").replace("/", "%2F"),
        ]:
            for method, url in (
                ("GET", "/api/networks/{}"),
                ("DELETE", "/api/networks/{}"),
                ("PATCH", "/api/networks/{}"),
                ("POST", "/api/networks/{}/reinit"),
                ("GET", "/api/networks/{}/export"),
                ("POST", "/api/networks/{}/predict"),
                ("POST", "/api/networks/{}/runs"),
                ("GET", "/api/runs/{}"),
                ("POST", "/api/runs/{}/stop"),
                ("GET", "/api/datasets/{}/samples"),
                ("DELETE", "/api/datasets/{}"),
            ):
                r = client.request(method, url.format(evil), json={} if method in ("POST", "PATCH") else None)
                assert r.status_code in (404, 405, 422), (method, url, evil, r.status_code, r.text[:200])
                assert r.status_code != 500
        for evil in (
            "../../victim.npz",
            str(victim),
            "..\\..\\victim.npz",
            "a\x00b.npz",
            "%2e%2e%2fvictim.npz",
            "C:\\victim.npz",
            "/dev/zero.npz",
        ):
            assert upload(client, npz(x=x, y=y), evil).status_code == 201
            detail(upload(client, npz(x=x, y=y), "ok.npz", data={"name": evil}), 422)
            r = upload(client, checkpoint(TINY, weights=True), evil, "/api/networks/import", params={"name": evil})
            if "\x00" in evil:  # a network's name may hold no control character
                assert "U+0000" in detail(r, 422)
            else:
                assert r.status_code == 201
        for evil in ("..%2F..%2Fvictim", "%2e%2e", "abc%00"):
            with (
                pytest.raises(WebSocketDenialResponse) as refused,
                client.websocket_connect(f"/api/runs/{evil}/events"),
            ):
                pass
            assert refused.value.status_code == 404 and "no " in refused.value.json()["detail"]
    finally:
        seen, _SEEN = _SEEN, None
    assert victim.read_bytes() == b"keep me"
    ours = str(data_dir.resolve())
    assert any(os.path.realpath(p).startswith(ours + "/datasets/") for p in seen), "the audit hook saw no upload"
    for path in seen:
        resolved = os.path.realpath(path) if "\x00" not in path else path
        assert not any(bad in path for bad in ("..", "victim", "passwd", "boot.ini", "\x00", "evil", "%")), path
        assert resolved.startswith(ours) or not resolved.startswith(str(tmp_path)), path
    stored = sorted(p.name for p in (data_dir / "datasets").iterdir()) + sorted(
        p.name for p in (data_dir / "networks").iterdir()
    )
    assert stored and all(re.fullmatch(r"[0-9a-f]{16}\.npz", n) for n in stored), stored


# ---------------------------------------------------------------- 12. NaN and infinity, divergence


@pytest.mark.parametrize(
    "arrays,words",
    [
        (lambda x, y: {"x": np.where(x > 100, np.nan, x / 255.0), "y": y}, "NaN"),
        (lambda x, y: {"x": np.full(x.shape, np.inf), "y": y}, "NaN or infinite"),
        (lambda x, y: {"x": x / 255.0, "y": np.where(y > 0, np.nan, 0.0)}, "whole numbers"),
        (lambda x, y: {"x": x, "y": y, "x_test": np.full((2, 8, 8), -np.inf), "y_test": y[:2]}, "x_test"),
    ],
)
def test_nan_or_infinity_in_uploaded_data_is_422(client, data_dir, arrays, words):
    x, y = good_arrays()
    assert words in detail(upload(client, npz(**arrays(x, y)), "bad.npz"), 422)
    assert list((data_dir / "datasets").iterdir()) == []


@pytest.mark.parametrize("field", ["lr", "momentum", "weight_decay", "validation"])
@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_in_a_run_config_is_422(client, net_id, field, token):
    body = json.dumps(QUICK)[:-1] + f', "{field}": {token}}}'
    r = client.post(f"/api/networks/{net_id}/runs", content=body, headers={"content-type": "application/json"})
    assert field in detail(r, 422)
    assert "NaN" not in r.text.replace(token, "") and "Infinity" not in r.text.replace(token, "")


def test_a_diverging_run_ends_diverged_and_no_response_carries_nan(client, net_id):
    r = client.post(f"/api/networks/{net_id}/runs", json={**QUICK, "lr": 1e6, "momentum": 0.0})
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    texts = []
    with client.websocket_connect(f"/api/runs/{run_id}/events") as ws:
        for _ in range(10_000):
            message = ws.receive_text()
            texts.append(message)
            if json.loads(message).get("type") == "done":
                break
    run = wait_for(client, run_id)
    assert run["status"] == "diverged" and "learning rate" in run["message"]
    for url in (
        f"/api/runs/{run_id}",
        "/api/runs",
        f"/api/networks/{net_id}",
        "/api/networks",
        f"/api/networks/{net_id}/weights",
        f"/api/networks/{net_id}/stats?n=4",
    ):
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:200])
        texts.append(r.text)
    r = client.post(f"/api/networks/{net_id}/predict", json={"pixels": [[0] * 28] * 28})
    assert r.status_code == 200
    texts.append(r.text)

    def refuse(token):
        raise AssertionError(f"{token} in a response")

    for text in texts:
        json.loads(text, parse_constant=refuse)  # strict JSON: no NaN, Infinity or -Infinity anywhere
