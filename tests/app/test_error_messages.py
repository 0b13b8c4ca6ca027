"""Messages for mistakes a Python user makes: each says what was wrong and how to fix it."""

import io
import json
import zipfile

import numpy as np

import engine
from engine.data import write_idx


def _msgs(r) -> str:
    assert r.status_code == 422, r.text[:300]
    return r.json()["detail"]


def test_an_unknown_augment_key_lists_the_keys_augment_takes(client, lenet):
    r = client.post(f"/api/networks/{lenet['id']}/runs", json={"augment": {"rotate": 5}})
    text = _msgs(r)
    assert "augment takes shift, crop, flip, noise" in text, text
    assert r.json()["errors"][0]["loc"] == ["body", "augment", "rotate"]


def test_an_unknown_top_level_key_lists_the_body_s_keys(client, lenet):
    text = _msgs(client.post(f"/api/networks/{lenet['id']}/runs", json={"learning_rate": 0.1}))
    assert "the body takes dataset, epochs" in text and "lr" in text, text


def test_a_nan_learning_rate_must_be_a_finite_number(client, lenet):
    r = client.post(
        f"/api/networks/{lenet['id']}/runs", content=b'{"lr": NaN}', headers={"content-type": "application/json"}
    )
    text = _msgs(r)
    assert "must be a finite number" in text and "less than" not in text, text
    assert client.get("/api/runs").json() == []


def test_predict_with_a_dataset_and_no_index_asks_for_the_index(client, lenet):
    r = client.post(f"/api/networks/{lenet['id']}/predict", json={"dataset": "strokes"})
    text = _msgs(r)
    assert r.json()["errors"][0]["loc"][-1] == "index" and "'index'" in text, text


def test_importing_the_pytorch_export_says_to_import_the_npz(client, lenet):
    data = client.get(f"/api/networks/{lenet['id']}/export?format=pytorch").content
    text = _msgs(client.post("/api/networks/import", files={"file": ("lenet-pytorch.zip", data)}))
    assert "PyTorch export" in text and "import its .npz export" in text, text


def test_an_npz_named_zip_is_read_as_the_npz_it_is(client, lenet):
    data = client.get(f"/api/networks/{lenet['id']}/export?format=npz").content
    r = client.post("/api/networks/import", files={"file": ("lenet.zip", data)})
    assert r.status_code == 201 and r.json()["name"] == "LeNet"
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buf, x=rng.integers(0, 256, (20, 8, 8), dtype=np.uint8), y=np.arange(20) % 2)
    r = client.post("/api/datasets", files={"file": ("pairs.zip", buf.getvalue())})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "pairs" and "npz arrays" in r.json()["description"]


def test_export_and_import_keep_name_and_seed_in_every_format(client):
    net = client.post("/api/networks", json={"preset": "lenet5", "name": "Seeded", "seed": 7}).json()
    for fmt, filename in (("npz", "file.npz"), ("json", "file.json")):
        data = client.get(f"/api/networks/{net['id']}/export?format={fmt}").content
        copy = client.post("/api/networks/import", files={"file": (filename, data)}).json()
        assert (copy["name"], copy["seed"]) == ("Seeded", 7), (fmt, copy)
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/api/networks/{net['id']}/export?format=pytorch").content))
    saved = json.loads(z.read("network.json"))
    assert (saved["name"], saved["seed"]) == ("Seeded", 7)


def _idx_files(tmp_path, n=30):
    rng = np.random.default_rng(1)
    files = {}
    for prefix, count in (("train", n), ("t10k", n // 3)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (count, 6, 6), dtype=np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(count) % 3).astype(np.uint8))
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{prefix}-{kind}-ubyte.gz"
            files[name] = (tmp_path / name).read_bytes()
    return files


def test_idx_files_upload_as_separate_fields(client, tmp_path):
    files = _idx_files(tmp_path)
    r = client.post("/api/datasets", files=[("file", (k, v)) for k, v in files.items()], data={"name": "my digits"})
    assert r.status_code == 201, r.text
    row = r.json()
    assert (row["name"], row["train_size"], row["test_size"], row["shape"]) == ("my digits", 30, 10, [1, 6, 6])
    assert "/tmp" not in row["description"] and "IDX files" in row["description"]


def test_idx_files_upload_in_one_zip(client, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in _idx_files(tmp_path).items():
            z.writestr(f"mnist/{k}", v)
    r = client.post("/api/datasets", files={"file": ("mnist-like.zip", buf.getvalue())})
    assert r.status_code == 201, r.text
    assert (r.json()["train_size"], r.json()["test_size"]) == (30, 10)


def test_an_idx_image_file_without_its_labels_says_to_send_both(client, tmp_path):
    files = _idx_files(tmp_path)
    name = "train-images-idx3-ubyte.gz"
    text = _msgs(client.post("/api/datasets", files={"file": (name, files[name])}))
    assert "label file" in text and "'file' fields" in text, text
    assert client.get("/api/datasets").json() == [
        d for d in client.get("/api/datasets").json() if d["source"] != "upload"
    ]


def test_the_npz_the_engine_saves_imports_with_its_seed(client):
    net = engine.build_network(engine.PRESETS["lenet5"], seed=11)
    data = engine.io.to_bytes(net, meta={"name": "from a script"})
    r = client.post("/api/networks/import", files={"file": ("x.npz", data)})
    assert (r.json()["name"], r.json()["seed"]) == ("from a script", 11)
