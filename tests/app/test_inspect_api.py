"""Looking inside networks over REST: predict, activations, weights, stats, saliency, occlusion, gradcheck."""

import base64
import io
import time

import numpy as np
import pytest
from PIL import Image

import engine
from tests.app.conftest import make_network

SAMPLE = {"dataset": "strokes", "split": "test", "index": 3}
TINY = {
    "input": [1, 8, 8],
    "layers": [
        {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "name": "c"},
        {"type": "relu"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 3, "name": "fc"},
    ],
}


@pytest.fixture(scope="module")
def client(module_client):
    return module_client


make = make_network


@pytest.fixture(scope="module")
def lenet(client):
    return make(client, preset="lenet5")


@pytest.fixture(scope="module")
def tiny(client):
    return make(client, spec=TINY)


def entry(client, id):
    return client.app.state.services.networks.entry(id)


def local_net(client, id):
    with entry(client, id).reading() as net:
        return net.copy()


def digit_pixels(seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(28, 28)).astype(float)


def loc_of(r):
    return [e["loc"] for e in r.json()["errors"]]


# ---- predict ---------------------------------------------------------------------------------
def test_predict_a_dataset_sample(client, lenet):
    r = client.post(f"/api/networks/{lenet}/predict", json=SAMPLE)
    assert r.status_code == 200, r.text
    body = r.json()
    p = np.array(body["probabilities"])
    assert p.shape == (10,) and p.sum() == pytest.approx(1, abs=1e-5)
    assert body["class_names"] == [str(i) for i in range(10)] and body["predicted"] == int(p.argmax())
    assert [t["probability"] for t in body["top"]] == sorted(p, reverse=True)[:5]
    assert body["top"][0]["class"] == body["class_names"][body["predicted"]]
    ds = client.app.state.services.datasets.load("strokes")
    assert body["label"] == int(ds.y_test[3])
    np.testing.assert_allclose(p, local_net(client, lenet).predict_proba(ds.normalize(ds.x_test[3]))[0], atol=1e-6)


def test_predict_says_whether_the_weights_are_trained(client):
    id = make(client, preset="lenet5", seed=5)
    body = client.post(f"/api/networks/{id}/predict", json=SAMPLE).json()
    assert body["weights"] == {"state": "untrained", "runs": 0, "epochs": 0, "steps": 0, "run": None, "status": None}
    quick = {"dataset": "strokes", "epochs": 1, "batch_size": 50, "max_train": 200, "validation": 0.25}
    run = client.post(f"/api/networks/{id}/runs", json=quick).json()["id"]
    deadline = time.monotonic() + 120
    while client.get(f"/api/runs/{run}").json()["status"] != "completed":
        assert time.monotonic() < deadline, "the run did not complete"
        time.sleep(0.05)
    weights = client.post(f"/api/networks/{id}/predict", json=SAMPLE).json()["weights"]
    assert weights["state"] == "trained" and weights["runs"] == 1 and weights["run"] == run
    assert weights["epochs"] == 1 and weights["steps"] > 0 and weights["status"] is None


@pytest.mark.parametrize(
    "outputs,words",
    [
        (12, "it has 12 outputs but strokes has 10 classes, so outputs 10 and 11 stand for no class"),
        (4, "it can never predict strokes's classes 4, 5, 6, ..."),
    ],
)
def test_predict_warns_when_the_network_does_not_fit_the_dataset(client, outputs, words):
    spec = {"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": outputs}]}
    body = client.post(f"/api/networks/{make(client, spec=spec)}/predict", json=SAMPLE).json()
    assert words in body["fit_warning"]
    names = body["class_names"]
    assert len(names) == outputs and names[:4] == ["0", "1", "2", "3"]
    assert outputs < 10 or names[10:] == ["output 10", "output 11"]
    fits = client.post("/api/networks", json={"preset": "lenet5"}).json()["id"]
    assert client.post(f"/api/networks/{fits}/predict", json=SAMPLE).json()["fit_warning"] is None


