"""Downloads from a local http.server on 127.0.0.1, the env-var directory and offline errors."""

import functools
import hashlib
import http.server
import io
import itertools
import threading

import numpy as np
import pytest

from engine.data import DatasetError, ProgressBar, list_datasets, load_dataset, write_idx
from engine.data import download as dl


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """Serve tmp_path/'www' on 127.0.0.1 (a free port) and yield (base_url, folder)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", www
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def _md5(p):
    return hashlib.md5(p.read_bytes()).hexdigest()


def _fake_mnist(folder, n_train=40, n_test=10, only=None):
    """Write tiny MNIST-format files; return {key: RemoteFile} with their real md5s."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    spec = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        key = "train" if split == "train" else "test"
        img = folder / f"{split}-images-idx3-ubyte.gz"
        lab = folder / f"{split}-labels-idx1-ubyte.gz"
        write_idx(img, rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8))
        write_idx(lab, (np.arange(n) % 10).astype(np.uint8))
        spec[f"{key}_images"] = dl.RemoteFile(img.name, _md5(img), img.stat().st_size)
        spec[f"{key}_labels"] = dl.RemoteFile(lab.name, _md5(lab), lab.stat().st_size)
    return spec


def test_download_file_with_progress(server, tmp_path):
    base, www = server
    payload = np.random.default_rng(1).bytes(300_000)
    (www / "blob.bin").write_bytes(payload)
    calls = []
    dest = tmp_path / "cache" / "blob.bin"
    dl.download_file(
        base + "blob.bin",
        dest,
        hashlib.md5(payload).hexdigest(),
        progress=lambda f, done, total: calls.append((f, done, total)),
        chunk=65536,
    )
    assert dest.read_bytes() == payload
    assert calls[0] == ("blob.bin", 0, len(payload))
    assert calls[-1] == ("blob.bin", len(payload), len(payload))
    assert len(calls) >= 5 and all(a[1] <= b[1] for a, b in itertools.pairwise(calls))
    assert [p.name for p in dest.parent.iterdir()] == ["blob.bin"]  # no temp file left


def test_md5_mismatch_deletes_temp_file(server, tmp_path):
    base, www = server
    (www / "blob.bin").write_bytes(b"not what you expected")
    dest = tmp_path / "cache" / "blob.bin"
    with pytest.raises(DatasetError, match="checksum mismatch"):
        dl.download_file(base + "blob.bin", dest, "0" * 32)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_http_error(server, tmp_path):
    base, _ = server
    with pytest.raises(DatasetError, match="could not download"):
        dl.download_file(base + "missing.bin", tmp_path / "cache" / "x.bin", None)
    assert list((tmp_path / "cache").iterdir()) == []


def test_progress_bar_output():
    out = io.StringIO()
    bar = ProgressBar(stream=out, min_interval=0)
    bar("f.gz", 0, 100)
    bar("f.gz", 50, 100)
    bar("f.gz", 100, 100)
    text = out.getvalue()
    assert "50.0%" in text and "100.0%" in text and text.endswith("\n")


def test_load_mnist_downloads_then_uses_cache(server, tmp_path, monkeypatch):
    base, www = server
    spec = _fake_mnist(www)
    monkeypatch.setitem(dl.FILES, "mnist", spec)
    root = tmp_path / "data"
    seen = []
    ds = load_dataset("mnist", root=root, base_url=base, progress=lambda f, d, t: seen.append(f))
    assert (len(ds.x_train), len(ds.x_test)) == (40, 10)
    assert ds.kind == "digits" and ds.shape == (1, 28, 28)
    assert set(seen) == {rf.filename for rf in spec.values()}
    assert sorted(p.name for p in (root / "mnist").iterdir()) == sorted(rf.filename for rf in spec.values())
    # second load: no network (a base_url that cannot answer) and no download allowed
    for f in www.iterdir():
        f.unlink()
    ds2 = load_dataset("mnist", root=root, download=False)
    np.testing.assert_array_equal(ds2.x_train, ds.x_train)
    assert {d["name"]: d["cached"] for d in list_datasets(root)}["mnist"] is True


