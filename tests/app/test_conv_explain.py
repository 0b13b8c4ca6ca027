"""The convolution explainer: the lecture's example, backward by hand, strides, padding, pooling, errors."""

import numpy as np
import pytest

import engine
from app.errors import Invalid
from app.services.conv_explain import _agree, correlate, dilate, explain

X = [[0, 1, 2, 1, 0], [4, 1, 0, 1, 0], [2, 0, 1, 1, 1], [1, 2, 3, 1, 0], [0, 4, 3, 2, 0]]
W = [[0, 1, 0], [1, 0, 1], [2, 1, 0]]


def forward_by_hand(x, w, s, p, dil=1):
    x, w = np.pad(np.asarray(x, float), p), np.asarray(w, float)
    kh, kw = w.shape
    ho, wo = (x.shape[0] - dil * (kh - 1) - 1) // s + 1, (x.shape[1] - dil * (kw - 1) - 1) // s + 1
    return np.array([[sum(w[a, b] * x[i * s + a * dil, j * s + b * dil]
                          for a in range(kh) for b in range(kw))
                      for j in range(wo)] for i in range(ho)])


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
    return dW, dxp[p:p + x.shape[0], p:p + x.shape[1]]


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
            g[idx] = (loss(plus, w) - loss(minus, w)) / (2 * h) if arr is x else \
                (loss(x, plus) - loss(x, minus)) / (2 * h)
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
    assert last["products"] == [[0, 1, 0], [3, 0, 0], [6, 2, 0]]
    assert r["padded_x"] == X and r["warnings"] == []


def test_the_lecture_backward_with_ones():
    r = explain(X, W)
    b = r["backward"]
    assert b["delta"] == [[1, 1, 1]] * 3
    # dW[a,b] = sum_ij X[i+a, j+b]: the sum of the 3x3 block of X starting at (a, b)
    x = np.array(X, float)
    assert b["dW"] == [[x[a:a + 3, c:c + 3].sum() for c in range(3)] for a in range(3)]
    # the lecture's formula dX[i,j] = sum_ab delta[i-a, j-b] W[a,b] (delta outside its range is 0)
    w = np.array(W, float)
    dX = [[sum(w[a, c] for a in range(3) for c in range(3) if 0 <= i - a < 3 and 0 <= j - c < 3)
           for j in range(5)] for i in range(5)]
    assert b["dX"] == dX
    assert b["dX_as_convolution"]["kernel"] == [[0, 1, 2], [1, 0, 1], [0, 1, 0]]  # W rotated 180 degrees
    assert np.array(b["dX_as_convolution"]["input"]).shape == (7, 7)  # 3x3 delta padded by K-1 = 2
    assert b["dW_as_convolution"]["kernel"] == b["delta"]


@pytest.mark.parametrize("shape,k,s,p", [((5, 5), (3, 3), 2, 0), ((5, 5), (3, 3), 1, 1), ((7, 6), (3, 2), 2, 1),
                                         ((6, 6), (3, 3), 2, 0), ((8, 9), (4, 3), 3, 2), ((4, 4), (1, 1), 1, 0)])
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
    np.testing.assert_allclose(r["backward"]["dW"], dW)
    np.testing.assert_allclose(r["backward"]["dX"], dX)
    nW, nX = numeric_grads(x, w, s, p, delta)
    np.testing.assert_allclose(r["backward"]["dW"], nW, atol=1e-6)
    np.testing.assert_allclose(r["backward"]["dX"], nX, atol=1e-6)
    np.testing.assert_allclose(r["backward"]["dW_as_convolution"]["output"], dW)
    np.testing.assert_allclose(r["backward"]["dX_as_convolution"]["output"], dX)
    assert np.array(r["padded_x"]).shape == (shape[0] + 2 * p, shape[1] + 2 * p)


@pytest.mark.parametrize("shape,k,s,p,dil", [
    ((7, 7), (3, 3), 1, 0, 2), ((8, 9), (3, 2), 2, 1, 2), ((9, 7), (2, 3), 1, 2, 3),
    ((10, 10), (3, 3), 3, 0, 2)])
