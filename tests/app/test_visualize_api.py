"""Feature visualization and adversarial examples over REST: what they return, checked against
gradients and activations computed here, and the limits that keep a request short."""

import base64

import numpy as np
import pytest

import engine
from app.services import visualize
from tests.app.conftest import make_network

TINY = {
    "input": [1, 8, 8],
    "layers": [
        {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "name": "c"},
        {"type": "relu"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 3, "name": "fc"},
    ],
}
SAMPLE = {"dataset": "strokes", "split": "test", "index": 3}


@pytest.fixture(scope="module")
def client(module_client):
    return module_client


make = make_network


@pytest.fixture(scope="module")
def lenet(client):
    return make(client, preset="lenet5")


@pytest.fixture(scope="module")
def tiny(client):
    return make(client, spec=TINY, seed=4)


def local_net(client, id):
    with client.app.state.services.networks.entry(id).reading() as net:
        return net.copy()


def decode(part) -> np.ndarray:
    return np.frombuffer(base64.b64decode(part["data"]), part["dtype"]).reshape(part["shape"])


def fv(client, id, **body):
    r = client.post(f"/api/networks/{id}/feature-visualization", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def fgsm(client, id, **body):
    r = client.post(f"/api/networks/{id}/adversarial", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def loss_of(net, pixels: np.ndarray, cls: int) -> float:
    """Cross-entropy of class cls for 0-255 pixels (C, H, W), seen as value/255, in float64."""
    z = net.logits(pixels[None] / 255.0).astype(np.float64)
    z -= z.max()
    return float(np.log(np.exp(z).sum()) - z[0, cls])


# ---- adversarial examples ----------------------------------------------------------------------
def test_fgsm_moves_each_pixel_by_epsilon_along_the_sign_of_a_finite_difference_gradient(client, tiny):
    pixels = np.random.default_rng(0).uniform(60, 200, size=(8, 8))
    body = fgsm(client, tiny, pixels=pixels.tolist(), epsilon=5)
    cls = body["class"]
    assert body["class"] == body["before"]["predicted"] and not body["targeted"]
    net = local_net(client, tiny).astype(np.float64)
    x = pixels[None].copy()
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + 1e-3
        up = loss_of(net, x, cls)
        x[i] = old - 1e-3
        down = loss_of(net, x, cls)
        x[i] = old
        numeric[i] = (up - down) / 2e-3
    clear = np.abs(numeric) > 1e-6 * np.abs(numeric).max()  # not lost in rounding
    assert clear.mean() > 0.5
    sign = decode(body["perturbation"])
    np.testing.assert_array_equal(sign[clear], np.sign(numeric[clear]))
    original, perturbed = decode(body["original"]), decode(body["perturbed"])
    np.testing.assert_allclose(original, x, atol=1e-3)
    moved = (perturbed - original)[clear]
    np.testing.assert_allclose(moved, 5 * np.sign(numeric[clear]), atol=1e-3)
    assert body["counts"]["clipped"] == 0 and body["epsilon"] == 5


def test_fgsm_raises_the_loss_and_a_targeted_step_lowers_the_targets(client, tiny):
    pixels = np.random.default_rng(1).uniform(60, 200, size=(8, 8))
    net = local_net(client, tiny).astype(np.float64)
    away = fgsm(client, tiny, pixels=pixels.tolist(), epsilon=10)
    assert away["loss_after"] > away["loss_before"]
    cls = away["class"]
    assert away["loss_before"] == pytest.approx(loss_of(net, pixels[None], cls), rel=1e-4)
    after = loss_of(net, decode(away["perturbed"]), cls)
    assert away["loss_after"] == pytest.approx(after, rel=1e-4)
    target = (cls + 1) % 3
    toward = fgsm(client, tiny, pixels=pixels.tolist(), epsilon=10, target=target)
    assert toward["targeted"] and toward["class"] == target
    assert toward["loss_after"] < toward["loss_before"]
    assert toward["after"]["probabilities"][target] > toward["before"]["probabilities"][target]


def test_fgsm_clips_to_the_valid_pixel_range(client, tiny):
    pixels = np.where(np.indices((8, 8)).sum(axis=0) % 2 == 0, 0.0, 255.0)  # a checkerboard
    body = fgsm(client, tiny, pixels=pixels.tolist(), epsilon=64)
    original, perturbed = decode(body["original"]), decode(body["perturbed"])
    sign = decode(body["perturbation"])
    assert perturbed.min() >= 0 and perturbed.max() <= 255
    np.testing.assert_allclose(perturbed, np.clip(original + 64 * sign, 0, 255), atol=1e-3)
    held = (sign != 0) & (np.abs(perturbed - original) < 1e-3)  # black darker, white brighter
    assert body["counts"]["clipped"] == held.sum() > 0
    assert body["counts"]["moved"] + body["counts"]["clipped"] + body["counts"]["still"] == 64


def test_fgsm_with_epsilon_zero_changes_nothing(client, lenet):
    body = fgsm(client, lenet, **SAMPLE, epsilon=0)
    np.testing.assert_array_equal(decode(body["perturbed"]), decode(body["original"]))
    before, after = body["before"]["probabilities"], body["after"]["probabilities"]
    assert after == pytest.approx(before, abs=1e-6)
    assert not body["flipped"] and body["before"]["label"] == body["after"]["label"]
    assert body["perturbed"]["png"].startswith("data:image/png;base64,")


def test_fgsm_refuses_a_target_that_is_no_class(client, lenet):
    r = client.post(f"/api/networks/{lenet}/adversarial", json={**SAMPLE, "epsilon": 8, "target": 10})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "target"]
    assert "0 to 9" in r.json()["errors"][0]["message"]
    r = client.post(f"/api/networks/{lenet}/adversarial", json={**SAMPLE, "epsilon": 300})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "epsilon"]


