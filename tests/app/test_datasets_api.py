"""Datasets over HTTP: listing, samples, uploads (.npz and ImageFolder .zip), bad uploads, delete, restart."""

import base64
import io
import time
import zipfile

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from app.settings import Settings


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def good_npz(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 8, 8), dtype=np.uint8)
    y = np.arange(n) % 2
    return x, y, npz_bytes(x=x, y=y, class_names=np.array(["even", "odd"]))


def folder_zip(colour=True, per_class=5) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for ci, cls in enumerate(["cats", "dogs"]):
            for i in range(per_class):
                img = Image.new("RGB" if colour else "L", (12, 10), (200, 30 * i, 40 * ci) if colour else 20 * i)
                b = io.BytesIO()
                img.save(b, format="PNG")
                z.writestr(f"{cls}/{i}.png", b.getvalue())
    return buf.getvalue()


def upload(client, content: bytes, filename="mine.npz", name=None):
    data = {"name": name} if name is not None else None
    return client.post("/api/datasets", files={"file": (filename, content, "application/octet-stream")}, data=data)


def assert_error(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"type", "title", "status", "detail", "errors"}, body
    return body["detail"]


def decode_png(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def stored_files(data_dir):
    return sorted(p.name for p in (data_dir / "datasets").iterdir())


# ---------------------------------------------------------------------------- built-ins


def test_list_has_the_builtins(client):
    r = client.get("/api/datasets")
    assert r.status_code == 200
    by_name = {d["name"]: d for d in r.json()}
    for name in ("strokes", "shapes"):
        d = by_name[name]
        assert d["source"] == "generated" and d["cached"] and not d["deletable"]
        assert len(d["shape"]) == 3 and d["num_classes"] == len(d["class_names"]) >= 2
        for key in ("title", "kind", "train_size", "test_size", "description"):
            assert key in d
    assert by_name["mnist"]["source"] == "download" and by_name["mnist"]["cached"] is False


def test_the_builtins_made_to_overfit_are_listed_and_trainable(client):
    by_name = {d["name"]: d for d in client.get("/api/datasets").json()}
    hard = by_name["strokes-hard"]
    assert hard["source"] == "generated" and hard["train_size"] == 1000 and hard["test_size"] == 2000
    assert "overfitting" in hard["description"] and "15% of their labels wrong" in hard["description"]
    assert by_name["shapes-hard"]["shape"] == [3, 32, 32]
    net = client.post("/api/networks", json={"preset": "lenet5"}).json()["id"]
    r = client.post(f"/api/networks/{net}/runs", json={"dataset": "strokes-hard", "epochs": 2})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 60
    while (run := client.get(f"/api/runs/{r.json()['id']}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, run
        time.sleep(0.05)
    assert run["status"] == "completed", run
    assert run["metrics"]["test_accuracy"] is not None
    assert [e["epoch"] for e in run["history"] if e["type"] == "epoch"] == [1, 2]


def test_samples_png_and_array(client):
    r = client.get("/api/datasets/strokes/samples", params={"n": 5, "offset": 3})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["dataset"] == "strokes" and page["split"] == "train" and page["offset"] == 3
    assert page["total"] > 8 and len(page["items"]) == 5
    c, h, w = page["shape"]
    assert page["stats"]["width"] == w and page["stats"]["height"] == h and page["stats"]["depth"] == c
    for k, item in enumerate(page["items"]):
        assert item["index"] == 3 + k
        assert page["class_names"][item["label"]] == item["class_name"]
        img = decode_png(item["png"])
        assert img.shape[:2] == (h, w)
        s = item["stats"]
        assert (s["width"], s["height"], s["depth"]) == (w, h, c) and 0 <= s["min"] <= s["max"] <= 255
        assert s["min"] == int(img.min()) and s["max"] == int(img.max())

    arr = client.get("/api/datasets/strokes/samples", params={"n": 5, "offset": 3, "format": "array"}).json()
    for a, p in zip(arr["items"], page["items"]):
        pixels = np.array(a["pixels"])
        assert pixels.shape == (c, h, w) and a["label"] == p["label"]
        assert (pixels[0] == decode_png(p["png"])).all() if c == 1 else True
        assert pixels.min() == a["stats"]["min"] and pixels.max() == a["stats"]["max"]

    test = client.get("/api/datasets/shapes/samples", params={"split": "test", "n": 2}).json()
    assert test["split"] == "test" and len(test["items"]) == 2


@pytest.mark.parametrize(
    "params", [{"n": 0}, {"n": 10_000}, {"offset": -1}, {"offset": 10**6}, {"split": "valid"}, {"format": "gif"}]
)
def test_samples_out_of_range_is_422(client, params):
    detail = assert_error(client.get("/api/datasets/strokes/samples", params=params), 422)
    if params.get("offset") == 10**6:
        assert "offset" in detail and "out of range" in detail


def test_unknown_dataset_is_404(client):
    assert_error(client.get("/api/datasets/nope/samples"), 404)
    assert_error(client.get("/api/datasets/..%2F..%2Fetc%2Fpasswd/samples"), 404)
    assert_error(client.delete("/api/datasets/nope"), 404)


def test_builtin_cannot_be_deleted(client):
    detail = assert_error(client.delete("/api/datasets/strokes"), 409)
    assert "built-in" in detail
    assert_error(client.delete("/api/datasets/mnist"), 409)


# ---------------------------------------------------------------------------- uploads


def test_upload_npz_in_keras_layout_with_text_labels(client):
    x, y, _ = good_npz()
    words = np.array(["odd", "even"])[y]
    content = npz_bytes(x_train=x[:30], y_train=words[:30], x_test=x[30:], y_test=words[30:])
    r = upload(client, content, "keras.npz")
    assert r.status_code == 201, r.text
    ds = r.json()
    assert ds["class_names"] == ["even", "odd"] and ds["train_size"] == 30 and ds["test_size"] == 10


def test_upload_npz_then_list_samples_load_delete(client, data_dir):
    x, y, content = good_npz()
    r = upload(client, content, "my arrays.npz", name="My set")
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["name"] == "My set" and d["source"] == "upload" and d["deletable"]
    assert d["shape"] == [1, 8, 8] and d["class_names"] == ["even", "odd"]
    assert d["train_size"] + d["test_size"] == len(x)
    assert "My set" in [e["name"] for e in client.get("/api/datasets").json()]

    page = client.get("/api/datasets/My set/samples", params={"n": 3, "format": "array"}).json()
    assert len(page["items"]) == 3 and page["class_names"] == ["even", "odd"]

    services = client.app.state.services
    ds = services.datasets.load("My set")
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    both_x = np.concatenate([ds.x_train, ds.x_test])[:, 0]
    both_y = np.concatenate([ds.y_train, ds.y_test])
    # the split is a permutation of the uploaded examples, labels kept with their images
    order = np.lexsort(both_x.reshape(len(both_x), -1).T)
    ref = np.lexsort(x.reshape(len(x), -1).T)
    assert (both_x[order] == x[ref]).all() and (both_y[order] == y[ref]).all()
    assert np.array(page["items"][0]["pixels"])[0].tolist() == ds.x_train[0, 0].tolist()

    files = stored_files(data_dir)
    assert len(files) == 1 and files[0].endswith(".npz") and "My" not in files[0]
    with np.load(data_dir / "datasets" / files[0], allow_pickle=False) as z:
        assert sorted(z.files) == ["class_names", "x_test", "x_train", "y_test", "y_train"]
        assert z["class_names"].dtype.kind == "U"

    assert client.delete("/api/datasets/My set").status_code == 204
    assert stored_files(data_dir) == []
    assert "My set" not in [e["name"] for e in client.get("/api/datasets").json()]
    assert_error(client.get("/api/datasets/My set/samples"), 404)


def test_upload_zip_image_folder_colour(client):
    r = upload(client, folder_zip(colour=True), "pets.zip")
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["name"] == "pets" and d["shape"] == [3, 10, 12] and d["class_names"] == ["cats", "dogs"]
    page = client.get("/api/datasets/pets/samples", params={"n": 2}).json()
    item = page["items"][0]
    assert decode_png(item["png"]).shape == (10, 12, 3)
    assert len(item["channels"]) == 3 and decode_png(item["channels"][0]).shape == (10, 12)
    assert item["stats"]["depth"] == 3
    # the default name is taken: the next upload with the same file name gets another one
    again = upload(client, folder_zip(colour=False), "pets.zip")
    assert again.status_code == 201 and again.json()["name"] == "pets-2" and again.json()["shape"] == [1, 10, 12]


def test_upload_survives_a_restart(data_dir):
    with TestClient(create_app(Settings(data_dir=data_dir))) as c1:
        assert upload(c1, good_npz()[2], "keep.npz").status_code == 201
    with TestClient(create_app(Settings(data_dir=data_dir))) as c2:
        assert "keep" in [d["name"] for d in c2.get("/api/datasets").json()]
        assert c2.get("/api/datasets/keep/samples", params={"n": 1}).status_code == 200


def test_bad_uploads_are_422_and_leave_nothing(client, data_dir):
    x, y, _ = good_npz()
    objects = npz_bytes(x=np.array([x[0], "text"], dtype=object), y=y[:2])
    assert "not allowed" in assert_error(upload(client, objects, "obj.npz"), 422)
    nan = npz_bytes(x=np.where(x > 100, np.nan, x / 255.0), y=y)
    assert "NaN" in assert_error(upload(client, nan, "nan.npz"), 422)
    inf = npz_bytes(x=np.full((4, 5, 5), np.inf), y=np.array([0, 1, 0, 1]))
    assert_error(upload(client, inf, "inf.npz"), 422)
    junk = np.random.default_rng(1).bytes(3000)
    assert_error(upload(client, junk, "junk.npz"), 422)
    assert_error(upload(client, junk, "junk.zip"), 422)
    missing_y = npz_bytes(x=x)
    assert "'y'" in assert_error(upload(client, missing_y, "nolabels.npz"), 422)
    detail = assert_error(upload(client, good_npz()[2], "data.csv"), 422)
    assert ".npz" in detail and ".zip" in detail
    assert_error(upload(client, good_npz()[2], "noext"), 422)
    assert stored_files(data_dir) == []
    assert [d for d in client.get("/api/datasets").json() if d["source"] == "upload"] == []


def test_missing_file_or_malformed_multipart(client):
    assert "'file'" in assert_error(client.post("/api/datasets", data={"name": "x"}), 422)
    r = client.post(
        "/api/datasets", content=b"--nope\r\ngarbage", headers={"content-type": "multipart/form-data; boundary=zzz"}
    )
    assert "multipart" in assert_error(r, 400)
    two = client.post("/api/datasets", files=[("file", ("a.npz", b"1")), ("file", ("b.npz", b"2"))])
    assert "only as IDX files" in assert_error(two, 422)  # several files are one IDX dataset
    five = client.post("/api/datasets", files=[("file", (f"{i}.npz", b"1")) for i in range(5)])
    assert "multipart" in assert_error(five, 400)
    huge_field = client.post("/api/datasets", files={"file": ("a.npz", b"1")}, data={"name": "x" * 100_000})
    assert_error(huge_field, 400)
    body = client.get("/openapi.json").json()["paths"]["/api/datasets"]["post"]["requestBody"]
    assert "file" in body["content"]["multipart/form-data"]["schema"]["properties"]


def test_upload_larger_than_the_limit_is_413(data_dir):
    with TestClient(create_app(Settings(data_dir=data_dir, max_upload_bytes=10_000))) as c:
        assert_error(upload(c, b"\0" * 20_000, "big.npz"), 413)
        assert stored_files(data_dir) == []


def test_names(client, data_dir):
    content = good_npz()[2]
    assert upload(client, content, "a.npz", name="taken").status_code == 201
    assert "already exists" in assert_error(upload(client, content, "b.npz", name="taken"), 409)
    assert_error(upload(client, content, "b.npz", name="TAKEN"), 409)
    assert "built-in" in assert_error(upload(client, content, "b.npz", name="mnist"), 409)
    assert_error(upload(client, content, "b.npz", name="Strokes"), 409)
    for bad in ("../evil", "a/b", "bad\x00name", "x" * 65, "..", "-lead"):
        assert_error(upload(client, content, "b.npz", name=bad), 422)
    # a hostile file name is only ever a display name, sanitized
    r = upload(client, content, "../../outside.npz")
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "outside"
    r = upload(client, content, "..\\..\\we ird\x01名前.npz")
    assert r.status_code == 201, r.text
    assert "/" not in r.json()["name"] and "\\" not in r.json()["name"] and "\x01" not in r.json()["name"]
    root = data_dir.parent
    assert sorted(p.name for p in root.iterdir()) == ["data"]
    assert all(len(f) == 20 and f.endswith(".npz") for f in stored_files(data_dir))


def test_too_large_once_decoded(data_dir):
    settings = Settings(data_dir=data_dir, max_dataset_bytes=1000)
    with TestClient(create_app(settings)) as c:
        r = upload(c, good_npz(n=40)[2], "big.npz")  # 40 * 64 bytes of pixels, more than 1000
        assert r.status_code in (413, 422), r.text
        assert set(r.json()) == {"type", "title", "status", "detail", "errors"}
        assert stored_files(data_dir) == []


def test_delete_refused_while_in_use(client, data_dir):
    assert upload(client, good_npz()[2], "used.npz").status_code == 201
    services = client.app.state.services
    services.datasets.is_in_use = lambda name: name == "used"
    assert "active run" in assert_error(client.delete("/api/datasets/used"), 409)
    services.datasets.is_in_use = lambda name: False
    assert client.delete("/api/datasets/used").status_code == 204


def test_failed_db_insert_removes_the_file(client, data_dir, monkeypatch):
    services = client.app.state.services

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.db, "insert_dataset", broken)
    with pytest.raises(RuntimeError):
        services.datasets.upload("x.npz", good_npz()[2], None)
    assert stored_files(data_dir) == []


def test_downloaded_dataset_from_a_local_folder(client, data_dir, monkeypatch, tmp_path):
    """MNIST files placed by hand in $CNN_PLAYGROUND_DATASETS are used, nothing is downloaded."""
    from engine.data import download as dl
    from engine.data import write_idx

    folder = tmp_path / "dl" / "mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = {k: rf.filename[:-3] if rf.filename.endswith(".gz") else rf.filename for k, rf in dl.FILES["mnist"].items()}
    for split, n in (("train", 30), ("test", 10)):
        write_idx(folder / names[f"{split}_images"], rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / names[f"{split}_labels"], (np.arange(n) % 10).astype(np.uint8))
    monkeypatch.setenv("CNN_PLAYGROUND_DATASETS", str(tmp_path / "dl"))
    monkeypatch.setattr(dl, "fetch", lambda *a, **k: pytest.fail("tried to download"))
    d = {e["name"]: e for e in client.get("/api/datasets").json()}["mnist"]
    assert d["cached"] is True
    page = client.get("/api/datasets/mnist/samples", params={"n": 4, "split": "test"}).json()
    assert page["total"] == 10 and [i["label"] for i in page["items"]] == [0, 1, 2, 3]


# ---------------------------------------------------------------------------- no server internals


def strings(value):
    """Every string in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)


@pytest.mark.parametrize("content, filename", [(good_npz()[2], "digits.npz"), (folder_zip(), "pets.zip")])
def test_an_upload_is_described_by_its_own_file_name_not_a_temporary_one(client, content, filename):
    d = upload(client, content, filename).json()
    assert filename in d["description"]
    assert ".upload-" not in d["description"] and ".tmp" not in d["description"]
    listed = {e["name"]: e for e in client.get("/api/datasets").json()}[d["name"]]
    assert listed["description"] == d["description"]


def test_the_dataset_list_shows_no_server_paths(client, data_dir, monkeypatch, tmp_path):
    for root in (None, tmp_path / "elsewhere"):
        if root is not None:
            monkeypatch.setenv("CNN_PLAYGROUND_DATASETS", str(root))
        listing = client.get("/api/datasets").json()
        assert all("folder" not in d for d in listing)
        leaks = [s for s in strings(listing) if str(data_dir) in s or str(tmp_path) in s]
        assert not leaks, leaks


# ---------------------------------------------------------------------------- not downloaded


def fake_mnist(folder, n_train=30, n_test=10):
    """MNIST's four files, uncompressed and tiny (the IDX reader checks them, not a checksum)."""
    from engine.data import download as dl
    from engine.data import write_idx

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    files = {k: rf.filename.removesuffix(".gz") for k, rf in dl.FILES["mnist"].items()}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        write_idx(folder / files[f"{split}_images"], images)
        write_idx(folder / files[f"{split}_labels"], (np.arange(n) % 10).astype(np.uint8))


def assert_one_short_sentence(detail: str):
    assert len(detail) < 200 and "urlopen" not in detail and "http" not in detail, detail
    assert "README" in detail and "CNN_PLAYGROUND_DATASETS" in detail, detail


@pytest.fixture
def offline_client(data_dir, monkeypatch):
    from engine.data import download as dl

    monkeypatch.delenv("CNN_PLAYGROUND_DATASETS", raising=False)
    monkeypatch.setattr(dl, "fetch", lambda *a, **k: pytest.fail("tried to download"))
    with TestClient(create_app(Settings(data_dir=data_dir, offline=True))) as c:
        yield c


def test_an_offline_server_lists_what_is_not_downloaded_with_how_to_get_it(offline_client):
    by_name = {d["name"]: d for d in offline_client.get("/api/datasets").json()}
    for name in ("mnist", "fashion-mnist", "cifar10"):
        d = by_name[name]
        assert d["cached"] is False and d["downloadable"] is False
        assert d["how_to_get"].startswith("Not downloaded, and this server works offline")
        assert_one_short_sentence(d["how_to_get"])
    assert "how_to_get" not in by_name["strokes"]
    for r in (
        offline_client.get("/api/datasets/cifar10/samples"),
        offline_client.post("/api/datasets/cifar10/download"),
    ):
        assert r.status_code == 422
        detail = r.json()["detail"]
        assert detail.startswith("CIFAR-10 is not downloaded, and this server works offline")
        assert_one_short_sentence(detail)


def test_a_download_that_fails_says_so_in_one_sentence(client, monkeypatch):
    from engine.data import DatasetError
    from engine.data import download as dl

    def no_internet(name, *a, **k):
        raise DatasetError(
            f"could not download {dl.MIRRORS[name][0]}x: <urlopen error [Errno -3] "
            "Temporary failure in name resolution>"
        )

    monkeypatch.setattr(dl, "fetch", no_internet)
    mnist = {d["name"]: d for d in client.get("/api/datasets").json()}["mnist"]
    assert mnist["downloadable"] is True and "Download fetches it (12 MB" in mnist["how_to_get"]
    assert_one_short_sentence(mnist["how_to_get"])
    net = client.post("/api/networks", json={"preset": "lenet5"}).json()["id"]
    for r in (
        client.get("/api/datasets/mnist/samples"),
        client.post("/api/datasets/mnist/download"),
        client.post(f"/api/networks/{net}/runs", json={"dataset": "mnist"}),
    ):
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert detail.startswith("MNIST is not downloaded, and the server could not download it")
        assert_one_short_sentence(detail)


def test_download_brings_a_dataset_to_the_server(client, monkeypatch, tmp_path):
    from engine.data import download as dl

    monkeypatch.setenv("CNN_PLAYGROUND_DATASETS", str(tmp_path / "dl"))
    monkeypatch.setattr(dl, "fetch", lambda name, folder, files, **k: fake_mnist(folder))
    r = client.post("/api/datasets/mnist/download")
    assert r.status_code == 200, r.text
    assert r.json()["cached"] is True and r.json()["how_to_get"] is None
    assert client.get("/api/datasets/mnist/samples", params={"split": "test"}).json()["total"] == 10
    assert client.post("/api/datasets/strokes/download").json()["name"] == "strokes"
    assert client.post("/api/datasets/nothing/download").status_code == 404
