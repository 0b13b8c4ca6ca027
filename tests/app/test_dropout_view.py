"""A dropout layer at work over REST: its input, its output in training (zeros where the mask
drops, the survivors times 1/(1 - p)) and in evaluation (the input), drawn with the request's
seed and never with the network's own dropout streams."""

import base64
import copy

import numpy as np
import pytest

from app.services.layer_chain import layers_to, run_chain
from tests.app.conftest import make_network

SAMPLE = {"dataset": "strokes", "split": "test", "index": 5}
# LeNet-5 with dropout on the maps of pool1 and on the vector before fc2
MAPS = {
    "input": [1, 28, 28],
    "layers": [
        {"type": "conv2d", "out_channels": 6, "kernel_size": 5, "padding": 2, "name": "conv1"},
        {"type": "relu"},
        {"type": "avgpool2d", "kernel_size": 2, "name": "pool1"},
        {"type": "dropout", "p": 0.25, "name": "drop1"},
        {"type": "conv2d", "out_channels": 16, "kernel_size": 5, "name": "conv2"},
        {"type": "relu"},
        {"type": "avgpool2d", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "linear", "out_features": 84, "name": "fc1"},
        {"type": "relu"},
        {"type": "dropout", "p": 0.5, "name": "drop2"},
        {"type": "linear", "out_features": 10, "name": "fc2"},
    ],
}


@pytest.fixture(scope="module")
def client(module_client):
    return module_client


make = make_network


@pytest.fixture(scope="module")
def alexnet(client):
    return make(client, preset="alexnet_small_28")


@pytest.fixture(scope="module")
def maps(client):
    return make(client, spec=MAPS)


def values(part, shape):
    return np.frombuffer(base64.b64decode(part["data"]), "<f4").reshape(shape)


def dropout_of(client, id, **body):
    return client.post(f"/api/networks/{id}/dropout", json={**SAMPLE, **body})


@pytest.mark.parametrize("layer, shape, p", [("drop1", (6, 14, 14), 0.25), ("drop2", (84,), 0.5)])
def test_training_zeroes_the_dropped_and_scales_the_rest_evaluation_is_the_input(client, maps, layer, shape, p):
    r = dropout_of(client, maps, layer=layer, seed=3)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shape"] == list(shape) and body["p"] == p and body["scale"] == pytest.approx(1 / (1 - p))
    x = values(body["input"], shape)
    train, evaluation = values(body["train_output"], shape), values(body["eval_output"], shape)
    kept = np.frombuffer(base64.b64decode(body["mask"]["data"]), np.uint8).reshape(shape)
    assert set(np.unique(kept)) <= {0, 1}
    assert (train[kept == 0] == 0).all()
    np.testing.assert_allclose(train[kept == 1], x[kept == 1] / np.float32(1 - p), rtol=1e-6)
    np.testing.assert_array_equal(evaluation, x)
    assert body["dropped"] == int((kept == 0).sum()) and body["units"] == kept.size
    assert body["dropped_fraction"] == pytest.approx((kept == 0).mean())
    assert abs(body["dropped_fraction"] - p) < 0.15  # a few hundred draws at most
    assert f"p = {p:g}" in body["text"]


def test_the_input_is_what_arrives_at_the_layer(client, maps):
    body = dropout_of(client, maps, layer="drop1").json()
    with client.app.state.services.networks.entry(maps).reading() as net:
        net = net.copy()
    ds = client.app.state.services.datasets.load("strokes")
    before = layers_to(net.root, "layers[3]")[:-1]
    arriving, _ = run_chain(before, net.input_shape, ds.normalize(ds.x_test[5]), record=False)
    np.testing.assert_array_equal(values(body["input"], (6, 14, 14)), arriving[0])
    assert body["input"]["min"] >= 0  # after a ReLU and average pooling


def test_a_seed_draws_its_mask_again_and_another_seed_another(client, alexnet):
    first = dropout_of(client, alexnet, seed=7).json()
    assert dropout_of(client, alexnet, seed=7).json()["mask"] == first["mask"]
    assert dropout_of(client, alexnet, seed=8).json()["mask"] != first["mask"]
    assert first["layer"] == "layers[12]" and first["shape"] == [576]  # the first dropout


def test_the_networks_own_dropout_streams_are_not_touched(client, alexnet):
    entry = client.app.state.services.networks.entry(alexnet)
    with entry.reading() as net:
        states = [copy.deepcopy(l.rng.bit_generator.state) for l in net.layers() if l.type == "dropout"]
    for seed in range(3):
        assert dropout_of(client, alexnet, seed=seed).status_code == 200
    with entry.reading() as net:
        assert [l.rng.bit_generator.state for l in net.layers() if l.type == "dropout"] == states


def test_a_network_without_dropout_or_a_layer_that_is_not_one_is_a_422(client, maps):
    lenet = make(client, preset="lenet5")
    r = dropout_of(client, lenet)
    assert r.status_code == 422 and "no dropout layer" in r.json()["detail"]
    r = dropout_of(client, maps, layer="conv2")
    assert r.status_code == 422
    detail = r.json()["errors"][0]
    assert detail["loc"] == ["body", "layer"] and "drop1, drop2" in detail["message"]


def test_a_network_that_is_not_there_is_a_404_and_a_negative_seed_a_422(client, maps):
    assert dropout_of(client, "0123456789abcdef").status_code == 404
    r = dropout_of(client, maps, seed=-1)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "seed"]
