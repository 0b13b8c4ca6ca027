"""A unit's receptive field: the theoretical box against brute force (which input pixels change
the unit when changed), its size against the summary's, the effective field against a numerical
gradient, and the REST endpoint that gives both."""

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient

import engine
from app.main import create_app
from app.services.layer_chain import layers_to, run_chain
from app.services.receptive import smallest_square, theoretical, unit_gradient
from app.settings import Settings

SAMPLE = {"dataset": "strokes", "split": "test", "index": 3}


# ---- small random networks -----------------------------------------------------------------
def _conv(rng):
    return {
        "type": "conv2d",
        "out_channels": int(rng.integers(1, 3)),
        "kernel_size": [int(rng.integers(1, 4)), int(rng.integers(1, 4))],
        "stride": [int(rng.integers(1, 3)), int(rng.integers(1, 3))],
        "padding": [int(rng.integers(0, 3)), int(rng.integers(0, 3))],
        "dilation": [int(rng.integers(1, 3)), int(rng.integers(1, 3))],
    }


def _layer(rng):
    kind = rng.choice(["conv", "conv", "conv", "max", "avg", "tanh", "residual"])
    if kind == "conv":
        return _conv(rng)
    if kind in ("max", "avg"):
        k = int(rng.integers(2, 4))
        return {
            "type": f"{kind}pool2d",
            "kernel_size": k,
            "stride": int(rng.integers(1, 3)),
            "padding": int(rng.integers(0, k // 2 + 1)),
        }
    if kind == "tanh":
        return {"type": "tanh"}
    # a body that keeps the size beside a 1x1 shortcut: the field is the larger of the two
    return {
        "type": "residual",
        "body": [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1}],
        "shortcut": [{"type": "conv2d", "out_channels": 2, "kernel_size": 1}],
    }


def random_spec(seed):
    """A small spec with strides, padding, dilation and pooling that builds."""
    rng = np.random.default_rng(seed)
    while True:
        spec = {
            "input": [int(rng.integers(1, 3)), int(rng.integers(9, 15)), int(rng.integers(9, 15))],
            "layers": [_conv(rng)] + [_layer(rng) for _ in range(int(rng.integers(1, 4)))],
        }
        try:
            engine.summarize(spec)
        except engine.SpecErrors:
            continue
        return spec


def float64_net(spec, seed=0):
    net = engine.build_network(spec, seed=seed).astype(np.float64)
    for layer in net.layers():  # biases too, so that no unit is flat by accident
        for k, v in layer.params.items():
            layer.params[k] = np.random.default_rng(seed).standard_normal(v.shape)
    return net


def unit_value(net, chain, x, channel, row, col):
    y, _ = run_chain(chain, net.input_shape, x[None], record=False)
    return y[0, channel, row, col]


def pixels_that_matter(net, chain, x, channel, row, col):
    """Every pixel whose change (large, either way, in any channel) changes the unit."""
    base = unit_value(net, chain, x, channel, row, col)
    _, h, w = x.shape
    seen = np.zeros((h, w), bool)
    for i in range(h):
        for j in range(w):
            for c in range(x.shape[0]):
                for step in (25.0, -25.0):
                    z = x.copy()
                    z[c, i, j] += step
                    if unit_value(net, chain, z, channel, row, col) != base:
                        seen[i, j] = True
                        break
                if seen[i, j]:
                    break
    return seen


def some_units(shape, rng, n=3):
    c, h, w = shape
    corners = [(0, 0, 0), (c - 1, h - 1, w - 1)]
    return corners + [tuple(int(rng.integers(0, m)) for m in shape) for _ in range(n - 2)]


@pytest.mark.parametrize("seed", range(12))
def test_the_theoretical_box_is_exactly_the_pixels_that_can_change_the_unit(seed):
    spec = random_spec(seed)
    net = float64_net(spec, seed)
    x = np.random.default_rng(seed).standard_normal(net.input_shape)
    path = net.root.layers[-1].path
    chain = layers_to(net.root, path)
    for channel, row, col in some_units(net.root.layers[-1].out_shape, np.random.default_rng(seed)):
        field = theoretical(chain, channel, row, col)
        seen = pixels_that_matter(net, chain, x, channel, row, col)
        if field["top"] is None:
            assert not seen.any(), (spec, channel, row, col)
            continue
        rows, cols = np.nonzero(seen)
        assert (rows.min(), rows.max(), cols.min(), cols.max()) == (
            field["top"],
            field["bottom"],
            field["left"],
            field["right"],
        ), (spec, channel, row, col)


@pytest.mark.parametrize("seed", range(12))
def test_the_theoretical_size_is_the_summarys_receptive_field_and_padding_makes_up_the_rest(seed):
    spec = random_spec(seed)
    rows = {r["path"]: r for r in engine.summarize(spec)["layers"]}
    net = engine.build_network(spec)
    for layer in net.root.layers:
        chain = layers_to(net.root, layer.path)
        _, h, w = layer.out_shape
        for row, col in ((0, 0), (h - 1, w - 1), (h // 2, w // 2)):
            field = theoretical(chain, 0, row, col)
            assert field["size"] == rows[layer.path]["receptive_field"], (spec, layer.path)
            # what lies beyond the image is in the padding; what can change the unit, within
            full, clipped = field["unclipped"], field["clipped"]
            _, ih, iw = net.input_shape
            assert (clipped["top"], clipped["bottom"]) == (max(0, -full["top"]), max(0, full["bottom"] - ih + 1))
            assert (clipped["left"], clipped["right"]) == (max(0, -full["left"]), max(0, full["right"] - iw + 1))
            if field["top"] is not None:
                assert full["top"] <= field["top"] <= field["bottom"] <= full["bottom"]
                assert full["left"] <= field["left"] <= field["right"] <= full["right"]


def test_a_branch_of_an_inception_block_has_its_own_field():
    spec = {
        "input": [1, 12, 12],
        "layers": [
            {
                "type": "concat",
                "branches": [
                    [{"type": "conv2d", "out_channels": 2, "kernel_size": 1}],
                    [{"type": "conv2d", "out_channels": 3, "kernel_size": 5, "padding": 2}],
                ],
            }
        ],
    }
    net = engine.build_network(spec)
    chain = layers_to(net.root, "layers[0]")
    assert theoretical(chain, 1, 6, 6)["size"] == [1, 1]  # a channel of the 1x1 branch
    assert theoretical(chain, 2, 6, 6)["size"] == [5, 5]  # a channel of the 5x5 branch
    inner = layers_to(net.root, "layers[0].branches[1][0]")
    assert theoretical(inner, 0, 6, 6)["size"] == [5, 5]


@pytest.mark.parametrize("seed", range(6))
def test_the_effective_field_is_the_gradient_of_the_unit(seed):
    spec = random_spec(100 + seed)
    net = float64_net(spec, seed)
    x = np.random.default_rng(seed).standard_normal(net.input_shape)
    chain = layers_to(net.root, net.root.layers[-1].path)
    channel, row, col = some_units(net.root.layers[-1].out_shape, np.random.default_rng(seed))[-1]
    y, seq = run_chain(chain, net.input_shape, x[None], record=True)
    grad = unit_gradient(seq, y, channel, row, col)
    numeric = np.zeros_like(x)
    eps = 1e-6
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (
            unit_value(net, chain, up, channel, row, col) - unit_value(net, chain, down, channel, row, col)
        ) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, atol=1e-6, rtol=1e-5)


def test_the_smallest_square_holding_90_percent():
    mass = np.zeros((10, 10))
    mass[2:5, 3:6] = 1.0  # 9 in a 3x3 block
    mass[9, 9] = 0.5  # a little far away: 9 / 9.5 > 90%
    assert smallest_square(mass) == {"size": [3, 3], "top": 2, "left": 3, "bottom": 4, "right": 5}
    mass[9, 9] = 2.0  # 9 / 11 < 90%: the square must reach it
    assert smallest_square(mass)["size"] == [8, 8]
    assert smallest_square(np.zeros((4, 4))) is None


# ---- over REST -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))) as c:
        yield c


@pytest.fixture(scope="module")
def lenet(client):
    r = client.post("/api/networks", json={"preset": "lenet5"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def field_of(client, id, **unit):
    return client.post(f"/api/networks/{id}/receptive-field", json={**SAMPLE, **unit})


def test_a_conv2_unit_of_lenet5_sees_14x14_and_uses_less(client, lenet):
    r = field_of(client, lenet, layer="conv2", channel=3, row=5, col=4)
    assert r.status_code == 200, r.text
    body = r.json()
    t = body["theoretical"]
    # conv1 5x5 (padding 2), pool 2x2, conv2 5x5: r = 5 + 1 + 4 x 2 = 14, starting at 2 x 5 - 2
    assert t["size"] == [14, 14]
    assert (t["top"], t["bottom"], t["left"], t["right"]) == (8, 21, 6, 19)
    assert t["clipped"] == {"top": 0, "left": 0, "bottom": 0, "right": 0}
    eff = body["effective"]
    mass = np.frombuffer(base64.b64decode(eff["map"]), "<f4").reshape(eff["shape"])
    assert mass.shape == (28, 28)
    outside = mass.copy()
    outside[8:22, 6:20] = 0
    assert outside.max() == 0 and mass.max() > 0  # nothing outside the field
    h, w = eff["within_90"]
    assert 1 <= h <= 14 and 1 <= w <= 14
    sq = eff["square"]
    share = mass[sq["top"] : sq["bottom"] + 1, sq["left"] : sq["right"] + 1].sum() / mass.sum()
    assert share >= 0.9 - 1e-5
    assert body["text"] == f"theoretical 14×14; 90% of the gradient within {h}×{w}"


def test_a_unit_at_the_corner_says_which_part_lies_in_padding(client, lenet):
    t = field_of(client, lenet, layer="layers[3]", channel=0, row=0, col=9).json()["theoretical"]
    assert t["size"] == [14, 14]
    assert (t["top"], t["bottom"], t["left"], t["right"]) == (0, 11, 16, 27)
    assert t["clipped"] == {"top": 2, "left": 0, "bottom": 0, "right": 2}
    assert t["text"] == (
        "theoretical 14×14: rows 0 to 11, columns 16 to 27; 2 rows above the "
        "image, 2 columns right of it in the padding"
    )


def test_the_effective_field_matches_the_local_gradient(client, lenet):
    body = field_of(client, lenet, layer="conv2", channel=1, row=4, col=4).json()
    with client.app.state.services.networks.entry(lenet).reading() as net:
        net = net.copy()
    ds = client.app.state.services.datasets.load("strokes")
    x = ds.normalize(ds.x_test[3])
    chain = layers_to(net.root, "layers[3]")
    y, seq = run_chain(chain, net.input_shape, x, record=True)
    expected = np.abs(unit_gradient(seq, y, 1, 4, 4)).sum(axis=0)
    mass = np.frombuffer(base64.b64decode(body["effective"]["map"]), "<f4").reshape(28, 28)
    np.testing.assert_allclose(mass, expected, rtol=1e-5, atol=1e-7)
    assert body["value"] == pytest.approx(float(y[0, 1, 4, 4]), rel=1e-5, abs=1e-6)


def test_a_vector_unit_sees_the_whole_image(client, lenet):
    body = field_of(client, lenet, layer="fc1", channel=7).json()
    t = body["theoretical"]
    assert (t["top"], t["bottom"], t["left"], t["right"]) == (0, 27, 0, 27)
    assert t["size"] == [32, 32]


def test_the_field_leaves_the_gradients_and_caches_as_they_were(client, lenet):
    entry = client.app.state.services.networks.entry(lenet)
    with entry.reading() as net:
        caches = [layer.cache for layer in net.layers()]
        grads = [dict(layer.grads) for layer in net.layers()]
    assert field_of(client, lenet, layer="conv2", channel=0, row=3, col=3).status_code == 200
    with entry.reading() as net:
        assert [layer.cache for layer in net.layers()] == caches
        assert [dict(layer.grads).keys() for layer in net.layers()] == [g.keys() for g in grads]


@pytest.mark.parametrize(
    "unit, field, words",
    [
        ({"layer": "conv2", "channel": 16}, "channel", "channel 16 is out of range"),
        ({"layer": "conv2", "row": 10}, "row", "row 10 is out of range"),
        ({"layer": "conv2", "col": 12}, "col", "0 to 9"),
        ({"layer": "fc1", "channel": 3, "row": 1}, "row", "is a vector"),
        ({"layer": "input"}, "layer", "pick a layer after it"),
        ({"layer": "conv9"}, "layer", "no layer 'conv9'"),
    ],
)
def test_a_unit_that_is_not_there_is_a_422_naming_the_field(client, lenet, unit, field, words):
    r = field_of(client, lenet, **unit)
    assert r.status_code == 422, r.text
    detail = r.json()["errors"][0]
    assert detail["loc"] == ["body", field] and words in detail["message"]


def test_a_network_that_is_not_there_is_a_404_and_a_negative_unit_a_422(client, lenet):
    r = field_of(client, "0123456789abcdef", layer="conv2")
    assert r.status_code == 404, r.text
    r = field_of(client, lenet, layer="conv2", row=-1)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "row"]


def test_a_network_without_an_image_input_is_told_fields_need_one(client):
    r = client.post(
        "/api/networks", json={"spec": {"input": [16], "layers": [{"type": "linear", "out_features": 4, "name": "fc"}]}}
    )
    assert r.status_code == 201, r.text
    r = client.post(f"/api/networks/{r.json()['id']}/receptive-field", json={"pixels": [[0.0] * 4] * 4, "layer": "fc"})
    assert r.status_code == 422, r.text
    assert "image input (C, H, W)" in str(r.json()["detail"])