# ---- feature visualization ---------------------------------------------------------------------
def test_feature_visualization_raises_each_units_activation(client, lenet):
    body = fv(client, lenet, layer="conv2", channels=[0, 5, 9], steps=24, dataset="strokes")
    assert body["layer"] == "layers[3]" and body["kind"] == "channels" and body["steps"] == 24
    assert [im["channel"] for im in body["images"]] == [0, 5, 9]
    pixels = decode(body["pixels"])
    assert pixels.shape == (3, 1, 28, 28) and pixels.min() >= 0 and pixels.max() <= 255
    # the activation the answer claims is the one the network gives its image
    ds = client.app.state.services.datasets.load("strokes")
    mean, std = ds.mean.reshape(1, -1, 1, 1), ds.std.reshape(1, -1, 1, 1)
    x = ((pixels / 255 - mean) / std).astype(np.float32)
    maps = local_net(client, lenet).feature_maps(x)["layers[3]"]
    for n, im in enumerate(body["images"]):
        assert len(im["activation"]) == 24 and im["start"] == im["activation"][0]
        assert im["final"] > im["start"] + 0.5
        assert im["final"] == pytest.approx(float(maps[n, im["channel"], 4, 4]), rel=1e-3, abs=1e-3)


def test_feature_visualization_of_a_class_raises_its_score(client, lenet):
    body = fv(client, lenet, **{"class": 7}, steps=16, dataset="strokes")
    assert body["layer"] == "layers[11]" and body["kind"] == "class" and body["objective"] == "unit"
    (image,) = body["images"]
    assert image["class_name"] == "7" and image["final"] > image["start"]
    assert "class's score" in body["measures"]
    several = fv(client, lenet, layer="fc3", channels=[2, 3], steps=2, dataset="strokes")
    assert [im["class_name"] for im in several["images"]] == ["2", "3"]


def test_feature_visualization_is_deterministic_in_its_seed(client, lenet):
    one = fv(client, lenet, layer="conv1", steps=10, seed=3)
    again = fv(client, lenet, layer="conv1", steps=10, seed=3)
    other = fv(client, lenet, layer="conv1", steps=10, seed=4)
    assert len(one["images"]) == 6
    assert one["pixels"]["data"] == again["pixels"]["data"]
    curves = [[im["activation"] for im in answer["images"]] for answer in (one, again)]
    assert curves[0] == curves[1]
    assert one["pixels"]["data"] != other["pixels"]["data"]


def test_feature_visualization_of_a_map_mean_is_another_objective(client, lenet):
    centre = fv(client, lenet, layer="conv2", channel=1, steps=8)
    mean = fv(client, lenet, layer="conv2", channel=1, steps=8, objective="mean")
    assert "middle" in centre["measures"] and "mean" in mean["measures"]
    assert centre["pixels"]["data"] != mean["pixels"]["data"]