def test_predict_pixels_normalized_by_255_or_by_the_dataset(client, lenet):
    px = digit_pixels()
    net = local_net(client, lenet)
    r = client.post(f"/api/networks/{lenet}/predict", json={"pixels": px.tolist()})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["probabilities"], net.predict_proba((px / 255)[None, None])[0], atol=1e-5)
    ds = client.app.state.services.datasets.load("strokes")
    r = client.post(f"/api/networks/{lenet}/predict", json={"pixels": [px.tolist()], "dataset": "strokes"})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["probabilities"], net.predict_proba(ds.normalize(px[None]))[0], atol=1e-5)


def test_a_big_canvas_is_area_averaged(client, lenet):
    px = digit_pixels(1)
    big = np.kron(px, np.ones((10, 10)))  # 280x280, each pixel a 10x10 block
    a = client.post(f"/api/networks/{lenet}/predict", json={"pixels": px.tolist()}).json()
    b = client.post(f"/api/networks/{lenet}/predict", json={"pixels": big.tolist()}).json()
    np.testing.assert_allclose(a["probabilities"], b["probabilities"], atol=1e-6)
    odd = client.post(f"/api/networks/{lenet}/predict", json={"pixels": np.full((50, 40), 255.0).tolist()})
    assert odd.status_code == 200


@pytest.mark.parametrize(
    "body,field,words",
    [
        ({"pixels": [[1, 2], [3]]}, "pixels", "rectangular"),
        ({"pixels": [[300.0] * 28] * 28}, "pixels", "0 to 255"),
        ({"pixels": [[-1.0] * 28] * 28}, "pixels", "0 to 255"),
        ({"pixels": [[["a"]]]}, "pixels", "rectangular"),
        ({"pixels": [1, 2, 3]}, "pixels", "(H, W)"),
        ({"pixels": np.zeros((3, 28, 28)).tolist()}, "pixels", "3 channels"),
        ({"dataset": "strokes", "index": 10**6}, "index", "out of range"),
        ({"dataset": "strokes"}, "index", "give the sample's 'index'"),
        ({}, "pixels", "give 'pixels'"),
        ({"pixels": [[0]], "dataset": "strokes", "index": 0}, "index", "not both"),
    ],
)
def test_predict_bad_input_is_422_naming_the_field(client, lenet, body, field, words):
    r = client.post(f"/api/networks/{lenet}/predict", json=body)
    assert r.status_code == 422, r.text
    assert ["body", field] in loc_of(r) and words in r.text


def test_predict_rejects_nan_and_unknown_fields(client, lenet):
    r = client.post(
        f"/api/networks/{lenet}/predict", content='{"pixels": [[1, NaN]]}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and "NaN" in r.json()["errors"][0]["message"]
    r = client.post(f"/api/networks/{lenet}/predict", json={"pixel": [[1]]})
    assert r.status_code == 422 and loc_of(r) == [["body", "pixel"]]
    r = client.post(f"/api/networks/{lenet}/predict", json={"dataset": "strokes", "split": "val", "index": 0})
    assert r.status_code == 422 and ["body", "split"] in loc_of(r)


def test_predict_a_dataset_of_another_shape_is_422(client, tiny):
    r = client.post(f"/api/networks/{tiny}/predict", json=SAMPLE)
    assert r.status_code == 422 and ["body", "dataset"] in loc_of(r) and "[1, 28, 28]" in r.text


def test_predict_unknown_dataset_is_404(client, lenet):
    r = client.post(f"/api/networks/{lenet}/predict", json={"dataset": "nosuchdata", "index": 0})
    assert r.status_code == 404 and "nosuchdata" in r.json()["detail"]


def png_of(array, mode=None, fmt="PNG"):
    buf = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).convert(mode or ("L" if np.ndim(array) == 2 else "RGB")).save(buf, fmt)
    return buf.getvalue()


def test_predict_an_uploaded_image(client, lenet):
    px = digit_pixels(2).astype(np.uint8)
    net = local_net(client, lenet)
    r = client.post(f"/api/networks/{lenet}/predict/image", files={"file": ("d.png", png_of(px), "image/png")})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["probabilities"], net.predict_proba((px / 255.0)[None, None])[0], atol=1e-5)
    rgb = np.stack([np.kron(px, np.ones((2, 2)))] * 3, axis=-1)  # 56x56 colour JPEG: made grey, resized
    r = client.post(
        f"/api/networks/{lenet}/predict/image",
        data={"dataset": "strokes"},
        files={"file": ("d.jpg", png_of(rgb, fmt="JPEG"), "image/jpeg")},
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["probabilities"]) == 10