def test_dilation_against_hand_definitions(shape, k, s, p, dil):
    """A dilated kernel reads every d-th input: the same sums and gradients written out, by
    central differences, and as the two convolutions of the backward pass."""
    rng = np.random.default_rng(sum(shape) + 10 * s + p + 100 * dil)
    x, w = rng.integers(-3, 4, size=shape).astype(float), rng.integers(-2, 3, size=k).astype(float)
    span = [dil * (kk - 1) + 1 for kk in k]
    ho, wo = (shape[0] + 2 * p - span[0]) // s + 1, (shape[1] + 2 * p - span[1]) // s + 1
    delta = rng.integers(-2, 3, size=(ho, wo)).astype(float)
    r = explain(x.tolist(), w.tolist(), s, p, delta.tolist(), dilation=dil)
    assert r["dilation"] == dil and r["kernel"] == w.tolist()
    np.testing.assert_allclose(r["output"], forward_by_hand(x, w, s, p, dil))
    assert r["formula"]["height"] == f"({shape[0]} + 2*{p} - {dil}*({k[0]} - 1) - 1)/{s} + 1 = " + (
        f"{(shape[0] + 2 * p - span[0]) / s + 1:g}")
    last = r["cells"][-1]
    assert last["window"] == {"top": (ho - 1) * s, "left": (wo - 1) * s, "rows": k[0], "cols": k[1],
                              "dilation": dil}
    xp = np.pad(x, p)
    taps = xp[(ho - 1) * s::dil, (wo - 1) * s::dil][:k[0], :k[1]]
    np.testing.assert_allclose(last["products"], taps * w)
    dW, dX = backward_by_hand(x, w, s, p, delta, dil)
    nW, nX = numeric_grads(x, w, s, p, delta, dil=dil)
    b = r["backward"]
    as_convolutions = (b["dW_as_convolution"]["output"], b["dX_as_convolution"]["output"])
    for got, want in ((b["dW"], dW), (b["dX"], dX), (b["dW"], nW), (b["dX"], nX),
                      (as_convolutions[0], dW), (as_convolutions[1], dX)):
        np.testing.assert_allclose(got, want, atol=1e-6)
    rotated = np.array(b["dX_as_convolution"]["kernel"])[::-1, ::-1]
    assert rotated.shape == tuple(span) and rotated[::dil, ::dil].tolist() == w.tolist()
    assert "dilated by" in b["dX_as_convolution"]["description"]
    assert "not dilated" in r["pooling"]["note"]


def test_dilation_that_spans_more_than_the_input_says_so():
    with pytest.raises(Invalid) as e:
        explain(X, W, dilation=3)
    (err,) = e.value.detail
    assert err["loc"] == ["body", "w"]
    assert ("the kernel height 3 dilated by 3 spans 7, which is larger than the padded input "
            "height") in err["msg"]
    assert "(5 + 2*0 - 3*(3 - 1) - 1)/1 + 1 = -1" in err["msg"]


