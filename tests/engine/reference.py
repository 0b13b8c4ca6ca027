"""Plain-loop references: convolution and pooling written out as the lecture
writes them, one output cell at a time. Slow and obvious; the fast kernels are
tested against these."""

import numpy as np


def conv2d(x, W, b=None, stride=(1, 1), padding=(0, 0)):
    """I[n,f,a,b] = sum_{c,i,j} W[f,c,i,j] X[n,c,a*S+i,b*S+j] (+ bias)."""
    n, c, h, w = x.shape
    f, _, kh, kw = W.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n, f, ho, wo), np.float64)
    for ni in range(n):
        for fi in range(f):
            for a in range(ho):
                for bb in range(wo):
                    window = xp[ni, :, a * sh:a * sh + kh, bb * sw:bb * sw + kw]
                    y[ni, fi, a, bb] = (window * W[fi]).sum() + (b[fi] if b is not None else 0)
    return y


def conv2d_backward(x, W, dy, stride=(1, 1), padding=(0, 0)):
    """dL/dW[f,c,i,j] = sum_{n,a,b} delta[n,f,a,b] X[n,c,a*S+i,b*S+j];
    dL/dX gathers delta back through every window that used each input."""
    n, c, h, w = x.shape
    f, _, kh, kw = W.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + w] = x
    dxp = np.zeros_like(xp)
    dW = np.zeros(W.shape)
    _, _, ho, wo = dy.shape
    for ni in range(n):
        for fi in range(f):
            for a in range(ho):
                for bb in range(wo):
                    d = dy[ni, fi, a, bb]
                    dW[fi] += d * xp[ni, :, a * sh:a * sh + kh, bb * sw:bb * sw + kw]
                    dxp[ni, :, a * sh:a * sh + kh, bb * sw:bb * sw + kw] += d * W[fi]
    return dxp[:, :, ph:ph + h, pw:pw + w], dW, dy.sum(axis=(0, 2, 3))


def pool2d(x, k, s, p, mode):
    """Max (padding with -inf) or average (padding counts as zero) pooling, and
    for max the index of the first maximum of each window."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    fill = -np.inf if mode == "max" else 0.0
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), fill)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n, c, ho, wo))
    for ni in range(n):
        for ci in range(c):
            for a in range(ho):
                for bb in range(wo):
                    win = xp[ni, ci, a * sh:a * sh + kh, bb * sw:bb * sw + kw]
                    y[ni, ci, a, bb] = win.max() if mode == "max" else win.mean()
    return y


def pool2d_backward(x, dy, k, s, p, mode):
    """Max: all of a window's gradient goes to its (first) arg-max.
    Average: each input of the window gets 1/(kh*kw) of it."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), -np.inf)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    dxp = np.zeros_like(xp)
    _, _, ho, wo = dy.shape
    for ni in range(n):
        for ci in range(c):
            for a in range(ho):
                for bb in range(wo):
                    win = xp[ni, ci, a * sh:a * sh + kh, bb * sw:bb * sw + kw]
                    if mode == "max":
                        i, j = np.unravel_index(np.argmax(win), win.shape)
                        dxp[ni, ci, a * sh + i, bb * sw + j] += dy[ni, ci, a, bb]
                    else:
                        dxp[ni, ci, a * sh:a * sh + kh, bb * sw:bb * sw + kw] += dy[ni, ci, a, bb] / (kh * kw)
    return dxp[:, :, ph:ph + h, pw:pw + w]
