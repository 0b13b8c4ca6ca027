"""The convolution explainer: the lecture's example, backward by hand, strides, padding, pooling, errors."""

import numpy as np
import pytest

import engine
from app.errors import Invalid, TooLarge
from app.services.conv_backward import correlate, dilate
from app.services.conv_explain import _agree, explain

X = [[0, 1, 2, 1, 0], [4, 1, 0, 1, 0], [2, 0, 1, 1, 1], [1, 2, 3, 1, 0], [0, 4, 3, 2, 0]]
W = [[0, 1, 0], [1, 0, 1], [2, 1, 0]]


def forward_by_hand(x, w, s, p, dil=1):
    x, w = np.pad(np.asarray(x, float), p), np.asarray(w, float)
    kh, kw = w.shape
    ho, wo = (x.shape[0] - dil * (kh - 1) - 1) // s + 1, (x.shape[1] - dil * (kw - 1) - 1) // s + 1
    return np.array(
        [
            [
                sum(w[a, b] * x[i * s + a * dil, j * s + b * dil] for a in range(kh) for b in range(kw))
                for j in range(wo)
            ]
            for i in range(ho)
        ]
    )


def backward_by_hand(x, w, s, p, delta, dil=1):
    """dW[a,b] = sum_ij delta[i,j] Xpad[i*S+a*d, j*S+b*d];
    dXpad[i*S+a*d, j*S+b*d] += delta[i,j] W[a,b]."""
    x, w, d = np.asarray(x, float), np.asarray(w, float), np.asarray(delta, float)
    xp = np.pad(x, p)
    dW, dxp = np.zeros_like(w), np.zeros_like(xp)
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            for a in range(w.shape[0]):
                for b in range(w.shape[1]):
                    dW[a, b] += d[i, j] * xp[i * s + a * dil, j * s + b * dil]
                    dxp[i * s + a * dil, j * s + b * dil] += d[i, j] * w[a, b]
    return dW, dxp[p : p + x.shape[0], p : p + x.shape[1]]


def numeric_grads(x, w, s, p, delta, h=1e-6, dil=1):
    """Central differences of L = sum(delta * conv(x, w))."""
    x, w, d = np.asarray(x, float), np.asarray(w, float), np.asarray(delta, float)

    def loss(x, w):
        return float((d * forward_by_hand(x, w, s, p, dil)).sum())

    out = []
    for arr in (w, x):
        g = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            plus, minus = arr.copy(), arr.copy()
            plus[idx] += h
            minus[idx] -= h
            g[idx] = (
                (loss(plus, w) - loss(minus, w)) / (2 * h) if arr is x else (loss(x, plus) - loss(x, minus)) / (2 * h)
            )
        out.append(g)
    return out  # dW, dX


def test_the_lecture_example():
    r = explain(X, W)
    assert r["output"] == [[9, 5, 4], [8, 8, 10], [8, 15, 12]]
    assert r["formula"] == {"height": "(5 + 2*0 - 3)/1 + 1 = 3", "width": "(5 + 2*0 - 3)/1 + 1 = 3"}
    assert len(r["cells"]) == 9
    last = r["cells"][-1]
    assert (last["row"], last["col"]) == (2, 2) and last["sum"] == 12
    assert last["window"] == {"top": 2, "left": 2, "rows": 3, "cols": 3, "dilation": 1}
    assert last["products"] == [[[0, 1, 0], [3, 0, 0], [6, 2, 0]]]  # one channel
    assert last["channel_sums"] == [12] and last["bias"] is None and last["activated"] == 12
    assert r["padded_x"] == [X] and r["warnings"] == [] and r["channels"] == 1


def test_the_lecture_backward_with_ones():
    r = explain(X, W)
    b = r["backward"]
    assert b["delta"] == [[1, 1, 1]] * 3
    # dW[a,b] = sum_ij X[i+a, j+b]: the sum of the 3x3 block of X starting at (a, b)
    x = np.array(X, float)
    assert b["dW"] == [[[x[a : a + 3, c : c + 3].sum() for c in range(3)] for a in range(3)]]
    # the lecture's formula dX[i,j] = sum_ab delta[i-a, j-b] W[a,b] (delta outside its range is 0)
    w = np.array(W, float)
    dX = [
        [sum(w[a, c] for a in range(3) for c in range(3) if 0 <= i - a < 3 and 0 <= j - c < 3) for j in range(5)]
        for i in range(5)
    ]
    assert b["dX"] == [dX]
    assert b["dX_as_convolution"]["kernel"] == [[[0, 1, 2], [1, 0, 1], [0, 1, 0]]]  # W rotated 180 degrees
    assert np.array(b["dX_as_convolution"]["input"]).shape == (7, 7)  # 3x3 delta padded by K-1 = 2
    assert b["dW_as_convolution"]["kernel"] == b["delta"]


