"""Looking inside a network: predictions, feature maps, weights, statistics,
saliency, occlusion and gradient checks.

Every function reads the network through `entry.reading()`, so it sees a
consistent set of weights while a run trains. Computations that run a
backward pass (saliency, statistics) would leave their gradients, caches and
(in training mode) batch-norm statistics behind; `_untouched` puts all of
that back, so the weights page still shows the last training gradients.

Input errors raise Invalid with pydantic's error shape
[{"loc": [...], "msg": ..., "type": ...}], so the page handles them like
any other 422.
"""

from __future__ import annotations

import base64
import copy
import io
import math
import warnings
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

import engine
from engine.network import describe

from ..errors import Invalid, TooLarge
from ..runs.events import clean
from ..runs.status import RunStatus

MAX_IMAGE_PIXELS = 4096 * 4096  # an uploaded image, from its header, before decoding
MAX_PIXEL_SIDE = 4096  # a canvas side
MAX_STATS_N = 256
MAX_OCCLUSIONS = 4096
OCCLUSION_BATCH = 64
GRADCHECK_MAX_PARAMS = 2_000_000
GRADCHECK_MAX_WORK = 10_000_000_000  # multiply-adds over all the forward passes of one check
SMALL_WEIGHTS = 1024  # filters with at most this many entries also come as float lists
THRESHOLD = 1e-4  # gradcheck: relative error that counts as right


def bad(field, msg: str, loc: str = "body") -> Invalid:
    """A 422 naming the field, in the shape of FastAPI's validation errors."""
    path = [loc] + (list(field) if isinstance(field, (list, tuple)) else [field])
    return Invalid([{"loc": path, "msg": msg, "type": "value_error"}])


# ---- the network ---------------------------------------------------------------------------
def _entry(services, network_id: str, view: str = "inspect"):
    """The network's entry for reading, once the student may see it and `view` is open to them."""
    services.networks.get(network_id)  # NotFound first: another student's network does not exist
    services.policy.view(view)
    return services.networks.entry(network_id)


def _summary(services, network_id: str) -> dict:
    return engine.summarize(services.networks.get(network_id)["spec"])


def _check_classifier(net) -> int:
    if len(net.output_shape) != 1:
        raise Invalid(
            f"the network's output has shape {list(net.output_shape)}; predictions need a vector of "
            "class scores: end the network with flatten and linear layers"
        )
    return int(net.output_shape[0])


def _check_memory(services, summary: dict, n: int, what: str, factor: int = 1) -> None:
    per = summary["totals"]["activation_bytes"]
    need = per * n * factor
    limit = services.settings.max_request_activation_bytes
    if need > limit:
        raise TooLarge(
            f"{what} needs about {need / 2**20:,.1f} MiB of activations ({n} example(s) of "
            f"{per / 2**20:,.2f} MiB); this server allows {limit / 2**20:,.0f} MiB per request: "
            "use fewer examples or a smaller network"
        )


@contextmanager
def _untouched(net):
    """Run backward passes on `net` without changing what others see: gradients, buffers, caches, RNGs."""
    layers = net.layers()
    grads = [dict(l.grads) for l in layers]
    buffers = [{k: v.copy() for k, v in l.buffers.items()} for l in layers]
    rngs = [copy.deepcopy(l.rng) if hasattr(l, "rng") else None for l in layers]
    try:
        yield net
    finally:
        for l, g, b, r in zip(layers, grads, buffers, rngs):
            l.grads = g
            for k, v in b.items():
                l.buffers[k][...] = v
            if r is not None:
                l.rng = r
            l.cache = None


# ---- inputs --------------------------------------------------------------------------------
def _dataset(services, name: str, net, loc: str = "body"):
    from engine.data import DatasetError

    try:
        ds = services.datasets.load(name)
    except DatasetError as e:
        raise bad("dataset", str(e), loc) from None
    if tuple(ds.shape) != tuple(net.input_shape):
        raise bad(
            "dataset",
            f"the images of {name!r} are {list(ds.shape)} but the network takes "
            f"{list(net.input_shape)}; pick a dataset of the network's input shape",
            loc,
        )
    return ds


def _class_names(ds, k: int) -> list[str]:
    """A name per output: the dataset's class names, 'output i' for an output with no class."""
    names = list(ds.class_names) if ds is not None else []
    return [names[i] if i < len(names) else (f"output {i}" if names else str(i)) for i in range(k)]


