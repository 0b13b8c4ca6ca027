"""CIFAR-10 batch reading with a restricted unpickler, and the full cifar10 loader."""

import functools
import hashlib
import http.server
import io
import os
import pickle
import tarfile
import threading

import numpy as np
import pytest

from engine.data import DatasetError, cifar, load_dataset
from engine.data import download as dl


def _batch(n=12, seed=0, str_keys=False, protocol=2):
    rng = np.random.default_rng(seed)
    d = {
        b"batch_label": b"testing batch 1 of 1",
        b"labels": [int(v) for v in rng.integers(0, 10, size=n)],
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [b"f%d.png" % i for i in range(n)],
    }
    if str_keys:
        d = {k.decode(): v for k, v in d.items()}
    return d, pickle.dumps(d, protocol=protocol)


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("str_keys", [False, True])
def test_read_batch(tmp_path, protocol, str_keys):
    d, raw = _batch(str_keys=str_keys, protocol=protocol)
    p = tmp_path / "data_batch_1"
    p.write_bytes(raw)
    x, y = cifar.read_batch(p, md5=hashlib.md5(raw).hexdigest())
    key = "data" if str_keys else b"data"
    np.testing.assert_array_equal(x, d[key].reshape(-1, 3, 32, 32))
    assert y.dtype == np.int64 and list(y) == d["labels" if str_keys else b"labels"]


def test_md5_checked_before_unpickling(tmp_path):
    _, raw = _batch()
    p = tmp_path / "data_batch_1"
    p.write_bytes(raw)
    with pytest.raises(DatasetError, match="md5"):
        cifar.read_batch(p, md5="0" * 32)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo should-never-run > /dev/null",))


class _Evil2:
    def __reduce__(self):
        return (eval, ("1+1",))


@pytest.mark.parametrize("payload", [_Evil(), _Evil2(), {"data": _Evil()}, [1, 2, {b"x": _Evil2()}]])
def test_malicious_pickle_refused(tmp_path, payload):
    raw = pickle.dumps(payload, protocol=2)
    p = tmp_path / "data_batch_1"
    p.write_bytes(raw)
    with pytest.raises(DatasetError, match="refusing to unpickle"):
        cifar.read_batch(p, md5=hashlib.md5(raw).hexdigest())


@pytest.mark.parametrize(
    "obj, message",
    [
        ([1, 2, 3], "expected a dict"),
        ({b"labels": [0]}, "no 'data'"),
        ({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}, "3072"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "one label per row"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 12]}, "0..9"),
    ],
)
def test_bad_batch_content(obj, message):
    with pytest.raises(DatasetError, match=message):
        cifar.parse_batch_bytes(pickle.dumps(obj, protocol=2))


def test_garbage_bytes():
    with pytest.raises(DatasetError, match="cannot read CIFAR batch"):
        cifar.parse_batch_bytes(b"\x80\x02garbage")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_load_cifar10_end_to_end(tmp_path, monkeypatch):
    """Serve a miniature cifar-10-python.tar.gz locally and load it through load_dataset."""
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    www = tmp_path / "www"
    www.mkdir()
    md5s = {}
    archive = www / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
            _, raw = _batch(n=4, seed=i)
            md5s[name] = hashlib.md5(raw).hexdigest()
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
        evil = tarfile.TarInfo("../../escape.txt")  # never extracted: only known names are read
        evil.size = 3
        tar.addfile(evil, io.BytesIO(b"bad"))
    monkeypatch.setattr(dl, "CIFAR_BATCH_MD5", md5s)
    monkeypatch.setitem(
        dl.FILES, "cifar10", {"archive": dl.RemoteFile(archive.name, hashlib.md5(archive.read_bytes()).hexdigest(), 1)}
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(www)))
    t = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    t.start()
    try:
        ds = load_dataset("cifar10", root=tmp_path / "data", base_url=f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(5)
    assert (len(ds.x_train), len(ds.x_test)) == (20, 4)
    assert ds.shape == (3, 32, 32) and ds.num_classes == 10 and ds.kind == "images"
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "data" / "escape.txt").exists()
    # later loads read the extracted batches, offline
    archive.unlink()
    ds2 = load_dataset("cifar10", root=tmp_path / "data", download=False)
    np.testing.assert_array_equal(ds2.x_test, ds.x_test)
    # a tampered extracted batch is refused before unpickling
    bad = tmp_path / "data" / "cifar10" / "cifar-10-batches-py" / "data_batch_3"
    bad.write_bytes(pickle.dumps(_Evil(), protocol=2))
    with pytest.raises(DatasetError, match="md5"):
        load_dataset("cifar10", root=tmp_path / "data", download=False)