@pytest.mark.parametrize(
    "shape,k,s,p",
    [
        ((5, 5), (3, 3), 2, 0),
        ((5, 5), (3, 3), 1, 1),
        ((7, 6), (3, 2), 2, 1),
        ((6, 6), (3, 3), 2, 0),
        ((8, 9), (4, 3), 3, 2),
        ((4, 4), (1, 1), 1, 0),
    ],
)
def test_strides_and_padding_against_hand_definitions(shape, k, s, p):
    rng = np.random.default_rng(sum(shape) + 10 * s + p)
    x, w = rng.integers(-3, 4, size=shape).astype(float), rng.integers(-2, 3, size=k).astype(float)
    ho, wo = (shape[0] + 2 * p - k[0]) // s + 1, (shape[1] + 2 * p - k[1]) // s + 1
    delta = rng.integers(-2, 3, size=(ho, wo)).astype(float)
    r = explain(x.tolist(), w.tolist(), s, p, delta.tolist())
    assert np.array(r["output"]).shape == (ho, wo)
    np.testing.assert_allclose(r["output"], forward_by_hand(x, w, s, p))
    assert [c["sum"] for c in r["cells"]] == pytest.approx(np.ravel(r["output"]).tolist())
    dW, dX = backward_by_hand(x, w, s, p, delta)
    np.testing.assert_allclose(r["backward"]["dW"], [dW])
    np.testing.assert_allclose(r["backward"]["dX"], [dX])
    nW, nX = numeric_grads(x, w, s, p, delta)
    np.testing.assert_allclose(r["backward"]["dW"], [nW], atol=1e-6)
    np.testing.assert_allclose(r["backward"]["dX"], [nX], atol=1e-6)
    np.testing.assert_allclose(r["backward"]["dW_as_convolution"]["output"], [dW])
    np.testing.assert_allclose(r["backward"]["dX_as_convolution"]["output"], [dX])
    assert np.array(r["padded_x"]).shape == (1, shape[0] + 2 * p, shape[1] + 2 * p)


@pytest.mark.parametrize(
    "shape,k,s,p,dil",
    [((7, 7), (3, 3), 1, 0, 2), ((8, 9), (3, 2), 2, 1, 2), ((9, 7), (2, 3), 1, 2, 3), ((10, 10), (3, 3), 3, 0, 2)],
)
def test_dilation_against_hand_definitions(shape, k, s, p, dil):
    """A dilated kernel reads every d-th input: the same sums and gradients written out, by
    central differences, and as the two convolutions of the backward pass."""
    rng = np.random.default_rng(sum(shape) + 10 * s + p + 100 * dil)
    x, w = rng.integers(-3, 4, size=shape).astype(float), rng.integers(-2, 3, size=k).astype(float)
    span = [dil * (kk - 1) + 1 for kk in k]
    ho, wo = (shape[0] + 2 * p - span[0]) // s + 1, (shape[1] + 2 * p - span[1]) // s + 1
    delta = rng.integers(-2, 3, size=(ho, wo)).astype(float)
    r = explain(x.tolist(), w.tolist(), s, p, delta.tolist(), dilation=dil)
    assert r["dilation"] == dil and r["kernel"] == [w.tolist()]
    np.testing.assert_allclose(r["output"], forward_by_hand(x, w, s, p, dil))
    assert r["formula"]["height"] == f"({shape[0]} + 2*{p} - {dil}*({k[0]} - 1) - 1)/{s} + 1 = " + (
        f"{(shape[0] + 2 * p - span[0]) / s + 1:g}"
    )
    last = r["cells"][-1]
    assert last["window"] == {"top": (ho - 1) * s, "left": (wo - 1) * s, "rows": k[0], "cols": k[1], "dilation": dil}
    xp = np.pad(x, p)
    taps = xp[(ho - 1) * s :: dil, (wo - 1) * s :: dil][: k[0], : k[1]]
    np.testing.assert_allclose(last["products"], [taps * w])
    dW, dX = backward_by_hand(x, w, s, p, delta, dil)
    nW, nX = numeric_grads(x, w, s, p, delta, dil=dil)
    b = r["backward"]
    as_convolutions = (b["dW_as_convolution"]["output"], b["dX_as_convolution"]["output"])
    for got, want in (
        (b["dW"], dW),
        (b["dX"], dX),
        (b["dW"], nW),
        (b["dX"], nX),
        (as_convolutions[0], dW),
        (as_convolutions[1], dX),
    ):
        np.testing.assert_allclose(got, [want], atol=1e-6)
    rotated = np.array(b["dX_as_convolution"]["kernel"][0])[::-1, ::-1]
    assert rotated.shape == tuple(span) and rotated[::dil, ::dil].tolist() == w.tolist()
    assert "dilated by" in b["dX_as_convolution"]["description"]