def fit_warning(ds, k: int) -> str | None:
    """What a student should know when the network's outputs and the dataset's classes differ."""
    if ds is None or len(ds.class_names) == k:
        return None
    n = len(ds.class_names)
    if k > n:
        extra = f"output {n}" if k == n + 1 else f"outputs {n} and {n + 1}" if k == n + 2 else f"outputs {n} to {k - 1}"
        why = f"{extra} stand{'s' if k == n + 1 else ''} for no class of {ds.name}"
    else:
        missing = ", ".join(ds.class_names[k : k + 3]) + (", ..." if n - k > 3 else "")
        why = f"it can never predict {ds.name}'s classes {missing}"
    return (
        f"This network does not fit {ds.name}: it has {k} outputs but {ds.name} has {n} "
        f"classes, so {why}. Adapt the network to the dataset in the Data view."
    )


def _resize(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """(C, H0, W0) float -> (C, h, w) by area averaging (Pillow's box filter, on float images)."""
    if a.shape[1:] == (h, w):
        return a
    c, h0, w0 = a.shape
    if h0 % h == 0 and w0 % w == 0:  # whole blocks: exact area averages
        return a.reshape(c, h, h0 // h, w, w0 // w).mean(axis=(2, 4))
    return np.stack(
        [
            np.asarray(Image.fromarray(ch.astype(np.float32)).resize((w, h), Image.Resampling.BOX), dtype=np.float64)
            for ch in a
        ]
    )


def center_digit(a: np.ndarray) -> np.ndarray:
    """A drawn digit (H, W), prepared as MNIST's were: its ink fitted into the middle 20/28 of the
    frame (keeping its aspect) and shifted so its centre of mass is the frame's centre."""
    ink = np.argwhere(a > 0)
    if ink.size == 0:
        return a
    (top, left), (bottom, right) = ink.min(axis=0), ink.max(axis=0) + 1
    crop = a[top:bottom, left:right]
    h, w = a.shape
    box = 20 / 28 * min(h, w)
    scale = box / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = np.asarray(Image.fromarray(crop.astype(np.float32)).resize(size, Image.Resampling.BOX), dtype=np.float64)
    out = np.zeros_like(a)
    total = small.sum()
    cy, cx = (
        ((np.indices(small.shape) * small).reshape(2, -1).sum(axis=1) / total)
        if total > 0
        else (small.shape[0] / 2, small.shape[1] / 2)
    )
    y0 = int(np.clip(round(h / 2 - cy), 0, h - small.shape[0]))
    x0 = int(np.clip(round(w / 2 - cx), 0, w - small.shape[1]))
    out[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    return out


def _pixels(pixels, net, center: bool = False) -> np.ndarray:
    """A canvas (H, W) or image (C, H, W) of 0-255 numbers -> (C, H, W) float64 on the 0-255 scale."""
    try:
        a = np.array(pixels, dtype=np.float64)
    except (ValueError, TypeError):
        raise bad(
            "pixels", "expected a rectangular nested list of numbers: (H, W) or (C, H, W), every row the same length"
        ) from None
    if a.ndim not in (2, 3) or 0 in a.shape:
        raise bad("pixels", f"expected (H, W) or (C, H, W) numbers, got shape {list(a.shape)}")
    if max(a.shape[-2:]) > MAX_PIXEL_SIDE:
        raise bad("pixels", f"sides of at most {MAX_PIXEL_SIDE} pixels, got {list(a.shape)}")
    if not np.isfinite(a).all():
        raise bad("pixels", "contains NaN or infinity; send numbers from 0 to 255")
    if a.min() < 0 or a.max() > 255:
        raise bad("pixels", f"values must be from 0 to 255, got {a.min():g} to {a.max():g}")
    c, h, w = net.input_shape if len(net.input_shape) == 3 else (None, None, None)
    if c is None:
        raise bad("pixels", f"the network takes inputs of shape {list(net.input_shape)}, not images")
    if a.ndim == 2:
        if center:
            a = center_digit(a)
        a = np.repeat(a[None], c, axis=0)  # a grey canvas: every channel the same
    elif a.shape[0] != c:
        raise bad("pixels", f"has {a.shape[0]} channels but the network takes {c}: send (H, W) or ({c}, H, W)")
    return _resize(a, h, w)


def _scale(x255: np.ndarray, ds) -> np.ndarray:
    """(C, H, W) on 0-255 -> (C, H, W) float32, normalized like the dataset (else x/255)."""
    if ds is not None:
        return ds.normalize(x255)[0]
    return (x255 / 255.0).astype(np.float32)


def resolve_input(services, net, body) -> tuple[np.ndarray, dict]:
    """The request's input as one normalized example (*input_shape), and what it was."""
    ds = _dataset(services, body.dataset, net) if body.dataset else None
    if body.pixels is not None:
        if body.index is not None:
            raise bad("index", "give either 'pixels' or a dataset sample ('dataset', 'split', 'index'), not both")
        pixels = _pixels(body.pixels, net, center=body.center)
        return _scale(pixels, ds), {"source": "pixels", "dataset": body.dataset, "ds": ds}
    if ds is not None and body.index is None:
        raise bad(
            "index",
            f"with 'dataset' give the sample's 'index' in its {body.split} split (and "
            "'split': train or test), or send 'pixels' for the dataset to normalize",
        )
    if ds is None or body.index is None:
        raise bad(
            "pixels",
            "give 'pixels' (an (H, W) or (C, H, W) list of 0-255 numbers) or a dataset "
            "sample: 'dataset', 'split' and 'index'",
        )
    xs = ds.x_train if body.split == "train" else ds.x_test
    ys = ds.y_train if body.split == "train" else ds.y_test
    if body.index >= len(xs):
        raise bad(
            "index",
            f"index {body.index} is out of range: the {body.split} split of {body.dataset!r} "
            f"has {len(xs)} images (0 to {len(xs) - 1})",
        )
    return ds.normalize(xs[body.index])[0], {
        "source": "dataset",
        "dataset": body.dataset,
        "split": body.split,
        "index": body.index,
        "label": int(ys[body.index]),
        "ds": ds,
    }


def decode_image(data: bytes, net, max_bytes: int) -> np.ndarray:
    """An uploaded PNG or JPEG -> (C, H, W) float64 on 0-255, in the network's channels and size."""
    if len(data) > max_bytes:
        raise TooLarge(f"the image is {len(data):,} bytes; the limit is {max_bytes:,}")
    if len(net.input_shape) != 3 or net.input_shape[0] not in (1, 3):
        raise bad("file", f"the network takes inputs of shape {list(net.input_shape)}; images need 1 or 3 channels")
    c, h, w = net.input_shape
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
            if img.size[0] * img.size[1] > MAX_IMAGE_PIXELS:  # from the header, nothing decoded yet
                raise TooLarge(f"the image is {img.size[0]}x{img.size[1]} pixels; the limit is {MAX_IMAGE_PIXELS:,}")
            img.load()
            img = ImageOps.exif_transpose(img)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise TooLarge(f"the image has more pixels than the limit of {MAX_IMAGE_PIXELS:,}") from None
        except UnidentifiedImageError:
            raise bad("file", "not a PNG or JPEG image") from None
        except (OSError, ValueError, SyntaxError, EOFError) as e:
            raise bad("file", f"the image cannot be decoded ({e})") from None
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGBA").convert("RGB") if img.mode in ("P", "PA", "LA", "RGBA") else img
    img = img.convert("L" if c == 1 else "RGB")
    if img.size != (w, h):
        img = img.resize((w, h), Image.Resampling.BOX)
    a = np.asarray(img, dtype=np.float64)
    return a[None] if c == 1 else a.transpose(2, 0, 1)


# ---- encodings ---------------------------------------------------------------------------
def _range(a: np.ndarray) -> tuple[float | None, float | None, float | None]:
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return None, None, None
    return float(finite.min()), float(finite.max()), float(finite.mean())


def to_uint8(a: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    """Linear map of [lo, hi] to 0..255 (a constant array is 0; NaN is 0)."""
    a = np.asarray(a, dtype=np.float64)
    if lo is None or hi is None or hi <= lo:
        return np.zeros(a.shape, np.uint8)
    out = (np.nan_to_num(a, nan=lo, posinf=hi, neginf=lo) - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


F16_MAX = float(np.finfo(np.float16).max)


def half(a: np.ndarray) -> np.ndarray:
    """`a` as float16 for the page: a finite value beyond float16's range (65,504) is drawn at the
    end of the range (its true min and max are sent beside it); inf and NaN stay what they are."""
    return np.where(np.isfinite(a), np.clip(a, -F16_MAX, F16_MAX), a).astype("<f2")


def png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def tile(maps: np.ndarray, per_map: bool, gap: int = 1, gap_value: int = 128) -> np.ndarray:
    """(C, H, W) maps -> one uint8 image: a near-square grid of the channels with `gap` pixels between."""
    c, h, w = maps.shape
    cols = max(1, math.ceil(math.sqrt(c)))
    rows = math.ceil(c / cols)
    out = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap), gap_value, np.uint8)
    lo, hi, _ = _range(maps)
    for i in range(c):
        if per_map:
            lo, hi, _ = _range(maps[i])
        r, q = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, q * (w + gap) : q * (w + gap) + w] = to_uint8(maps[i], lo, hi)
    return out


# ---- predict ------------------------------------------------------------------------------
def _prediction(net, x: np.ndarray, ds) -> dict:
    k = _check_classifier(net)
    return _ranked(net.predict_proba(x[None])[0].astype(np.float64), k, ds)


def _ranked(p: np.ndarray, k: int, ds) -> dict:
    """One example's class probabilities, named and ranked."""
    names = _class_names(ds, k)
    order = np.argsort(-p, kind="stable")[: min(5, k)]
    return {
        "probabilities": p.tolist(),
        "class_names": names,
        "predicted": int(order[0]),
        "top": [{"class": names[i], "index": int(i), "probability": float(p[i])} for i in order],
        "fit_warning": fit_warning(ds, k),
    }


def weights_state(services, network_id: str) -> dict:
    """Whether a run has trained the weights an inspection reads, so the page can mark untrained
    ones: 'training' while a run is active (readers see the weights it publishes); 'trained' once a
    run has left its weights in the network (completed or stopped after a step, or interrupted
    after an epoch's checkpoint); 'imported' when they came in a file (trained elsewhere, or not);
    else 'untrained': as built here.
    """
    runs = services.runs.store.list(network_id)
    ended = (RunStatus.COMPLETED, RunStatus.STOPPED)
    kept = [
        r
        for r in runs
        if (r["status"] in ended and r["steps"] > 0) or (r["status"] is RunStatus.INTERRUPTED and r["epoch"] > 0)
    ]
    active = [r for r in runs if r["status"].active]
    imported = services.networks.get(network_id)["initialized"] is None  # not drawn here since
    state = "training" if active else "trained" if kept else "imported" if imported else "untrained"
    return {
        "state": state,
        "runs": len(kept),
        "epochs": sum(r["epoch"] for r in kept + active),
        "steps": sum(r["steps"] for r in kept + active),
        "run": (active or kept or [{"id": None}])[-1]["id"],
        "status": active[-1]["status"].value if active else None,
    }


def predict(services, network_id: str, body) -> dict:
    _check_memory(services, _summary(services, network_id), 1, "a prediction")
    entry = _entry(services, network_id)
    with entry.reading() as net:
        x, info = resolve_input(services, net, body)
        out = _prediction(net, x, info["ds"])
    if "label" in info:
        out["label"] = info["label"]
    out["weights"] = weights_state(services, network_id)
    return clean(out)


def predict_batch(services, network_id: str, bodies: list) -> dict:
    """predict for many inputs in one forward pass; a bad input's error names its place in the list."""
    _check_memory(services, _summary(services, network_id), len(bodies), "a batch of predictions")
    entry = _entry(services, network_id)
    with entry.reading() as net:
        k = _check_classifier(net)
        xs, infos = [], []
        for i, body in enumerate(bodies):
            try:
                x, info = resolve_input(services, net, body)
            except Invalid as e:  # the field's place: body.inputs[i].field
                if isinstance(e.detail, list):
                    for err in e.detail:
                        err["loc"] = [err["loc"][0], "inputs", i, *err["loc"][1:]]
                raise
            xs.append(x)
            infos.append(info)
        p = net.predict_proba(np.stack(xs)).astype(np.float64)
    out = []
    for i, info in enumerate(infos):
        one = _ranked(p[i], k, info["ds"])
        if "label" in info:
            one["label"] = info["label"]
        out.append(one)
    return clean({"predictions": out, "weights": weights_state(services, network_id)})


def predict_image(services, network_id: str, data: bytes, dataset: str | None) -> dict:
    _check_memory(services, _summary(services, network_id), 1, "a prediction")
    entry = _entry(services, network_id)
    with entry.reading() as net:
        ds = _dataset(services, dataset, net) if dataset else None
        x255 = decode_image(data, net, services.settings.max_upload_bytes)
        return clean(_prediction(net, _scale(x255, ds), ds))


# ---- activations --------------------------------------------------------------------------
def _layer_info(net) -> dict[str, tuple[str, str | None]]:
    info = {"input": ("input", None)}
    for l in net.layers():
        info[l.path] = (l.type, l.name)
    return info


def _pick(net, wanted: list[str], field, loc: str = "body") -> list[str]:
    """Layer paths (or names) -> paths, in the network's order."""
    info = _layer_info(net)
    by_name = {name: path for path, (_, name) in info.items() if name}
    out = []
    for i, w in enumerate(wanted):
        path = w if w in info else by_name.get(w)
        if path is None:
            raise bad(
                field if isinstance(field, str) else list(field) + [i],
                f"no layer {w!r}; give a layer's path or name: "
                + ", ".join(f"{path} ({name})" if name else path for path, (_, name) in info.items()),
                loc,
            )
        out.append(path)
    return out


def activations(services, network_id: str, body, encoding: str = "uint8") -> dict:
    summary = _summary(services, network_id)
    _check_memory(services, summary, 1, "the feature maps of one example")
    entry = _entry(services, network_id)
    with entry.reading() as net:
        x, how = resolve_input(services, net, body)
        keep = set(_pick(net, body.layers, ("layers",))) if body.layers is not None else None
        taps = net.feature_maps(x[None])
        info = _layer_info(net)
        layers = []
        for path, a in taps.items():
            if keep is not None and path not in keep:
                continue
            a = np.asarray(a[0])
            lo, hi, mean = _range(a)
            kind, name = info.get(path, ("?", None))
            item = {
                "path": path,
                "type": kind,
                "name": name,
                "shape": list(a.shape),
                "min": lo,
                "max": hi,
                "mean": mean,
                "encoding": encoding,
                "scale": [lo, hi],
            }
            if encoding == "float16":
                item["dtype"] = "<f2"
                item["data"] = b64(half(a))
            else:
                item["data"] = b64(to_uint8(a, lo, hi))
            layers.append(item)
        return clean(
            {
                "input_shape": list(net.input_shape),
                "layers": layers,
                "normalization": normalization(how["ds"], net.input_shape[0]),
            }
        )


def _layer_facts(layer) -> dict:
    """What the overview needs to link a layer to its input and to say what it computes."""
    facts = {}
    window = layer.window()
    if window is not None:
        kernel, stride, padding = map(list, window)
        facts["window"] = {"kernel": kernel, "stride": stride, "padding": padding}
    if hasattr(layer, "g"):
        facts["groups"] = int(layer.g)
    return facts


def overview(services, network_id: str, body) -> dict:
    """Everything Inspect's overview draws, read under one lock so that it all comes from the same
    weights while a run trains: every layer's output as float16 (hover shows values), the class
    probabilities (when the network ends in class scores) and whether the weights are trained."""
    summary = _summary(services, network_id)
    _check_memory(services, summary, 1, "the feature maps of one example")
    entry = _entry(services, network_id)
    with entry.reading() as net:
        x, how = resolve_input(services, net, body)
        taps = net.feature_maps(x[None])
        prediction = _prediction(net, x, how["ds"]) if len(net.output_shape) == 1 else None
        by_path = {layer.path: layer for layer in net.layers()}
        layers = []
        for path, a in taps.items():
            a = np.asarray(a[0])
            lo, hi, _ = _range(a)
            layer = by_path.get(path)
            layers.append(
                {
                    "path": path,
                    "type": layer.type if layer else "input",
                    "name": layer.name if layer else None,
                    "shape": list(a.shape),
                    "min": lo,
                    "max": hi,
                    "encoding": "float16",
                    "dtype": "<f2",
                    "data": b64(half(a)),
                    **(_layer_facts(layer) if layer else {}),
                }
            )
    if prediction is not None and "label" in how:
        prediction["label"] = how["label"]
    return clean(
        {
            "input_shape": list(net.input_shape),
            "layers": layers,
            "prediction": prediction,
            "weights": weights_state(services, network_id),
            "normalization": normalization(how["ds"], net.input_shape[0]),
        }
    )


def normalization(ds, channels: int) -> dict:
    """How a 0-255 image becomes what the network's first layer sees, in numbers and in words."""
    if ds is None:
        return {
            "mean": [0.0] * channels,
            "std": [1.0] * channels,
            "text": "The network sees each pixel as value/255, from 0 (black) to 1 (white).",
        }
    mean, std = [float(m) for m in ds.mean], [float(s) for s in ds.std]
    names = ["red", "green", "blue"] if len(mean) == 3 else [""]
    parts = [
        f"{(name + ': ') if name else ''}mean {m:.2f}, std {s:.2f}, so 0 becomes {(0 - m) / s:.2f} and 255 "
        f"becomes {(1 - m) / s:.2f}"
        for name, m, s in zip(names, mean, std)
    ]
    return {
        "mean": mean,
        "std": std,
        "text": (
            f"The network does not see 0-255: each pixel becomes (value/255 - mean) / std, with the mean and standard "
            f"deviation of {ds.name}'s training images ({'; '.join(parts)}). Inputs centred near 0 with a spread "
            "near 1 keep the first layer's sums in the range where training works best."
        ),
    }


def activation_png(services, network_id: str, body, layer: str, per_map: bool) -> bytes:
    summary = _summary(services, network_id)
    _check_memory(services, summary, 1, "the feature maps of one example")
    entry = _entry(services, network_id)
    with entry.reading() as net:
        (path,) = _pick(net, [layer], "layer", "query")
        x, _ = resolve_input(services, net, body)
        a = np.asarray(net.feature_maps(x[None])[path][0], dtype=np.float64)
    if a.ndim == 1:
        a = a[None, None]  # a vector: one strip
    elif a.ndim == 2:
        a = a[None]
    elif a.ndim != 3:
        a = a.reshape(1, 1, -1)
    return png_bytes(tile(a, per_map))


# ---- weights ------------------------------------------------------------------------------
def _tensor(a: np.ndarray | None, with_data: bool) -> dict | None:
    if a is None:
        return None
    a = np.asarray(a, dtype=np.float64)
    out = describe(a, bins=30)
    lo, hi = out["min"], out["max"]
    out.update(shape=list(a.shape), norm=float(np.linalg.norm(a[np.isfinite(a)])))
    if with_data:
        out.update(
            encoding="uint8",
            scale=[lo, hi],
            data=b64(to_uint8(a, lo, hi)),
            values=a.tolist() if a.size <= SMALL_WEIGHTS else None,
        )
    return out


def weights(services, network_id: str, layer: str | None) -> dict:
    entry = _entry(services, network_id)
    with entry.reading() as net:
        if layer is None:
            return clean(
                {
                    "layers": [
                        {
                            "path": l.path,
                            "type": l.type,
                            "name": l.name,
                            "trainable": l.trainable,
                            "params": {k: list(v.shape) for k, v in l.params.items()},
                            "has_grads": bool(l.grads),
                        }
                        for l in net.layers()
                        if l.params
                    ]
                }
            )
        (path,) = _pick(net, [layer], "layer", "query")
        l = net.layer(path)
        if not l.params:
            having = ", ".join(m.path for m in net.layers() if m.params)
            raise bad("layer", f"{path} ({l.type}) has no weights; layers with weights: {having}", loc="query")
        out = {"path": l.path, "type": l.type, "name": l.name, "trainable": l.trainable}
        if l.type == "conv2d":
            W = l.params["W"]
            out["filters"] = _tensor(W, True)
            out["bias"] = l.params["b"].astype(np.float64).tolist() if "b" in l.params else None
            out["grad"] = _tensor(l.grads.get("W"), True)
            out["bias_grad"] = l.grads["b"].astype(np.float64).tolist() if "b" in l.grads else None
            out["kernel_size"], out["stride"], out["padding"] = map(list, l.window())
        else:
            out["params"] = {k: _tensor(v, l.type != "linear" and v.size <= SMALL_WEIGHTS) for k, v in l.params.items()}
            out["grads"] = {k: _tensor(l.grads.get(k), False) for k in l.params} if l.grads else None
        return clean(out)


def _numbers(a: np.ndarray | None) -> dict | None:
    if a is None:
        return None
    a = np.asarray(a, dtype=np.float64)
    lo, hi, _ = _range(a)
    return {"shape": list(a.shape), "min": lo, "max": hi, "values": a.tolist()}


def unit_weights(services, network_id: str, layer: str, unit: int) -> dict:
    """The weights one unit reads with: filter `unit` of a conv layer, (in_channels / groups, kh,
    kw), or row `unit` of a linear layer, (in_features,); with its bias and their last gradients."""
    entry = _entry(services, network_id)
    with entry.reading() as net:
        (path,) = _pick(net, [layer], "layer", "query")
        l = net.layer(path)
        if l.type not in ("conv2d", "linear"):
            raise bad(
                "layer",
                f"{path} ({l.type}) has no units with weights of their own: ask for a conv2d or linear layer",
                loc="query",
            )
        units = l.params["W"].shape[0]
        if unit >= units:
            raise bad("unit", f"unit {unit} is out of range: {path} has {units} (0 to {units - 1})", loc="query")
        grads = l.grads
        out = {
            "path": l.path,
            "type": l.type,
            "name": l.name,
            "unit": unit,
            "weights": _numbers(l.params["W"][unit]),
            "grad": _numbers(grads["W"][unit]) if "W" in grads else None,
            "bias": float(l.params["b"][unit]) if "b" in l.params else None,
            "bias_grad": float(grads["b"][unit]) if "b" in grads else None,
        }
        if l.type == "conv2d":
            per_group = l.in_shape[0] // l.g
            first = (unit // (units // l.g)) * per_group
            out["reads"] = [first, first + per_group]  # the input channels this filter sees
            out["kernel_size"], out["stride"], out["padding"] = map(list, l.window())
        return clean(out)


# ---- statistics ---------------------------------------------------------------------------
def stats(services, network_id: str, dataset: str | None, n: int, train: bool, split: str, seed: int) -> dict:
    summary = _summary(services, network_id)
    _check_memory(services, summary, n, f"statistics over {n} examples", factor=3)
    entry = _entry(services, network_id, view="init")  # what the Initialization lab measures
    rng = np.random.default_rng(seed)
    with entry.reading() as net:
        y = None
        if dataset:
            k = _check_classifier(net)
            ds = _dataset(services, dataset, net, loc="query")
            xs, ys = (ds.x_train, ds.y_train) if split == "train" and len(ds.x_train) else (ds.x_test, ds.y_test)
            if len(xs) == 0:
                raise bad("dataset", f"{dataset!r} has no images", loc="query")
            idx = rng.choice(len(xs), size=min(n, len(xs)), replace=False)
            x, y = ds.normalize(xs[idx]), ys[idx]
            if y.max() >= k:
                raise bad(
                    "dataset",
                    f"{dataset!r} has labels up to {int(y.max())} but the network predicts {k} classes",
                    loc="query",
                )
        else:
            x = rng.standard_normal((n, *net.input_shape)).astype(np.float32)
        with _untouched(net):
            try:
                layers = net.stats(x, y, train=train)
            except ValueError as e:  # e.g. batch norm in training mode on one example
                raise Invalid(str(e)) from None
    return clean({"dataset": dataset, "n": len(x), "train": train, "labels": y is not None, "layers": layers})


# ---- saliency -----------------------------------------------------------------------------
def _check_class(cls, k: int) -> None:
    if cls is not None and cls >= k:
        raise bad("class", f"class {cls} is out of range: the network predicts {k} classes (0 to {k - 1})")


def _image_classifier(net, cls, what: str) -> int:
    """The number of classes, after checking the class asked for and that the input is an image."""
    k = _check_classifier(net)
    _check_class(cls, k)
    if len(net.input_shape) != 3:
        raise Invalid(f"{what} need an image input (C, H, W); the network takes {list(net.input_shape)}")
    return k


def saliency(services, network_id: str, body) -> dict:
    summary = _summary(services, network_id)
    _check_memory(services, summary, 1, "a saliency map", factor=3)
    entry = _entry(services, network_id)
    with entry.reading() as net:
        k = _image_classifier(net, body.cls, "saliency maps")
        x, info = resolve_input(services, net, body)
        with _untouched(net):
            g, cls = net.saliency(x, body.cls)
        names = _class_names(info["ds"], k)
    g = np.asarray(g, dtype=np.float64)
    m = np.abs(g).max(axis=0)
    lo, hi, _ = _range(m)
    u8 = to_uint8(m, lo, hi)
    # with its sign: how the score moves when the pixel brightens (in every channel at once)
    signed = g.sum(axis=0)
    s_lo, s_hi, _ = _range(signed)
    return clean(
        {
            "class": cls,
            "class_name": names[cls],
            "shape": list(m.shape),
            "encoding": "uint8",
            "map": b64(u8),
            "min": lo,
            "max": hi,
            "png": data_url(png_bytes(u8)),
            "gradient": {
                "shape": list(signed.shape),
                "min": s_lo,
                "max": s_hi,
                "encoding": "float32",
                "data": b64(signed.astype("<f4")),
            },
        }
    )


# ---- occlusion ----------------------------------------------------------------------------
def _occlusion_fill(x: np.ndarray, how: str) -> np.ndarray:
    """The patch's value per channel, as the network sees it. 'background': the median of the
    image's border pixels, so a patch on an empty part changes nothing (on a black digit background
    0 after normalization is grey ink); 'zero': 0 after normalization; 'mean': the image's mean."""
    if how == "zero":
        return np.zeros(x.shape[0], x.dtype)
    if how == "mean":
        return x.mean(axis=(1, 2))
    border = np.concatenate([x[:, 0, :], x[:, -1, :], x[:, :, 0], x[:, :, -1]], axis=1)
    return np.median(border, axis=1).astype(x.dtype)


def _pixel_values(values: np.ndarray, ds) -> list[float]:
    """Normalized values per channel back on the image's 0-255 scale, to say what they are."""
    v = np.asarray(values, dtype=np.float64)
    if ds is not None:
        v = v * np.asarray(ds.std, np.float64) + np.asarray(ds.mean, np.float64)
    return (np.round(v * 255, 1) + 0.0).tolist()  # + 0.0: no -0.0


def occlusion(services, network_id: str, body) -> dict:
    summary = _summary(services, network_id)
    entry = _entry(services, network_id)
    with entry.reading() as net:
        k = _image_classifier(net, body.cls, "occlusion maps")
        _, h, w = net.input_shape
        ph = body.patch or max(1, min(h, w) // 4)
        if ph > min(h, w):
            raise bad("patch", f"patch {ph} is larger than the input ({h}x{w}); use at most {min(h, w)}")
        stride = body.stride or max(1, ph // 2)
        nh, nw = (h - ph) // stride + 1, (w - ph) // stride + 1
        if nh * nw > MAX_OCCLUSIONS:
            raise TooLarge(
                f"patch {ph} with stride {stride} gives {nh}x{nw} = {nh * nw:,} occluded copies; "
                f"at most {MAX_OCCLUSIONS:,} are allowed: use a larger stride or patch"
            )
        per = summary["totals"]["activation_bytes"]
        batch = int(max(1, min(OCCLUSION_BATCH, services.settings.max_request_activation_bytes // max(per, 1))))
        _check_memory(services, summary, batch, "occlusion")
        x, info = resolve_input(services, net, body)
        base = net.predict_proba(x[None])[0].astype(np.float64)
        cls = int(base.argmax()) if body.cls is None else body.cls
        fill = _occlusion_fill(x, body.fill)
        tops = [(i * stride, j * stride) for i in range(nh) for j in range(nw)]
        probs = np.empty(len(tops))
        for start in range(0, len(tops), batch):
            chunk = tops[start : start + batch]
            xb = np.repeat(x[None], len(chunk), axis=0)
            for b, (t, l) in enumerate(chunk):
                xb[b, :, t : t + ph, l : l + ph] = fill[:, None, None]
            probs[start : start + len(chunk)] = net.predict_proba(xb)[:, cls]
        names = _class_names(info["ds"], k)
    drop = (base[cls] - probs).reshape(nh, nw)
    lo, hi, _ = _range(drop)
    return clean(
        {
            "class": cls,
            "class_name": names[cls],
            "baseline": float(base[cls]),
            "patch": ph,
            "stride": stride,
            "fill": body.fill,
            "fill_value": fill.astype(np.float64).tolist(),
            "fill_pixel": _pixel_values(fill, info["ds"]),
            "shape": [nh, nw],
            "map": drop.tolist(),
            "min": lo,
            "max": hi,
            "png": data_url(png_bytes(to_uint8(drop, lo, hi))),
        }
    )


# ---- gradient check -----------------------------------------------------------------------
def gradcheck(services, network_id: str, n: int, max_entries: int, train: bool, seed: int) -> dict:
    summary = _summary(services, network_id)
    t = summary["totals"]
    tensors = sum(len(r["param_shapes"]) for r in summary["layers"] if not r["block"])
    work = t["macs"] * n * (2 * max_entries * (tensors + 1) + 2)
    if t["params"] > GRADCHECK_MAX_PARAMS or work > GRADCHECK_MAX_WORK:
        raise TooLarge(
            f"a gradient check of this network ({t['params']:,} parameters, {t['macs']:,} multiply-adds "
            f"per example) would take too long here: the limit is {GRADCHECK_MAX_PARAMS:,} parameters and "
            f"{GRADCHECK_MAX_WORK:.0e} multiply-adds in all; lower n or max_entries, or check a smaller "
            "network with the same layers"
        )
    _check_memory(services, summary, n, "the gradient check", factor=6)  # float64, outputs and caches
    entry = _entry(services, network_id)
    with entry.reading() as net:
        k = _check_classifier(net)
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((n, *net.input_shape))
        y = rng.integers(0, k, size=n)
        net = net.copy()  # gradcheck works on its own float64 copy; copying under the lock is enough
    try:
        rows = engine.gradcheck(net, x, y, train=train, max_entries=max_entries, seed=seed)
    except ValueError as e:
        raise Invalid(str(e)) from None
    for r in rows:
        r["ok"] = bool(math.isfinite(r["max_rel_error"]) and r["max_rel_error"] < THRESHOLD)
    return clean(
        {"rows": rows, "ok": all(r["ok"] for r in rows), "threshold": THRESHOLD, "n": n, "train": train, "seed": seed}
    )