def test_stride_two_dilates_delta_and_padding_one_is_cut_away():
    x = np.arange(25, dtype=float).reshape(5, 5)
    r = explain(x.tolist(), W, stride=2, padding=1, delta=[[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert r["formula"]["height"] == "(5 + 2*1 - 3)/2 + 1 = 3"
    assert r["cells"][0]["window"] == {"top": 0, "left": 0, "rows": 3, "cols": 3, "dilation": 1}
    assert r["cells"][-1]["window"] == {"top": 4, "left": 4, "rows": 3, "cols": 3, "dilation": 1}
    kernel = np.array(r["backward"]["dW_as_convolution"]["kernel"])
    assert kernel.shape == (5, 5) and kernel[1].tolist() == [0] * 5 and kernel[::2, ::2].tolist() == \
        [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    full = np.array(r["backward"]["dX_as_convolution"]["input"])
    assert full.shape == (9, 9) and full[2:7, 2:7].tolist() == kernel.tolist()
    assert "cut away" in r["backward"]["dX_as_convolution"]["description"]


def test_a_stride_that_does_not_divide_warns():
    r = explain(np.ones((6, 6)).tolist(), W, stride=2)
    assert r["formula"]["width"] == "(6 + 2*0 - 3)/2 + 1 = 2.5" and np.array(r["output"]).shape == (2, 2)
    same = {"input": [1, 6, 6], "layers": [{"type": "conv2d", "out_channels": 1, "kernel_size": 3,
                                            "stride": 2}]}
    assert r["warnings"] == [w.removeprefix("layers[0]: ") for w in engine.summarize(same)["warnings"]]
    assert r["warnings"][0].endswith("the row and column at index 5 are left over, which no window "
                                     "reads; 1 row and 1 column of input pixels are lost.")
    assert r["backward"]["dX"][5] == [0] * 6  # the last row was never read


def test_pooling_with_the_same_window():
    r = explain(X, W)["pooling"]
    assert r["padding"] == 0
    assert r["max"]["output"] == [[4, 2, 2], [4, 3, 3], [4, 4, 3]]
    assert r["max"]["argmax"][0][0] == [1, 0] and r["max"]["argmax"][2][1] == [4, 1]
    dx = np.array(r["max"]["dx"])
    assert dx.sum() == 9 and dx[1, 0] == 2 and dx[4, 1] == 2  # each 4 wins two windows
    avg = np.array(r["avg"]["output"])
    np.testing.assert_allclose(avg, np.array(explain(X, [[1] * 3] * 3)["output"]) / 9)
    np.testing.assert_allclose(np.array(r["avg"]["dx"]).sum(), 9)


def test_pooling_padding_falls_back_when_over_half_the_kernel():
    r = explain(np.ones((4, 4)).tolist(), [[1, 1], [1, 1]], stride=2, padding=2)["pooling"]
    assert r["padding"] == 0 and "instead of 2" in r["note"] and r["max"]["output"] == [[1, 1], [1, 1]]


def test_helpers():
    assert dilate(np.array([[1.0, 2.0]]), 3).tolist() == [[1, 0, 0, 2]]
    assert correlate(np.arange(9.0).reshape(3, 3), np.ones((2, 2))).tolist() == [[8, 12], [20, 24]]


@pytest.mark.parametrize("kwargs,field,words", [
    ({"x": [[1, 2], [3]], "w": [[1]]}, "x", "different lengths"),
    ({"x": [[1, 2]], "w": [[1, 1, 1]]}, "w", "(2 + 2*0 - 3)/1 + 1 = 0"),
    ({"x": X, "w": W, "delta": [[1, 1], [1, 1]]}, "delta", "output is 3x3"),
    ({"x": [[1, float("nan")]], "w": [[1]]}, "x", "NaN"),
    ({"x": [[1] * 33], "w": [[1]]}, "x", "at most 32"),
    ({"x": [[1, "a"]], "w": [[1]]}, "x", "numbers"),
])
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


def test_api_dilation(client):
    r = client.post("/api/conv/explain", json={"x": X, "w": W, "padding": 2, "dilation": 2})
    assert r.status_code == 200, r.text
    assert r.json()["formula"]["width"] == "(5 + 2*2 - 2*(3 - 1) - 1)/1 + 1 = 5"
    assert r.json()["cells"][0]["window"]["dilation"] == 2
    assert client.post("/api/conv/explain", json={"x": X, "w": W, "dilation": 0}).status_code == 422


@pytest.mark.parametrize("body,words", [
    ({"x": [[1, 2], [3]], "w": [[1]]}, "different lengths"),
    ({"x": [[1, 2], [3, 4]], "w": W}, "(2 + 2*0 - 3)/1 + 1 = 0"),
    ({"x": [[1] * 33], "w": [[1]]}, "at most 32"),
    ({"x": [[1] * 3] * 33, "w": [[1]]}, "at most 32"),
    ({"x": X, "w": W, "stride": 0}, "greater than or equal to 1"),
    ({"x": X, "w": W, "padding": 99}, "less than or equal to 8"),
    ({"x": [], "w": W}, "at least 1"),
    ({"x": X, "w": W, "bias": 1}, "Extra inputs"),
])
def test_api_bad_input_is_422(client, body, words):
    r = client.post("/api/conv/explain", json=body)
    assert r.status_code == 422, r.text
    assert words in r.text


@pytest.mark.parametrize("token", ["NaN", "Infinity", "1e999"])
def test_api_rejects_non_finite_numbers(client, token):
    r = client.post("/api/conv/explain", content='{"x": [[1, %s]], "w": [[1]]}' % token,
                    headers={"content-type": "application/json"})
    assert r.status_code == 422 and "finite" in r.text
    assert "NaN" not in r.text.replace('"NaN"', "")


@pytest.mark.parametrize("body,field,where", [
    ({"x": [[1, 1e200], [3, 4]], "w": [[1e200]]}, "x", "x[0][1] = 1e+200"),
    ({"x": [[1e150] * 3] * 3, "w": [[0, 1], [1, -2e160]]}, "w", "w[1][1] = -2e+160"),
    ({"x": [[1, 2], [3, 4e10]], "w": [[1]], "delta": [[1, 1], [1, 1e300]]}, "delta",
     "delta[1][1] = 1e+300"),
])
def test_api_values_whose_products_overflow_are_422(client, body, field, where):
    r = client.post("/api/conv/explain", json=body)
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", field]
    assert where in err["msg"] and "-1e+150 and 1e+150" in err["msg"] and "float64" in err["msg"]


def test_the_largest_accepted_values_stay_finite(client):
    big = [[1e150] * 32] * 32
    r = client.post("/api/conv/explain", json={"x": big, "w": big, "padding": 8})
    assert r.status_code == 200, r.text[:300]
    r = client.post("/api/conv/explain", json={"x": big, "w": [[-1e150]], "padding": 8})
    assert r.status_code == 200, r.text[:300]


def test_entries_of_very_different_sizes_agree_with_the_engine(client):
    # 1e34 - 1e34: the engine's and the definition's sums round differently, by about 1e34 * eps
    body = {"x": [[-1e17, -1e17, -1e17]], "w": [[-1e17, -1.0]], "delta": [[-1e17, 1e17]]}
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
            return (rng.choice([-1.0, 1.0], shape) * 10.0 ** exponents).tolist()
        body = {"x": mixed((n, n + 1)), "w": mixed((k, k)), "stride": s, "padding": p,
                "delta": mixed((ho, wo))}
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
    assert true["kernel"] == rotated.tolist()
    # convolution as mathematics defines it: (X * W)[i, j] = sum_ab W[a, b] Xpad[i - a, j - b], indices
    # shifted so the flipped kernel's window starts where the cross-correlation's does
    xp, k = np.pad(np.asarray(X, float), p), len(W)
    span = dil * (k - 1)
    expected = [[sum(W[a][b] * xp[i * s + span - a * dil, j * s + span - b * dil] for a in range(k) for b in range(k))
                 for j in range(len(r["output"][0]))] for i in range(len(r["output"]))]
    assert np.allclose(true["output"], expected)
    assert "cross-correlation" in true["description"] and "180 degrees" in true["description"]
    if (s, p, dil) == (1, 0, 1):
        assert true["output"] != r["output"]  # the lecture's X and W: the flip changes the result
