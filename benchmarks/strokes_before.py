"""The `strokes` generator as it was before its digits got handwriting styles, pen pressure and
elastic distortion: kept only so that benchmarks/strokes_to_mnist.py can print the before
figure beside the after one, in the same run on the same machine. Not used by the playground.
"""

from __future__ import annotations

import numpy as np

_F32 = np.float32

STROKE_CLASSES = [str(i) for i in range(10)]
STROKE_SIZE = 28


def _arc(cx, cy, rx, ry, a0, a1, segs):
    """Points on an elliptical arc (angles in degrees, y axis pointing down)."""
    t = np.radians(np.linspace(a0, a1, segs + 1))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _bezier(p0, p1, p2, segs=6):
    t = np.linspace(0, 1, segs + 1)[:, None]
    p0, p1, p2 = (np.asarray(p, dtype=float) for p in (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def _line(*pts):
    return np.asarray(pts, dtype=float)


def _digit_templates() -> list[list[list[np.ndarray]]]:
    """For each digit, a list of variants; each variant is a list of strokes (polylines)
    in a unit box with x to the right and y down (digits span y in [0, 1])."""
    cat = np.concatenate
    t: list[list[list[np.ndarray]]] = [[] for _ in range(10)]
    # 0
    t[0].append([_arc(0.5, 0.5, 0.33, 0.5, -90, 270, 16)])
    t[0].append([_arc(0.5, 0.5, 0.30, 0.5, -70, 300, 16)])
    # 1
    t[1].append([_line((0.5, 0.0), (0.5, 1.0))])
    t[1].append([_line((0.28, 0.22), (0.52, 0.0), (0.52, 1.0))])
    t[1].append([_line((0.3, 0.2), (0.52, 0.0), (0.52, 1.0)), _line((0.3, 1.0), (0.74, 1.0))])
    # 2
    t[2].append([cat([_arc(0.5, 0.3, 0.32, 0.3, -170, 25, 9), _line((0.12, 1.0), (0.88, 1.0))])])
    t[2].append(
        [
            cat(
                [
                    _arc(0.5, 0.28, 0.3, 0.28, -160, 10, 8),
                    _bezier((0.78, 0.38), (0.4, 0.7), (0.14, 0.98)),
                    _line((0.4, 0.93), (0.88, 1.0)),
                ]
            )
        ]
    )
    # 3
    t[3].append([cat([_arc(0.48, 0.26, 0.3, 0.24, -160, 90, 10), _arc(0.48, 0.75, 0.33, 0.25, -90, 160, 10)])])
    t[3].append([cat([_line((0.18, 0.0), (0.8, 0.0), (0.42, 0.45)), _arc(0.48, 0.72, 0.33, 0.28, -110, 155, 10)])])
    # 4
    t[4].append([_line((0.66, 0.0), (0.1, 0.68), (0.9, 0.68)), _line((0.66, 0.0), (0.66, 1.0))])
    t[4].append([_line((0.2, 0.0), (0.14, 0.6), (0.86, 0.6)), _line((0.68, 0.12), (0.68, 1.0))])
    # 5
    t[5].append([cat([_line((0.82, 0.0), (0.26, 0.0), (0.22, 0.44)), _arc(0.47, 0.69, 0.33, 0.31, -135, 150, 10)])])
    t[5].append(
        [
            _line((0.26, 0.0), (0.82, 0.0)),
            cat([_line((0.26, 0.0), (0.2, 0.46)), _arc(0.48, 0.7, 0.32, 0.3, -140, 150, 10)]),
        ]
    )
    # 6
    t[6].append([cat([_bezier((0.74, 0.0), (0.22, 0.2), (0.18, 0.68)), _arc(0.49, 0.69, 0.31, 0.31, 180, 540, 14)])])
    t[6].append([cat([_bezier((0.68, 0.0), (0.3, 0.3), (0.2, 0.75)), _arc(0.5, 0.72, 0.3, 0.28, 170, 520, 14)])])
    # 7
    t[7].append([_line((0.12, 0.0), (0.88, 0.0), (0.4, 1.0))])
    t[7].append([_line((0.12, 0.0), (0.88, 0.0), (0.42, 1.0)), _line((0.42, 0.5), (0.84, 0.5))])
    t[7].append([cat([_line((0.12, 0.08), (0.12, 0.0), (0.88, 0.0)), _bezier((0.88, 0.0), (0.55, 0.45), (0.5, 1.0))])])
    # 8
    t[8].append([_arc(0.5, 0.25, 0.24, 0.25, 0, 360, 12), _arc(0.5, 0.74, 0.3, 0.26, 0, 360, 12)])
    t[8].append([cat([_arc(0.5, 0.25, 0.25, 0.25, 60, 410, 12), _arc(0.5, 0.74, 0.3, 0.26, -110, 235, 12)])])
    # 9
    t[9].append([_arc(0.48, 0.3, 0.31, 0.3, 0, 360, 14), _line((0.79, 0.3), (0.76, 1.0))])
    t[9].append([_arc(0.48, 0.3, 0.31, 0.3, 0, 360, 14), _bezier((0.79, 0.3), (0.78, 0.9), (0.35, 1.0))])
    return t


_TEMPLATES = None


def _segments_for(variant: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(S, 2) segment starts, (S, 2) ends and (S,) stroke index for one template variant."""
    a, b, sid = [], [], []
    for i, pts in enumerate(variant):
        a.append(pts[:-1])
        b.append(pts[1:])
        sid.append(np.full(len(pts) - 1, i))
    return np.concatenate(a), np.concatenate(b), np.concatenate(sid)


def _templates():
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = [[_segments_for(v) for v in digit] for digit in _digit_templates()]
    return _TEMPLATES


def _warp(p: np.ndarray, params: dict) -> np.ndarray:
    """Apply the per-example geometric distortion to points p (n, P, 2) in unit space."""
    x, y = p[..., 0] - 0.5, p[..., 1] - 0.5
    # elastic: a sum of smooth random sinusoids (low and medium frequency)
    fx, fy, ph, amp = params["freq_x"], params["freq_y"], params["phase"], params["amp"]  # (n, K)
    arg = fx[:, None, :] * x[..., None] + fy[:, None, :] * y[..., None] + ph[:, None, :]
    wave = np.sin(arg)  # (n, P, K)
    dx = (wave * amp[:, None, :, 0]).sum(-1)
    dy = (np.cos(arg) * amp[:, None, :, 1]).sum(-1)
    x = x + dx
    y = y + dy
    # aspect, slant (shear), rotation
    x = x * params["aspect"][:, None]
    x = x - params["slant"][:, None] * y
    c, s = params["cos"][:, None], params["sin"][:, None]
    return np.stack([c * x - s * y, s * x + c * y], axis=-1)


def generate_strokes(n: int, seed: int | np.random.SeedSequence = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` 1x28x28 uint8 MNIST-like digit images (white on black) and labels."""
    rng = np.random.default_rng(seed)
    size = STROKE_SIZE
    y = rng.integers(0, 10, size=n).astype(np.int64)
    templates = _templates()
    variant = rng.random(n)
    radius = rng.uniform(0.9, 1.9, size=n).astype(_F32)  # stroke half-width in pixels
    box = rng.uniform(16.0, 20.0, size=n)  # size of the longer side, like MNIST's 20x20 box
    shift = rng.uniform(-1.2, 1.2, size=(n, 2))
    K = 3
    params = {
        "freq_x": rng.uniform(-7, 7, size=(n, K)),
        "freq_y": rng.uniform(-7, 7, size=(n, K)),
        "phase": rng.uniform(0, 2 * np.pi, size=(n, K)),
        "amp": rng.normal(0, 0.025, size=(n, K, 2)),
        "aspect": rng.uniform(0.8, 1.2, size=n),
        "slant": rng.uniform(-0.35, 0.35, size=n),
    }
    rot = np.radians(rng.uniform(-10, 10, size=n))
    params["cos"], params["sin"] = np.cos(rot), np.sin(rot)
    stroke_jitter = rng.normal(0, 0.035, size=(n, 4, 2))  # per-stroke offsets
    point_jitter_seed = rng.integers(0, 2**63)
    prng = np.random.default_rng(point_jitter_seed)

    coords = np.arange(size, dtype=_F32) + _F32(0.5)
    gy, gx = np.meshgrid(coords, coords, indexing="ij")
    pix = np.stack([gx.ravel(), gy.ravel()], axis=1)  # (784, 2)
    pix_sq = (pix**2).sum(1)  # (784,)
    out = np.zeros((n, size * size), dtype=np.uint8)

    for d in range(10):
        nv = len(templates[d])
        for vi in range(nv):
            sel = (y == d) & (np.floor(variant * nv).astype(int) == vi)
            idx = np.nonzero(sel)[0]
            if idx.size == 0:
                continue
            a0, b0, sid = templates[d][vi]
            m = idx.size
            # per-point jitter: shared endpoints of consecutive segments move together
            ja = prng.normal(0, 0.012, size=(m,) + a0.shape)
            jb = np.concatenate([ja[:, 1:], prng.normal(0, 0.012, size=(m, 1, 2))], axis=1)
            same_stroke = np.append(sid[1:] == sid[:-1], False)
            jb = np.where(same_stroke[None, :, None], jb, prng.normal(0, 0.012, size=(m,) + b0.shape))
            offs = stroke_jitter[idx][:, sid]  # (m, S, 2)
            a = a0[None] + ja + offs
            b = b0[None] + jb + offs
            sub = {k: v[idx] for k, v in params.items()}
            both = _warp(np.concatenate([a, b], axis=1), sub)
            S = a0.shape[0]
            a, b = both[:, :S], both[:, S:]
            # fit the longer side of the bounding box into `box` pixels, keep the aspect ratio
            lo = np.minimum(a.min(1), b.min(1))
            hi = np.maximum(a.max(1), b.max(1))
            ext = np.maximum((hi - lo).max(1), 1e-3)
            scale = (box[idx] - 2 * radius[idx]) / ext  # thickness counts inside the box
            a = (a - lo[:, None]) * scale[:, None, None]
            b = (b - lo[:, None]) * scale[:, None, None]
            # centre of mass of the ink (length-weighted segment midpoints) to the image centre
            seg_len = np.linalg.norm(b - a, axis=2) + 1e-6
            mid = (a + b) / 2
            com = (mid * seg_len[..., None]).sum(1) / seg_len.sum(1)[:, None]
            delta = size / 2 - com + shift[idx]
            a = (a + delta[:, None]).astype(_F32)
            b = (b + delta[:, None]).astype(_F32)
            # distance from every pixel centre to every segment (chunked, vectorised)
            dvec = b - a  # (m, S, 2)
            dd = (dvec**2).sum(-1)
            dd = np.maximum(dd, _F32(1e-6))
            ad = (a * dvec).sum(-1)
            aa = (a**2).sum(-1)
            chunk = 128
            for s0 in range(0, m, chunk):
                sl = slice(s0, s0 + chunk)
                pa = np.matmul(a[sl], pix.T)  # (c, S, 784)
                pd = np.matmul(dvec[sl], pix.T)
                proj = pd - ad[sl, :, None]
                t = np.clip(proj / dd[sl, :, None], 0.0, 1.0)
                # |p - a - t d|^2 = |p|^2 - 2 p.a + |a|^2 - 2 t (p.d - a.d) + t^2 |d|^2
                dist2 = pix_sq[None, None, :] - 2 * pa + aa[sl, :, None] + t * (t * dd[sl, :, None] - 2 * proj)
                dmin = np.sqrt(np.maximum(dist2.min(axis=1), 0.0))  # (c, 784)
                r = radius[idx[sl], None]
                val = np.clip(r + 0.5 - dmin, 0.0, 1.0)  # antialiased edge
                out[idx[sl]] = (val * 255.0 + 0.5).astype(np.uint8)
    return out.reshape(n, 1, size, size), y
