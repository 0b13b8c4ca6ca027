"""Plain-loop references: convolution and pooling written out as the lecture
writes them, one output cell at a time. Slow and obvious; the fast kernels are
tested against these."""

import numpy as np


def _pads(padding):
    """Per axis an int for both sides, or (before, after) -> ((top, bottom), (left, right))."""
    return tuple(p if isinstance(p, tuple) else (p, p) for p in padding)


def _padded(x, padding):
    n, c, h, w = x.shape
    (pt, pb), (pl, pr) = _pads(padding)
    xp = np.zeros((n, c, pt + h + pb, pl + w + pr))
    xp[:, :, pt : pt + h, pl : pl + w] = x
    return xp


def conv2d(x, W, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """I[n,f,a,b] = sum_{c,i,j} W[f,c,i,j] X[n, g*C/G + c, a*S + i*d, b*S + j*d] (+ bias),
    where g = f // (F/G) is the group of filter f and c runs over that group's C/G channels."""
    f, cg, kh, kw = W.shape
    (sh, sw), (dh, dw) = stride, dilation
    xp = _padded(x, padding)
    n, _, hp, wp = xp.shape
    ho, wo = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, f, ho, wo), np.float64)
    for ni in range(n):
        for fi in range(f):
            g = fi // (f // groups)
            for a in range(ho):
                for bb in range(wo):
                    for ci in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                x_in = xp[ni, g * cg + ci, a * sh + i * dh, bb * sw + j * dw]
                                y[ni, fi, a, bb] += W[fi, ci, i, j] * x_in
                    y[ni, fi, a, bb] += b[fi] if b is not None else 0
    return y


def conv2d_backward(x, W, dy, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """dL/dW[f,c,i,j] = sum_{n,a,b} delta[n,f,a,b] X[n, g*C/G + c, a*S + i*d, b*S + j*d];
    dL/dX gathers delta back through every window tap that read each input."""
    f, cg, kh, kw = W.shape
    (sh, sw), (dh, dw) = stride, dilation
    (pt, _), (pl, _) = _pads(padding)
    _, _, h, w = x.shape
    xp = _padded(x, padding)
    dxp = np.zeros_like(xp)
    dW = np.zeros(W.shape)
    n, _, ho, wo = dy.shape
    for ni in range(n):
        for fi in range(f):
            g = fi // (f // groups)
            for a in range(ho):
                for bb in range(wo):
                    d = dy[ni, fi, a, bb]
                    for ci in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                r, q = a * sh + i * dh, bb * sw + j * dw
                                dW[fi, ci, i, j] += d * xp[ni, g * cg + ci, r, q]
                                dxp[ni, g * cg + ci, r, q] += d * W[fi, ci, i, j]
    return dxp[:, :, pt : pt + h, pl : pl + w], dW, dy.sum(axis=(0, 2, 3))


def conv_transpose2d(x, W, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1), groups=1):
    """Each input value spreads into the output through the kernel: for W : (C, F/G, kh, kw),
    y[n, g*F/G + f, a*S - P + i*d, b*S - P + j*d] += x[n,c,a,b] * W[c,f,i,j], g = c // (C/G)
    being the group of input channel c (and positions outside the output dropped)."""
    n, c, h, w = x.shape
    _, fg, kh, kw = W.shape
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = stride, padding, output_padding, dilation
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1
    wo = (w - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1
    y = np.zeros((n, fg * groups, ho, wo))
    for ni in range(n):
        for ci in range(c):
            g = ci // (c // groups)
            for a in range(h):
                for bb in range(w):
                    for fi in range(fg):
                        for i in range(kh):
                            for j in range(kw):
                                r, q = a * sh - ph + i * dh, bb * sw - pw + j * dw
                                if 0 <= r < ho and 0 <= q < wo:
                                    y[ni, g * fg + fi, r, q] += x[ni, ci, a, bb] * W[ci, fi, i, j]
    if b is not None:
        y += b[None, :, None, None]
    return y


def conv_transpose2d_backward(x, W, dy, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """The same loops read backwards: dL/dx[n,c,a,b] and dL/dW[c,f,i,j] collect dy at every
    output position that x[n,c,a,b] * W[c,f,i,j] was added to."""
    n, c, h, w = x.shape
    _, fg, kh, kw = W.shape
    _, _, ho, wo = dy.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    dx, dW = np.zeros(x.shape), np.zeros(W.shape)
    for ni in range(n):
        for ci in range(c):
            g = ci // (c // groups)
            for a in range(h):
                for bb in range(w):
                    for fi in range(fg):
                        for i in range(kh):
                            for j in range(kw):
                                r, q = a * sh - ph + i * dh, bb * sw - pw + j * dw
                                if 0 <= r < ho and 0 <= q < wo:
                                    d = dy[ni, g * fg + fi, r, q]
                                    dx[ni, ci, a, bb] += d * W[ci, fi, i, j]
                                    dW[ci, fi, i, j] += d * x[ni, ci, a, bb]
    return dx, dW, dy.sum(axis=(0, 2, 3))


def pool2d(x, k, s, p, mode):
    """Max (padding with -inf) or average (padding counts as zero) pooling, and
    for max the index of the first maximum of each window."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    fill = -np.inf if mode == "max" else 0.0
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), fill)
    xp[:, :, ph : ph + h, pw : pw + w] = x
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n, c, ho, wo))
    for ni in range(n):
        for ci in range(c):
            for a in range(ho):
                for bb in range(wo):
                    win = xp[ni, ci, a * sh : a * sh + kh, bb * sw : bb * sw + kw]
                    y[ni, ci, a, bb] = win.max() if mode == "max" else win.mean()
    return y


def pool2d_backward(x, dy, k, s, p, mode):
    """Max: all of a window's gradient goes to its (first) arg-max.
    Average: each input of the window gets 1/(kh*kw) of it."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), -np.inf)
    xp[:, :, ph : ph + h, pw : pw + w] = x
    dxp = np.zeros_like(xp)
    _, _, ho, wo = dy.shape
    for ni in range(n):
        for ci in range(c):
            for a in range(ho):
                for bb in range(wo):
                    win = xp[ni, ci, a * sh : a * sh + kh, bb * sw : bb * sw + kw]
                    if mode == "max":
                        i, j = np.unravel_index(np.argmax(win), win.shape)
                        dxp[ni, ci, a * sh + i, bb * sw + j] += dy[ni, ci, a, bb]
                    else:
                        dxp[ni, ci, a * sh : a * sh + kh, bb * sw : bb * sw + kw] += dy[ni, ci, a, bb] / (kh * kw)
    return dxp[:, :, ph : ph + h, pw : pw + w]