def test_predict_image_errors(client, lenet):
    r = client.post(f"/api/networks/{lenet}/predict/image", files={"file": ("a.txt", b"hello", "text/plain")})
    assert r.status_code == 422 and "PNG or JPEG" in r.text and ["body", "file"] in loc_of(r)
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, "GIF")
    r = client.post(f"/api/networks/{lenet}/predict/image", files={"file": ("a.gif", buf.getvalue(), "image/gif")})
    assert r.status_code == 422
    huge = Image.new("1", (5000, 5000))  # tiny on disk, 25 M pixels once decoded
    buf = io.BytesIO()
    huge.save(buf, "PNG")
    r = client.post(f"/api/networks/{lenet}/predict/image", files={"file": ("h.png", buf.getvalue(), "image/png")})
    assert r.status_code == 413 and "pixels" in r.json()["detail"]
    r = client.post(f"/api/networks/{lenet}/predict/image")
    assert r.status_code == 422


# ---- activations -------------------------------------------------------------------------------
def test_activations_of_every_layer(client, lenet):
    r = client.post(f"/api/networks/{lenet}/activations", json=SAMPLE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["input_shape"] == [1, 28, 28]
    layers = {l["path"]: l for l in body["layers"]}
    assert next(iter(layers)) == "input" and len(layers) == 13
    conv1 = layers["layers[0]"]
    assert conv1["type"] == "conv2d" and conv1["name"] == "conv1" and conv1["shape"] == [6, 28, 28]
    assert layers["layers[11]"]["shape"] == [10]
    data = np.frombuffer(base64.b64decode(conv1["data"]), np.uint8).reshape(conv1["shape"])
    assert conv1["encoding"] == "uint8" and data.min() == 0 and data.max() == 255
    # the uint8 maps are the float maps scaled over [min, max]
    ds = client.app.state.services.datasets.load("strokes")
    maps = local_net(client, lenet).feature_maps(ds.normalize(ds.x_test[3]))["layers[0]"][0]
    lo, hi = conv1["scale"]
    assert lo == pytest.approx(maps.min(), abs=1e-6) and hi == pytest.approx(maps.max(), abs=1e-6)
    np.testing.assert_allclose(data, np.rint((maps - lo) / (hi - lo) * 255), atol=1)


def test_activations_say_how_the_input_was_normalized(client, lenet):
    ds = client.app.state.services.datasets.load("strokes")
    norm = client.post(f"/api/networks/{lenet}/activations", json=SAMPLE).json()["normalization"]
    m, s = float(ds.mean[0]), float(ds.std[0])
    assert norm["mean"] == pytest.approx([m]) and norm["std"] == pytest.approx([s])
    # the input map's range (what Inspect shows) is explained with the same numbers
    assert f"0 becomes {-m / s:.2f}" in norm["text"] and f"255 becomes {(1 - m) / s:.2f}" in norm["text"]
    assert "strokes" in norm["text"]
    drawn = client.post(f"/api/networks/{lenet}/activations", json={"pixels": np.zeros((28, 28)).tolist()}).json()
    assert "value/255" in drawn["normalization"]["text"]


def test_activations_float16_and_a_subset(client, lenet):
    r = client.post(
        f"/api/networks/{lenet}/activations?encoding=float16", json={**SAMPLE, "layers": ["conv2", "layers[11]"]}
    )
    assert r.status_code == 200, r.text
    layers = r.json()["layers"]
    assert [l["path"] for l in layers] == ["layers[3]", "layers[11]"]
    vals = np.frombuffer(base64.b64decode(layers[1]["data"]), "<f2")
    assert vals.shape == (10,) and layers[1]["encoding"] == "float16"
    assert float(vals.max()) == pytest.approx(layers[1]["max"], rel=1e-3)


def test_maps_beyond_float16s_range_are_drawn_at_its_end_not_a_500(client):
    id = make(client, spec=TINY, seed=2)  # weights blown up, as a diverging run leaves them
    with entry(client, id).reading() as net:
        for p in net.parameters():
            p.value *= 1e5
    drawn = {"pixels": [[255.0] * 8 for _ in range(8)]}
    for url in (f"/api/networks/{id}/activations?encoding=float16", f"/api/networks/{id}/overview"):
        r = client.post(url, json=drawn)
        assert r.status_code == 200, r.text
        layers = r.json()["layers"]
        big = [l for l in layers if max(abs(l["min"]), abs(l["max"])) > 65504]
        assert big, "the test needs a map beyond float16's range"
        vals = np.frombuffer(base64.b64decode(big[0]["data"]), "<f2")
        assert np.isfinite(vals).all() and np.abs(vals).max() == 65504


def test_activations_png(client, lenet):
    r = client.post(f"/api/networks/{lenet}/activations?format=png&layer=conv1", json=SAMPLE)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (3 * 28 + 2, 2 * 28 + 1)  # 6 maps: 2 rows of 3, 1 px gaps
    r2 = client.post(f"/api/networks/{lenet}/activations?format=png&layer=conv1&scale=layer", json=SAMPLE)
    assert r2.status_code == 200 and r2.content != r.content
    r = client.post(f"/api/networks/{lenet}/activations?format=png&layer=fc3", json=SAMPLE)
    assert Image.open(io.BytesIO(r.content)).size == (10, 1)


def test_activations_errors(client, lenet, monkeypatch):
    r = client.post(f"/api/networks/{lenet}/activations", json={**SAMPLE, "layers": ["conv9"]})
    assert r.status_code == 422 and "conv9" in r.text and "layers[0]" in r.text and loc_of(r) == [["body", "layers", 0]]
    r = client.post(f"/api/networks/{lenet}/activations?format=png", json=SAMPLE)
    assert r.status_code == 422 and ["query", "layer"] in loc_of(r)
    r = client.post(f"/api/networks/{lenet}/activations?encoding=float64", json=SAMPLE)
    assert r.status_code == 422
    settings = client.app.state.services.settings
    monkeypatch.setattr(settings, "max_request_activation_bytes", 10_000)
    r = client.post(f"/api/networks/{lenet}/activations", json=SAMPLE)
    assert r.status_code == 413 and "MiB" in r.json()["detail"]


def test_overview_is_every_layer_and_the_prediction_from_one_set_of_weights(client, lenet):
    r = client.post(f"/api/networks/{lenet}/overview", json=SAMPLE)
    assert r.status_code == 200, r.text
    body = r.json()
    ds = client.app.state.services.datasets.load("strokes")
    x = ds.normalize(ds.x_test[3])
    net = local_net(client, lenet)
    taps = net.feature_maps(x)
    assert [l["path"] for l in body["layers"]] == list(taps)
    conv2 = body["layers"][4]
    assert conv2["name"] == "conv2" and conv2["type"] == "conv2d" and conv2["shape"] == [16, 10, 10]
    assert conv2["window"] == {"kernel": [5, 5], "stride": [1, 1], "padding": [0, 0]}
    assert conv2["groups"] == 1 and body["layers"][3]["window"]["kernel"] == [2, 2]  # pool1
    values = np.frombuffer(base64.b64decode(conv2["data"]), "<f2").reshape(16, 10, 10)
    np.testing.assert_allclose(values, taps["layers[3]"][0], rtol=2e-3, atol=2e-3)
    prediction = body["prediction"]
    np.testing.assert_allclose(prediction["probabilities"], net.predict_proba(x)[0], atol=1e-6)
    assert prediction["label"] == int(ds.y_test[3]) and body["weights"]["state"] == "untrained"
    assert "(value/255 - mean) / std" in body["normalization"]["text"]


def test_the_weights_of_one_unit(client, lenet):
    net = local_net(client, lenet)
    body = client.get(f"/api/networks/{lenet}/weights?layer=conv2&unit=3").json()
    assert body["weights"]["shape"] == [6, 5, 5] and body["reads"] == [0, 6]
    np.testing.assert_allclose(body["weights"]["values"], net.layer("conv2").params["W"][3], atol=1e-7)
    assert body["bias"] == 0 and body["grad"] is None and body["kernel_size"] == [5, 5]
    row = client.get(f"/api/networks/{lenet}/weights?layer=fc1&unit=7").json()
    np.testing.assert_allclose(row["weights"]["values"], net.layer("fc1").params["W"][7], atol=1e-7)
    r = client.get(f"/api/networks/{lenet}/weights?layer=fc1&unit=120")
    assert r.status_code == 422 and "0 to 119" in r.text and loc_of(r) == [["query", "unit"]]
    r = client.get(f"/api/networks/{lenet}/weights?layer=pool1&unit=0")
    assert r.status_code == 422 and "conv2d or linear" in r.text
    assert client.get(f"/api/networks/{lenet}/weights?unit=0").status_code == 422


# ---- weights ---------------------------------------------------------------------------------
def test_weights_list_and_conv_filters(client, lenet):
    r = client.get(f"/api/networks/{lenet}/weights")
    assert r.status_code == 200
    rows = {l["name"]: l for l in r.json()["layers"]}
    assert list(rows) == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    assert rows["conv2"]["params"] == {"W": [16, 6, 5, 5], "b": [16]}
    r = client.get(f"/api/networks/{lenet}/weights?layer=conv1")
    body = r.json()
    W = local_net(client, lenet).layer("conv1").params["W"]
    f = body["filters"]
    assert f["shape"] == [6, 1, 5, 5] and f["min"] == pytest.approx(W.min()) and f["max"] == pytest.approx(W.max())
    assert len(base64.b64decode(f["data"])) == 150
    np.testing.assert_allclose(f["values"], W, atol=1e-7)
    assert body["bias"] == [0] * 6 and body["grad"] is None and body["kernel_size"] == [5, 5]
    big = client.get(f"/api/networks/{lenet}/weights?layer=conv2").json()["filters"]
    assert big["values"] is None and len(base64.b64decode(big["data"])) == 2400  # only small filters as floats


def test_weights_show_the_last_gradients(client):
    id = make(client, preset="lenet5", seed=3)
    layer = entry(client, id).net.layer("conv1")
    layer.grads = {"W": np.full((6, 1, 5, 5), 0.5, np.float32), "b": np.ones(6, np.float32)}
    body = client.get(f"/api/networks/{id}/weights?layer=layers[0]").json()
    assert body["grad"]["shape"] == [6, 1, 5, 5] and body["grad"]["mean"] == 0.5 and body["bias_grad"] == [1] * 6
    # looking inside (saliency, stats) does not replace them
    assert client.post(f"/api/networks/{id}/saliency", json=SAMPLE).status_code == 200
    assert client.get(f"/api/networks/{id}/stats?n=4").status_code == 200
    assert client.get(f"/api/networks/{id}/weights?layer=conv1").json()["grad"]["mean"] == 0.5


def test_weights_of_a_linear_layer_and_errors(client, lenet):
    body = client.get(f"/api/networks/{lenet}/weights?layer=fc1").json()
    assert body["params"]["W"]["shape"] == [120, 400] and len(body["params"]["W"]["histogram"]["counts"]) == 30
    assert body["grads"] is None
    r = client.get(f"/api/networks/{lenet}/weights?layer=layers[1]")
    assert r.status_code == 422 and "no weights" in r.text and "layers[0]" in r.text
    r = client.get(f"/api/networks/{lenet}/weights?layer=conv7")
    assert r.status_code == 422 and "conv7" in r.text and loc_of(r) == [["query", "layer"]]


# ---- stats -----------------------------------------------------------------------------------
def test_stats_on_dataset_samples_and_random_inputs(client, lenet):
    r = client.get(f"/api/networks/{lenet}/stats?dataset=strokes&n=16")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n"] == 16 and body["labels"] is True and len(body["layers"]) == 12
    first = body["layers"][0]
    assert first["path"] == "layers[0]" and len(first["activation"]["histogram"]["counts"]) == 30
    assert first["gradient"]["std"] > 0 and first["params"]["W"]["grad_norm"] > 0
    r = client.get(f"/api/networks/{lenet}/stats?n=8&train=true")
    assert r.status_code == 200 and r.json()["labels"] is False and r.json()["dataset"] is None


def test_stats_errors(client, lenet, tiny, monkeypatch):
    assert client.get(f"/api/networks/{lenet}/stats?n=100000").status_code == 422
    assert client.get(f"/api/networks/{lenet}/stats?n=0").status_code == 422
    r = client.get(f"/api/networks/{tiny}/stats?dataset=strokes")
    assert r.status_code == 422 and "[1, 28, 28]" in r.text and ["query", "dataset"] in loc_of(r)
    r = client.get(f"/api/networks/{lenet}/stats?dataset=nosuchdata")
    assert r.status_code == 404 and "nosuchdata" in r.text
    monkeypatch.setattr(client.app.state.services.settings, "max_request_activation_bytes", 100_000)
    r = client.get(f"/api/networks/{lenet}/stats?n=64")
    assert r.status_code == 413 and "fewer examples" in r.json()["detail"]


# ---- saliency --------------------------------------------------------------------------------
def test_saliency(client, lenet):
    r = client.post(f"/api/networks/{lenet}/saliency", json={**SAMPLE, "class": 7})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["class"] == 7 and body["shape"] == [28, 28] and body["png"].startswith("data:image/png;base64,")
    m = np.frombuffer(base64.b64decode(body["map"]), np.uint8).reshape(28, 28)
    ds = client.app.state.services.datasets.load("strokes")
    g, _ = local_net(client, lenet).saliency(ds.normalize(ds.x_test[3])[0], 7)
    expect = np.abs(g).max(axis=0)
    assert body["max"] == pytest.approx(expect.max(), rel=1e-5)
    assert np.unravel_index(m.argmax(), m.shape) == np.unravel_index(expect.argmax(), expect.shape)
    signed = body["gradient"]  # with its sign: the channels' sum
    values = np.frombuffer(base64.b64decode(signed["data"]), "<f4").reshape(signed["shape"])
    np.testing.assert_allclose(values, g.sum(axis=0), rtol=1e-5, atol=1e-7)
    assert signed["min"] == pytest.approx(g.sum(axis=0).min(), rel=1e-5)
    png = Image.open(io.BytesIO(base64.b64decode(body["png"].split(",", 1)[1])))
    assert png.size == (28, 28)
    default = client.post(f"/api/networks/{lenet}/saliency", json=SAMPLE).json()
    predicted = client.post(f"/api/networks/{lenet}/predict", json=SAMPLE).json()["predicted"]
    assert default["class"] == predicted


def test_saliency_errors(client, lenet):
    r = client.post(f"/api/networks/{lenet}/saliency", json={**SAMPLE, "class": 10})
    assert r.status_code == 422 and ["body", "class"] in loc_of(r) and "0 to 9" in r.text
    r = client.post(f"/api/networks/{lenet}/saliency", json={**SAMPLE, "class": -1})
    assert r.status_code == 422


# ---- occlusion -------------------------------------------------------------------------------
def test_occlusion_matches_covering_a_patch_by_hand(client, lenet):
    px = digit_pixels(4)
    r = client.post(
        f"/api/networks/{lenet}/occlusion",
        json={"pixels": px.tolist(), "class": 3, "patch": 7, "stride": 7, "fill": "zero"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shape"] == [4, 4] and np.array(body["map"]).shape == (4, 4) and body["class"] == 3
    net = local_net(client, lenet)
    base = net.predict_proba((px / 255)[None, None])[0, 3]
    assert body["baseline"] == pytest.approx(base, abs=1e-6)
    covered = px.copy()
    covered[7:14, 14:21] = 0  # no dataset: x/255, so the zero fill is black
    p = net.predict_proba((covered / 255)[None, None])[0, 3]
    assert body["map"][1][2] == pytest.approx(base - p, abs=1e-6)
    assert body["png"].startswith("data:image/png;base64,")
    default = client.post(f"/api/networks/{lenet}/occlusion", json={**SAMPLE, "fill": "mean"}).json()
    assert default["patch"] == 7 and default["stride"] == 3 and default["shape"] == [8, 8]


def test_occlusion_covers_with_the_background_by_default(client, lenet):
    """A patch over an empty corner of a digit changes nothing: it is filled with the background
    (black), not with 0 after normalization (grey ink on a black background)."""
    r = client.post(f"/api/networks/{lenet}/occlusion", json={**SAMPLE, "patch": 4, "stride": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["fill"] == "background" and body["fill_pixel"] == [0.0]
    # the top-left corner holds no ink: covering it with black leaves the very same input
    assert abs(body["map"][0][0]) < 1e-12
    zero = client.post(
        f"/api/networks/{lenet}/occlusion", json={**SAMPLE, "patch": 4, "stride": 4, "fill": "zero"}
    ).json()
    # grey ink, and it changes the prediction (slightly: an untrained network's output layer starts small)
    assert zero["fill_pixel"][0] > 10 and abs(zero["map"][0][0]) > 1e-9


def test_occlusion_limits(client, lenet):
    r = client.post(f"/api/networks/{lenet}/occlusion", json={**SAMPLE, "patch": 29})
    assert r.status_code == 422 and ["body", "patch"] in loc_of(r)
    r = client.post(f"/api/networks/{lenet}/occlusion", json={**SAMPLE, "patch": 0})
    assert r.status_code == 422
    big = make(
        client, spec={"input": [1, 70, 70], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 2}]}
    )
    r = client.post(
        f"/api/networks/{big}/occlusion", json={"pixels": np.zeros((70, 70)).tolist(), "patch": 1, "stride": 1}
    )
    assert r.status_code == 413 and "4,900" in r.json()["detail"] and "larger stride" in r.json()["detail"]


# ---- gradcheck -------------------------------------------------------------------------------
def test_gradcheck(client, lenet):
    r = client.post(f"/api/networks/{lenet}/gradcheck", json={"n": 2, "max_entries": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["threshold"] == 1e-4
    keys = [row["key"] for row in body["rows"]]
    assert keys[:2] == ["layers[0].W", "layers[0].b"] and keys[-1] == "input" and len(keys) == 11
    assert all(row["max_rel_error"] < 1e-4 and row["checked"] <= 4 for row in body["rows"])


def test_gradcheck_limits(client, tiny):
    for bad in ({"n": 0}, {"n": 9}, {"max_entries": 0}, {"seed": -1}, {"h": 1}):
        assert client.post(f"/api/networks/{tiny}/gradcheck", json=bad).status_code == 422
    r = client.post(f"/api/networks/{tiny}/gradcheck", json={"train": True, "n": 3})
    assert r.status_code == 200 and r.json()["ok"] is True
    huge = make(
        client, spec={"input": [1, 64, 64], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 600}]}
    )
    r = client.post(f"/api/networks/{huge}/gradcheck", json={})
    assert r.status_code == 413 and "parameters" in r.json()["detail"]


# ---- every endpoint: unknown networks, non-classifiers, JSON safety ------------------------------
ENDPOINTS = [
    ("post", "predict", SAMPLE),
    ("post", "activations", SAMPLE),
    ("get", "weights", None),
    ("get", "stats", None),
    ("post", "saliency", SAMPLE),
    ("post", "occlusion", SAMPLE),
    ("post", "gradcheck", {}),
]


@pytest.mark.parametrize("method,path,body", ENDPOINTS)
@pytest.mark.parametrize("id", ["0123456789abcdef", "NOT-AN-ID"])
def test_unknown_network_is_404(client, method, path, body, id):
    kwargs = {"json": body} if method == "post" else {}
    r = getattr(client, method)(f"/api/networks/{id}/{path}", **kwargs)
    assert r.status_code == 404 and "no network" in r.json()["detail"]


def test_unknown_network_image_is_404(client):
    r = client.post("/api/networks/0123456789abcdef/predict/image", files={"file": ("a.png", png_of(np.zeros((2, 2))))})
    assert r.status_code == 404


def test_a_network_without_class_scores(client):
    id = make(client, spec={"input": [1, 8, 8], "layers": [{"type": "conv2d", "out_channels": 2, "kernel_size": 3}]})
    px = {"pixels": np.zeros((8, 8)).tolist()}
    for path in ("predict", "saliency", "occlusion", "gradcheck"):
        r = client.post(f"/api/networks/{id}/{path}", json=px if path != "gradcheck" else {})
        assert r.status_code == 422 and "class scores" in r.text
    assert client.post(f"/api/networks/{id}/activations", json=px).status_code == 200
    assert client.get(f"/api/networks/{id}/stats?n=2").status_code == 200


def test_nan_weights_give_null_not_nan(client, tiny):
    id = make(client, spec=TINY, seed=1)
    entry(client, id).net.layer("fc").params["b"][:] = np.nan
    px = {"pixels": np.zeros((8, 8)).tolist()}
    for method, path, body in ENDPOINTS:
        kwargs = {"json": px if body is SAMPLE else body} if method == "post" else {}
        r = getattr(client, method)(f"/api/networks/{id}/{path}" + ("?layer=fc" if path == "weights" else ""), **kwargs)
        assert r.status_code == 200, (path, r.text)
        assert "NaN" not in r.text and "Infinity" not in r.text, path
    assert client.post(f"/api/networks/{id}/predict", json=px).json()["probabilities"][0] is None


def test_reads_while_a_run_trains_here_use_the_weights_it_published(client, tiny):
    services = client.app.state.services
    e = entry(client, tiny)
    trained = e.net.copy()
    trained.layer("fc").params["b"][0] = 100.0  # what a run here published: readers see it
    services.networks.show_training(tiny, trained)
    try:
        r = client.post(f"/api/networks/{tiny}/predict", json={"pixels": np.zeros((8, 8)).tolist()})
        assert r.status_code == 200 and max(r.json()["probabilities"]) > 0.99
    finally:
        services.networks.training_ended(tiny)
    r = client.post(f"/api/networks/{tiny}/predict", json={"pixels": np.zeros((8, 8)).tolist()})
    assert r.status_code == 200 and max(r.json()["probabilities"]) < 0.99


def test_the_engine_summary_is_what_the_memory_check_uses(client, lenet):
    spec = client.get(f"/api/networks/{lenet}").json()["spec"]
    assert engine.summarize(spec)["totals"]["activation_bytes"] < 1_000_000


def test_stats_in_training_mode_leave_batch_norm_statistics_alone(client):
    spec = {
        "input": [1, 8, 8],
        "layers": [
            {"type": "conv2d", "out_channels": 2, "kernel_size": 3},
            {"type": "batchnorm2d"},
            {"type": "flatten"},
            {"type": "linear", "out_features": 3},
        ],
    }
    id = make(client, spec=spec)
    bn = entry(client, id).net.layer("layers[1]")
    before = {k: v.copy() for k, v in bn.buffers.items()}
    assert client.get(f"/api/networks/{id}/stats?n=8&train=true").status_code == 200
    assert client.post(f"/api/networks/{id}/gradcheck", json={"train": True}).json()["ok"] is True
    for k, v in before.items():
        np.testing.assert_array_equal(bn.buffers[k], v)
    assert bn.grads == {} and bn.cache is None


def test_imported_weights_are_said_to_be_imported_not_untrained(client, lenet):
    saved = client.get(f"/api/networks/{lenet}/export?format=npz").content
    copy = client.post("/api/networks/import", files={"file": ("lenet.npz", saved)}).json()
    ask = {"dataset": "strokes", "index": 0}
    weights = client.post(f"/api/networks/{copy['id']}/predict", json=ask).json()["weights"]
    assert (weights["state"], weights["runs"]) == ("imported", 0)
    # drawn again here, they are this server's own untrained weights
    client.post(f"/api/networks/{copy['id']}/reinit", json={"seed": 1})
    assert client.post(f"/api/networks/{copy['id']}/predict", json=ask).json()["weights"]["state"] == "untrained"


def test_an_unknown_layer_is_answered_with_every_layers_path_and_name(client, lenet):
    r = client.post(f"/api/networks/{lenet}/activations", json={"dataset": "strokes", "index": 0, "layers": ["conv9"]})
    assert r.status_code == 422 and "conv9" in r.text
    assert "layers[0] (conv1)" in r.json()["detail"] and "input" in r.json()["detail"]