def test_mirror_list_is_used_in_order(server, tmp_path, monkeypatch):
    base, www = server
    spec = _fake_mnist(www)
    monkeypatch.setitem(dl.FILES, "mnist", spec)
    monkeypatch.setitem(dl.MIRRORS, "mnist", [base + "nothing-here/", base])
    ds = load_dataset("mnist", root=tmp_path / "data")
    assert len(ds.x_test) == 10


def test_download_checksum_mismatch_is_reported(server, tmp_path, monkeypatch):
    base, www = server
    spec = _fake_mnist(www)
    spec["train_images"] = dl.RemoteFile(spec["train_images"].filename, "f" * 32, 1)
    monkeypatch.setitem(dl.FILES, "mnist", spec)
    with pytest.raises(DatasetError, match="checksum mismatch"):
        load_dataset("mnist", root=tmp_path / "data", base_url=base)
    assert not (tmp_path / "data" / "mnist" / "train-images-idx3-ubyte.gz").exists()
    assert not [p for p in (tmp_path / "data" / "mnist").iterdir() if p.name.endswith(".part")]


def test_env_var_directory_needs_no_download(tmp_path, monkeypatch):
    spec = _fake_mnist(tmp_path / "datasets" / "mnist")
    monkeypatch.setitem(dl.FILES, "mnist", spec)
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path / "datasets"))
    monkeypatch.setitem(dl.MIRRORS, "mnist", ["http://127.0.0.1:9/never-used/"])
    ds = load_dataset("mnist")
    assert len(ds.x_train) == 40
    assert dl.data_root() == tmp_path / "datasets"


def test_corrupt_cached_file_is_reported(tmp_path, monkeypatch):
    spec = _fake_mnist(tmp_path / "mnist")
    monkeypatch.setitem(dl.FILES, "mnist", spec)
    p = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(DatasetError, match="delete it"):
        load_dataset("mnist", root=tmp_path, download=False)


def test_offline_message_names_files_and_folder(tmp_path, monkeypatch):
    with pytest.raises(DatasetError) as info:
        load_dataset("fashion-mnist", root=tmp_path, download=False)
    msg = str(info.value)
    for f in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        assert f in msg
    assert str(tmp_path / "fashion-mnist") in msg and dl.ENV_VAR in msg


def test_failed_download_gives_offline_message(server, tmp_path):
    base, _ = server  # serves an empty folder: every file is a 404
    with pytest.raises(DatasetError) as info:
        load_dataset("cifar10", root=tmp_path, base_url=base)
    msg = str(info.value)
    assert "cifar-10-python.tar.gz" in msg and str(tmp_path / "cifar10") in msg and "download failed" in msg
    assert list((tmp_path / "cifar10").iterdir()) == []


def test_test_only_folder_as_named_dataset_is_a_clear_error(tmp_path, monkeypatch):
    spec = _fake_mnist(tmp_path / "mnist")
    monkeypatch.setitem(dl.FILES, "mnist", spec)
    for f in (tmp_path / "mnist").glob("train-*"):
        f.unlink()
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz"):
        load_dataset("mnist", root=tmp_path, download=False)
    # ... while loading the folder by path gives a test-only dataset
    ds = load_dataset(tmp_path / "mnist")
    assert ds.test_only and len(ds.x_test) == 10


def test_list_datasets(tmp_path):
    rows = {r["name"]: r for r in list_datasets(tmp_path)}
    assert set(rows) == {"shapes", "strokes", "shapes-hard", "strokes-hard", "mnist", "fashion-mnist", "cifar10"}
    assert rows["cifar10"]["shape"] == [3, 32, 32] and rows["cifar10"]["cached"] is False
    assert rows["strokes"]["kind"] == "digits" and rows["shapes"]["num_classes"] == len(rows["shapes"]["class_names"])
    assert rows["mnist"]["train_size"] == 60000
