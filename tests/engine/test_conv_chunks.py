"""Conv2D over a batch split into chunks (used when the im2col columns of the
whole batch are large) agrees with the plain-loop reference, forward and backward,
including a last chunk shorter than the others."""

import numpy as np
import pytest

import engine
from engine import kernels

from . import reference as R


@pytest.mark.parametrize("k,s,p", [(3, 1, 1), (3, 1, 0), (3, 2, 1), (5, 1, 2), (1, 2, 0)])
def test_chunked_conv_matches_reference(monkeypatch, k, s, p):
    monkeypatch.setattr(kernels, "WHOLE_BATCH_BYTES", 0)  # always chunk
    n, c, h, w, f = 5, 3, 9, 8, 4
    per_image = c * k * k * ((h + 2 * p - k) // s + 1) * ((w + 2 * p - k) // s + 1) * 4
    monkeypatch.setattr(kernels, "CHUNK_BYTES", 2 * per_image)  # chunks of 2, 2, 1 images
    spec = {"input": [c, h, w], "layers": [{"type": "conv2d", "out_channels": f, "kernel_size": k,
                                             "stride": s, "padding": p}]}
    net = engine.build_network(spec, seed=3, dtype=np.float64)
    conv = net.layers()[0]
    conv.params["b"] = np.arange(f, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w))
    for _ in range(2):  # the second step reuses the work arrays
        y = conv.forward(x, train=True)
        ref = R.conv2d(x, conv.params["W"], conv.params["b"], (s, s), (p, p))
        np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-12)
        dy = rng.standard_normal(y.shape)
        dx = conv.backward(dy)
        dx_ref, dw_ref, db_ref = R.conv2d_backward(x, conv.params["W"], dy, (s, s), (p, p))
        np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(conv.grads["W"], dw_ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(conv.grads["b"], db_ref, rtol=1e-10, atol=1e-12)