@pytest.mark.parametrize(
    "body, field, words",
    [
        ({"layer": "fc1"}, "channels", "fc1 (layers[7]) has 120 units; at most 16"),
        ({"layer": "conv2", "channel": 16}, "channel", "channel 16 is out of range: conv2 (layers[3]) has 16"),
        ({"layer": "conv1", "class": 2}, "class", "a class is a unit of the output layer"),
        ({"layer": "conv1", "channel": 1, "channels": [2]}, "channels", "not both"),
        ({"layer": "nope"}, "layer", "no layer 'nope'"),
        ({"layer": "input"}, "layer", "the input has no units"),
        ({"layer": "conv1", "steps": 513}, "steps", "less than or equal to 512"),
        ({"layer": "fc1", "channels": list(range(17))}, "channels", "at most 16 items"),
        ({"layer": "conv1", "blur": -1}, "blur", "greater than or equal to 0"),
    ],
)
def test_feature_visualization_limits_say_what_to_change(client, lenet, body, field, words):
    r = client.post(f"/api/networks/{lenet}/feature-visualization", json=body)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["loc"] == ["body", field] and words in error["message"]


def test_feature_visualization_over_its_work_limit_is_a_413(client, lenet, monkeypatch):
    monkeypatch.setattr(visualize, "MAX_WORK", 10_000_000)
    r = client.post(f"/api/networks/{lenet}/feature-visualization", json={"layer": "conv2", "steps": 100})
    assert r.status_code == 413
    assert "16 image(s) of 100 steps through conv2 (layers[3])" in r.json()["detail"]
    assert "fewer channels or steps" in r.json()["detail"]


def test_feature_visualization_stops_at_its_time_limit_with_what_it_has(client, lenet, monkeypatch):
    monkeypatch.setattr(visualize, "TIME_LIMIT", 0.0)
    body = fv(client, lenet, layer="conv1", steps=200)
    assert body["steps"] == 1 and body["steps_asked"] == 200
    assert "time limit" in body["stopped"] and "after 1 of 200 steps" in body["stopped"]
    assert all(len(im["activation"]) == 1 for im in body["images"])


def test_both_read_the_weights_a_run_here_publishes(client, tiny):
    services = client.app.state.services
    trained = local_net(client, tiny)
    trained.layer("fc").params["b"][2] = 100.0  # what a run here published: readers see it
    pixels = np.full((8, 8), 100.0).tolist()
    own = fv(client, tiny, layer="fc", channel=2, steps=2)
    services.networks.show_training(tiny, trained)
    try:
        assert fgsm(client, tiny, pixels=pixels, epsilon=4)["before"]["predicted"] == 2
        assert fv(client, tiny, layer="fc", channel=2, steps=2)["images"][0]["start"] > 90
    finally:
        services.networks.training_ended(tiny)
    assert own["images"][0]["start"] < 90


def test_nan_weights_give_answers_not_errors(client):
    id = make(client, spec=TINY)
    client.app.state.services.networks.entry(id).net.layer("fc").params["b"][:] = np.nan
    px = np.zeros((8, 8)).tolist()
    for path, body in (
        ("adversarial", {"pixels": px, "epsilon": 8}),
        ("feature-visualization", {"layer": "fc", "steps": 3}),
    ):
        r = client.post(f"/api/networks/{id}/{path}", json=body)
        assert r.status_code == 200, (path, r.text)
        assert "NaN" not in r.text and "Infinity" not in r.text


def test_an_unknown_network_is_a_404(client):
    for path in ("adversarial", "feature-visualization"):
        body = {"pixels": [[0]], "epsilon": 1} if path == "adversarial" else {}
        r = client.post(f"/api/networks/{'0' * 32}/{path}", json=body)
        assert r.status_code == 404, r.text


def test_the_engine_gives_the_same_fgsm_step(client, tiny):
    pixels = np.random.default_rng(5).uniform(0, 255, size=(8, 8))
    body = fgsm(client, tiny, pixels=pixels.tolist(), epsilon=12)
    net = local_net(client, tiny)
    adv, _ = engine.fgsm(net, (pixels / 255)[None, None].astype(np.float32), [body["class"]], 12 / 255, 0.0, 1.0)
    np.testing.assert_allclose(decode(body["perturbed"]), adv[0] * 255, atol=1e-3)