def test_dilation_that_spans_more_than_the_input_says_so():
    with pytest.raises(Invalid) as e:
        explain(X, W, dilation=3)
    (err,) = e.value.detail
    assert err["loc"] == ["body", "w"]
    assert ("the kernel height 3 dilated by 3 spans 7, which is larger than the padded input height") in err["msg"]
    assert "(5 + 2*0 - 3*(3 - 1) - 1)/1 + 1 = -1" in err["msg"]


def test_stride_two_dilates_delta_and_padding_one_is_cut_away():
    x = np.arange(25, dtype=float).reshape(5, 5)
    r = explain(x.tolist(), W, stride=2, padding=1, dl_do=[[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert r["formula"]["height"] == "(5 + 2*1 - 3)/2 + 1 = 3"
    assert r["cells"][0]["window"] == {"top": 0, "left": 0, "rows": 3, "cols": 3, "dilation": 1}
    assert r["cells"][-1]["window"] == {"top": 4, "left": 4, "rows": 3, "cols": 3, "dilation": 1}
    kernel = np.array(r["backward"]["dW_as_convolution"]["kernel"])
    assert (
        kernel.shape == (5, 5)
        and kernel[1].tolist() == [0] * 5
        and kernel[::2, ::2].tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    )
    full = np.array(r["backward"]["dX_as_convolution"]["input"])
    assert full.shape == (9, 9) and full[2:7, 2:7].tolist() == kernel.tolist()
    assert "cut away" in r["backward"]["dX_as_convolution"]["description"]


def test_a_stride_that_does_not_divide_warns():
    r = explain(np.ones((6, 6)).tolist(), W, stride=2)
    assert r["formula"]["width"] == "(6 + 2*0 - 3)/2 + 1 = 2.5" and np.array(r["output"]).shape == (2, 2)
    same = {"input": [1, 6, 6], "layers": [{"type": "conv2d", "out_channels": 1, "kernel_size": 3, "stride": 2}]}
    assert r["warnings"] == [w.removeprefix("layers[0]: ") for w in engine.summarize(same)["warnings"]]
    assert r["warnings"][0].endswith(
        "the row and column at index 5 are left over, which no window "
        "reads; 1 row and 1 column of input pixels are lost."
    )
    assert r["backward"]["dX"][0][5] == [0] * 6  # the last row was never read


def test_pooling_has_its_own_window_two_by_two_stride_two_by_default():
    r = explain(X, W)["pooling"]
    assert (r["kernel_size"], r["stride"], r["padding"], r["error"]) == (2, 2, 0, None)
    assert r["formula"]["height"] == "(5 + 2*0 - 2)/2 + 1 = 2.5" and r["output_shape"] == [2, 2]
    assert "1 row and 1 column of input pixels are lost" in r["warnings"][0]  # the engine's words
    assert r["windows"][1][0] == {"top": 2, "left": 0, "size": 2}
    # the windows [[0,1],[4,1]], [[2,1],[0,1]], [[2,0],[1,2]], [[1,1],[3,1]]
    assert r["max"]["output"] == [[[4, 2], [2, 3]]]
    assert r["max"]["argmax"] == [[[[1, 0], [0, 2]], [[2, 0], [3, 2]]]]  # ties: the first in reading order
    dx = np.array(r["max"]["dx"][0])
    winners = {(1, 0), (0, 2), (2, 0), (3, 2)}
    assert all(dx[i, j] == (1 if (i, j) in winners else 0) for i in range(5) for j in range(5))
    np.testing.assert_allclose(r["avg"]["output"], [[[1.5, 1], [1.25, 1.5]]])
    avg = np.array(r["avg"]["dx"][0])  # 1/4 to each input of a window; row and column 4 unread
    assert (avg[:4, :4] == 0.25).all() and avg[4].tolist() == [0] * 5 and avg[:, 4].tolist() == [0] * 5


def test_pooling_routes_an_upstream_gradient_and_adds_where_windows_overlap():
    r = explain(X, W, pool_kernel=3, pool_stride=1, pool_delta=[[1, 2, 3], [4, 5, 6], [7, 8, 9]])["pooling"]
    assert r["max"]["output"] == [[[4, 2, 2], [4, 3, 3], [4, 4, 3]]]
    dx = np.array(r["max"]["dx"][0])
    # X[1,0] = 4 wins the windows at (0,0) and (1,0): 1 + 4; X[4,1] = 4 those at (2,0) and (2,1): 7 + 8
    assert dx[1, 0] == 5 and dx[4, 1] == 15 and dx.sum() == 45
    avg = np.array(r["avg"]["dx"][0])
    assert avg[0, 0] == pytest.approx(1 / 9) and avg[2, 2] == pytest.approx(45 / 9)
    np.testing.assert_allclose(r["avg"]["output"][0], np.array(explain(X, [[1] * 3] * 3)["output"]) / 9)


def test_pooling_that_cannot_work_says_why_in_the_engines_words_and_the_rest_stands():
    r = explain(np.ones((4, 4)).tolist(), [[1, 1], [1, 1]], pool_kernel=2, pool_padding=2)
    assert r["pooling"]["error"] == "padding 2 is more than half the kernel_size 2"
    assert r["output"] == [[4] * 3] * 3
    r = explain(X, W, pool_kernel=6)
    assert "kernel_size 6 is larger than the padded input height 5 + 2*0 = 5" in r["pooling"]["error"]
    with pytest.raises(Invalid) as e:
        explain(X, W, pool_delta=[[1]])
    assert e.value.detail[0]["loc"] == ["body", "pool_delta"] and "pooling gives 2x2" in e.value.detail[0]["msg"]


def test_pooling_pools_each_channel_on_its_own():
    x = np.arange(2 * 4 * 4, dtype=float).reshape(2, 4, 4)
    r = explain(x.tolist(), np.ones((2, 1, 1)).tolist())["pooling"]
    assert r["max"]["output"] == [[[5, 7], [13, 15]], [[21, 23], [29, 31]]]
    assert r["max"]["argmax"][1][0][0] == [1, 1]


# ---- channels, bias, activation, parameters -------------------------------------------------
RGB_X = [X, np.flipud(X).tolist(), (np.array(X) % 2).tolist()]
RGB_W = [W, [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[-1, 0, 1]] * 3]


def test_channels_and_bias_sum_over_depth_and_add_b():
    r = explain(RGB_X, RGB_W, bias=0.5, filters=20)
    xs, ws = np.array(RGB_X, float), np.array(RGB_W, float)
    for cell in r["cells"]:
        i, j = cell["row"], cell["col"]
        parts = [(ws[c] * xs[c, i : i + 3, j : j + 3]).sum() for c in range(3)]
        assert cell["channel_sums"] == parts
        assert cell["bias"] == 0.5 and cell["sum"] == sum(parts) + 0.5
        assert np.array(cell["products"]).shape == (3, 3, 3)
    assert r["channels"] == 3 and r["output"][0][0] == r["cells"][0]["sum"]
    # the lecture's 20 x (5x5x3 + 1), with this layer's numbers: 20 x (3x3x3 + 1)
    assert r["parameters"] == {
        "filters": 20,
        "per_filter": 28,
        "count": 560,
        "bias": True,
        "formula": "20 x (3x3x3 + 1) = 560",
    }
    assert explain(X, W)["parameters"]["formula"] == "1 x (3x3x1) = 9"  # no bias, no +1


def test_the_lectures_layer_counts_1520_parameters():
    x = np.zeros((3, 32, 32)).tolist()
    r = explain(x, np.zeros((3, 5, 5)).tolist(), stride=2, padding=1, bias=0, filters=20)
    assert r["parameters"]["count"] == 20 * (5 * 5 * 3 + 1) == 1520


@pytest.mark.parametrize("name", ["none", "relu", "leaky_relu", "sigmoid", "tanh"])
def test_activation_and_delta_is_dl_do_times_f_prime(name):
    dl_do = [[1, -2, 3], [0.5, 1, -1], [2, 2, 2]]
    r = explain(X, W, bias=-9, activation=name, dl_do=dl_do)
    i = np.array(r["output"])
    assert i.tolist() == [[0, -4, -5], [-1, -1, 1], [-1, 6, 3]]  # the lecture's I, minus 9
    f, df = {
        "none": (lambda v: v, lambda v: np.ones_like(v)),
        "relu": (lambda v: np.maximum(v, 0), lambda v: (v > 0) * 1.0),
        "leaky_relu": (lambda v: np.where(v > 0, v, 0.01 * v), lambda v: np.where(v > 0, 1, 0.01)),
        "sigmoid": (lambda v: 1 / (1 + np.exp(-v)), lambda v: np.exp(-v) / (1 + np.exp(-v)) ** 2),
        "tanh": (np.tanh, lambda v: 1 / np.cosh(v) ** 2),
    }[name]
    a, b = r["activation"], r["backward"]
    np.testing.assert_allclose(a["output"], f(i))
    np.testing.assert_allclose(a["slope"], df(i))
    assert b["slope"] == a["slope"] and b["dl_do"] == dl_do
    np.testing.assert_allclose(b["delta"], np.array(dl_do) * df(i))
    assert [c["activated"] for c in r["cells"]] == pytest.approx(np.ravel(a["output"]).tolist())
    # the rest of the backward pass starts from delta, not from dL/dO
    dW, dX = backward_by_hand(X, W, 1, 0, b["delta"])
    np.testing.assert_allclose(b["dW"], [dW], atol=1e-12)
    np.testing.assert_allclose(b["dX"], [dX], atol=1e-12)
    assert b["db"] == pytest.approx(np.sum(b["delta"]))
    assert a["f"].startswith("O = ") and a["df"].startswith("f'(I) = ")


def test_gradients_with_channels_bias_and_activation_match_central_differences():
    rng = np.random.default_rng(7)
    x, w = rng.normal(size=(3, 5, 6)), rng.normal(size=(3, 2, 3))
    b, dl_do = 0.3, rng.normal(size=(3, 3))
    r = explain(x.tolist(), w.tolist(), stride=2, padding=1, dl_do=dl_do.tolist(), bias=b, activation="tanh")

    def loss(x, w, b):
        i = sum(forward_by_hand(x[c], w[c], 2, 1) for c in range(3)) + b
        return float((dl_do * np.tanh(i)).sum())

    h = 1e-6
    for name, arr in (("dW", w), ("dX", x)):
        grad = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            plus, minus = arr.copy(), arr.copy()
            plus[idx] += h
            minus[idx] -= h
            args = ((x, plus), (x, minus)) if name == "dW" else ((plus, w), (minus, w))
            grad[idx] = (loss(*args[0], b) - loss(*args[1], b)) / (2 * h)
        np.testing.assert_allclose(r["backward"][name], grad, atol=1e-6)
    assert r["backward"]["db"] == pytest.approx((loss(x, w, b + h) - loss(x, w, b - h)) / (2 * h))


def test_each_dw_and_dx_cell_comes_with_the_terms_that_make_it():
    r = explain(X, W)
    b = r["backward"]
    # dL/dW[0,0] = sum_ij delta[i,j] X[i, j]: the nine entries of X's top-left 3x3, times 1
    first = b["dW_cells"][0]
    assert (first["channel"], first["row"], first["col"], first["sum"]) == (0, 0, 0, 11)
    assert [t["at"] for t in first["terms"]] == [[i, j] for i in range(3) for j in range(3)]
    assert [t["x"] for t in first["terms"]] == [0, 1, 2, 4, 1, 0, 2, 0, 1]
    assert all(t["delta"] == 1 and t["product"] == t["x"] for t in first["terms"])
    # dL/dX[i,j] = sum_ab delta[i-a, j-b] W[a,b]: the corner is read by one window, the centre by nine
    corner, centre = b["dX_cells"][0], b["dX_cells"][12]
    assert [(t["out"], t["tap"]) for t in corner["terms"]] == [([0, 0], [0, 0])]
    assert sorted(t["out"] for t in centre["terms"]) == [[i, j] for i in range(3) for j in range(3)]
    assert all(t["tap"] == [2 - t["out"][0], 2 - t["out"][1]] for t in centre["terms"])
    assert centre["sum"] == sum(sum(row) for row in W) == 6
    assert [c["sum"] for c in b["dX_cells"]] == np.ravel(b["dX"]).tolist()
    assert [c["sum"] for c in b["dW_cells"]] == np.ravel(b["dW"]).tolist()
    assert b["terms_note"] is None


def test_backward_terms_with_stride_padding_and_channels_follow_the_definitions():
    rng = np.random.default_rng(3)
    x, w = rng.integers(-3, 4, (2, 5, 5)).astype(float), rng.integers(-2, 3, (2, 3, 3)).astype(float)
    delta = rng.integers(-2, 3, (3, 3)).astype(float)
    r = explain(x.tolist(), w.tolist(), stride=2, padding=1, dl_do=delta.tolist())
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    for cell in r["backward"]["dW_cells"]:
        c, a, b = cell["channel"], cell["row"], cell["col"]
        want = [(delta[i, j], xp[c, 2 * i + a, 2 * j + b]) for i in range(3) for j in range(3)]
        assert [(t["delta"], t["x"]) for t in cell["terms"]] == want
    for cell in r["backward"]["dX_cells"]:
        c, y, q = cell["channel"], cell["row"], cell["col"]
        # every (output, tap) whose tap lands on X[c, y, q]: 2i + a - 1 = y, 2j + b - 1 = q
        want = sorted(
            (i, j, a, b)
            for i in range(3)
            for j in range(3)
            for a in range(3)
            for b in range(3)
            if 2 * i + a - 1 == y and 2 * j + b - 1 == q
        )
        assert sorted((*t["out"], *t["tap"]) for t in cell["terms"]) == want
        assert cell["sum"] == pytest.approx(sum(delta[i, j] * w[c, a, b] for i, j, a, b in want))


def test_too_many_terms_are_not_listed_and_too_many_products_are_413():
    r = explain(np.ones((32, 32)).tolist(), np.ones((6, 6)).tolist())  # 36 x 27 x 27 = 26,244
    assert r["backward"]["dW_cells"] is None and r["backward"]["dX_cells"] is None
    assert "this convolution has 26,244, so only the results are shown" in r["backward"]["terms_note"]
    assert np.array(r["backward"]["dX"]).shape == (1, 32, 32)
    with pytest.raises(TooLarge) as e:
        explain(np.ones((4, 32, 32)).tolist(), np.ones((4, 24, 24)).tolist(), padding=8)
    assert "over the limit of 400,000" in str(e.value.detail)


@pytest.mark.parametrize(
    "kwargs,field,words",
    [
        ({"x": [X, X], "w": [W]}, "w", "has 1 channel but x has 2"),
        ({"x": [X, [[1, 2]]], "w": [W, W]}, "x", "channels have different sizes (5x5, 1x2)"),
        ({"x": [X] * 5, "w": [W] * 5}, "x", "at most 4 are allowed"),
        ({"x": X, "w": W, "activation": "softmax"}, "activation", "unknown activation 'softmax'"),
        ({"x": X, "w": W, "bias": 1e200}, "bias", "too large"),
    ],
)
def test_channel_bias_and_activation_errors(kwargs, field, words):
    with pytest.raises(Invalid) as e:
        explain(**kwargs)
    (err,) = e.value.detail
    assert err["loc"] == ["body", field] and words in err["msg"], err


def test_helpers():
    assert dilate(np.array([[1.0, 2.0]]), 3).tolist() == [[1, 0, 0, 2]]
    assert correlate(np.arange(9.0).reshape(3, 3), np.ones((2, 2))).tolist() == [[8, 12], [20, 24]]


@pytest.mark.parametrize(
    "kwargs,field,words",
    [
        ({"x": [[1, 2], [3]], "w": [[1]]}, "x", "different lengths"),
        ({"x": [[1, 2]], "w": [[1, 1, 1]]}, "w", "(2 + 2*0 - 3)/1 + 1 = 0"),
        ({"x": X, "w": W, "dl_do": [[1, 1], [1, 1]]}, "dl_do", "output is 3x3"),
        ({"x": [[1, float("nan")]], "w": [[1]]}, "x", "NaN"),
        ({"x": [[1] * 33], "w": [[1]]}, "x", "at most 32"),
        ({"x": [[1, "a"]], "w": [[1]]}, "x", "numbers"),
    ],
)
def test_service_errors(kwargs, field, words):
    with pytest.raises(Invalid) as e:
        explain(**kwargs)
    (err,) = e.value.detail
    assert err["loc"] == ["body", field] and words in err["msg"]


# ---- over HTTP -----------------------------------------------------------------------------
def test_api_lecture_example(client):
    r = client.post("/api/conv/explain", json={"x": X, "w": W})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["output"] == [[9, 5, 4], [8, 8, 10], [8, 15, 12]] and body["cells"][-1]["sum"] == 12
    assert set(body["pooling"]) >= {"max", "avg"} and set(body["backward"]) >= {"dW", "dX", "dW_as_convolution"}


def test_api_stride_padding(client):
    r = client.post("/api/conv/explain", json={"x": X, "w": W, "stride": 2, "padding": 1})
    assert r.status_code == 200 and r.json()["formula"]["width"] == "(5 + 2*1 - 3)/2 + 1 = 3"


def test_api_channels_bias_activation_and_pooling(client):
    body = {"x": RGB_X, "w": RGB_W, "bias": -1, "activation": "relu", "filters": 20, "pool_kernel": 3, "pool_stride": 2}
    r = client.post("/api/conv/explain", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["channels"] == 3 and got["parameters"]["formula"] == "20 x (3x3x3 + 1) = 560"
    assert got["activation"]["name"] == "relu" and got["backward"]["db"] is not None
    assert got["pooling"]["kernel_size"] == 3 and got["pooling"]["output_shape"] == [2, 2]
    for bad, words in (
        ({"activation": "softmax"}, "Input should be"),
        ({"filters": 0}, "greater than"),
        ({"pool_kernel": 0}, "greater than"),
    ):
        r = client.post("/api/conv/explain", json={**body, **bad})
        assert r.status_code == 422 and words in r.text, r.text
    r = client.post("/api/conv/explain", json={"x": [[[1] * 32] * 32] * 4, "w": [[[1] * 24] * 24] * 4, "padding": 8})
    assert r.status_code == 413 and "400,000" in r.json()["detail"]


def test_api_dilation(client):
    r = client.post("/api/conv/explain", json={"x": X, "w": W, "padding": 2, "dilation": 2})
    assert r.status_code == 200, r.text
    assert r.json()["formula"]["width"] == "(5 + 2*2 - 2*(3 - 1) - 1)/1 + 1 = 5"
    assert r.json()["cells"][0]["window"]["dilation"] == 2
    assert client.post("/api/conv/explain", json={"x": X, "w": W, "dilation": 0}).status_code == 422


@pytest.mark.parametrize(
    "body,words",
    [
        ({"x": [[1, 2], [3]], "w": [[1]]}, "different lengths"),
        ({"x": [[1, 2], [3, 4]], "w": W}, "(2 + 2*0 - 3)/1 + 1 = 0"),
        ({"x": [[1] * 33], "w": [[1]]}, "at most 32"),
        ({"x": [[1] * 3] * 33, "w": [[1]]}, "at most 32"),
        ({"x": X, "w": W, "stride": 0}, "greater than or equal to 1"),
        ({"x": X, "w": W, "padding": 99}, "less than or equal to 8"),
        ({"x": [], "w": W}, "at least 1"),
        ({"x": X, "w": W, "groups": 2}, "Extra inputs"),
    ],
)
def test_api_bad_input_is_422(client, body, words):
    r = client.post("/api/conv/explain", json=body)
    assert r.status_code == 422, r.text
    assert words in r.text


@pytest.mark.parametrize("token", ["NaN", "Infinity", "1e999"])
def test_api_rejects_non_finite_numbers(client, token):
    r = client.post(
        "/api/conv/explain",
        content=f'{{"x": [[1, {token}]], "w": [[1]]}}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and "finite" in r.text
    assert "NaN" not in r.text.replace('"NaN"', "")


@pytest.mark.parametrize(
    "body,field,where",
    [
        ({"x": [[1, 1e200], [3, 4]], "w": [[1e200]]}, "x", "x[0][1] = 1e+200"),
        ({"x": [[1e150] * 3] * 3, "w": [[0, 1], [1, -2e160]]}, "w", "w[1][1] = -2e+160"),
        ({"x": [[1, 2], [3, 4e10]], "w": [[1]], "dl_do": [[1, 1], [1, 1e300]]}, "dl_do", "dl_do[1][1] = 1e+300"),
    ],
)
def test_api_values_whose_products_overflow_are_422(client, body, field, where):
    r = client.post("/api/conv/explain", json=body)
    assert r.status_code == 422, r.text
    (err,) = r.json()["errors"]
    assert err["loc"] == ["body", field]
    assert where in err["message"] and "-1e+150 and 1e+150" in err["message"] and "float64" in err["message"]


def test_the_largest_accepted_values_stay_finite(client):
    big = [[1e150] * 32] * 32
    r = client.post("/api/conv/explain", json={"x": big, "w": big, "padding": 8})
    assert r.status_code == 200, r.text[:300]
    r = client.post("/api/conv/explain", json={"x": big, "w": [[-1e150]], "padding": 8})
    assert r.status_code == 200, r.text[:300]


def test_entries_of_very_different_sizes_agree_with_the_engine(client):
    # 1e34 - 1e34: the engine's and the definition's sums round differently, by about 1e34 * eps
    body = {"x": [[-1e17, -1e17, -1e17]], "w": [[-1e17, -1.0]], "dl_do": [[-1e17, 1e17]]}
    r = client.post("/api/conv/explain", json=body)
    assert r.status_code == 200, r.text[:300]
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, k, s, p = (int(v) for v in rng.integers([2, 1, 1, 0], [7, 4, 3, 2]))
        if k > n + 2 * p:
            continue
        ho, wo = (n + 2 * p - k) // s + 1, (n + 1 + 2 * p - k) // s + 1

        def mixed(shape):
            exponents = rng.choice([-3, 0, 17, 40], shape)
            return (rng.choice([-1.0, 1.0], shape) * 10.0**exponents).tolist()

        body = {"x": mixed((n, n + 1)), "w": mixed((k, k)), "stride": s, "padding": p, "dl_do": mixed((ho, wo))}
        assert client.post("/api/conv/explain", json=body).status_code == 200, body


def test_a_wrong_engine_result_is_still_caught():
    with pytest.raises(RuntimeError, match="disagree"):
        _agree("output", np.array([[1e17 + 1e9]]), np.array([[1e17]]), np.array([[2e17]]))
    with pytest.raises(RuntimeError, match="disagree"):
        _agree("dX", np.array([[1.0, 0.0]]), np.array([[1.0, 1e-6]]), np.array([[1.0, 1.0]]))


@pytest.mark.parametrize("s,p,dil", [(1, 0, 1), (2, 1, 1), (1, 2, 2)])
def test_true_convolution_rotates_w_and_is_shown_beside_the_lectures_cross_correlation(s, p, dil):
    r = explain(X, W, stride=s, padding=p, dilation=dil)
    true = r["true_convolution"]
    rotated = np.asarray(W)[::-1, ::-1]
    assert true["kernel"] == [rotated.tolist()]
    # convolution as mathematics defines it: (X * W)[i, j] = sum_ab W[a, b] Xpad[i - a, j - b], indices
    # shifted so the flipped kernel's window starts where the cross-correlation's does
    xp, k = np.pad(np.asarray(X, float), p), len(W)
    span = dil * (k - 1)
    expected = [
        [
            sum(W[a][b] * xp[i * s + span - a * dil, j * s + span - b * dil] for a in range(k) for b in range(k))
            for j in range(len(r["output"][0]))
        ]
        for i in range(len(r["output"]))
    ]
    assert np.allclose(true["output"], expected)
    assert "cross-correlation" in true["description"] and "180 degrees" in true["description"]
    if (s, p, dil) == (1, 0, 1):
        assert true["output"] != r["output"]  # the lecture's X and W: the flip changes the result
