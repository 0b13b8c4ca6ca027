"""Beyond saliency: what a unit looks for (feature visualization) and how little it takes to
change the network's answer (adversarial examples, the fast gradient sign method).

Both read the network as the other inspections do, through `entry.reading()`, so they follow
the training weights while a run trains. Feature visualization runs many steps, so it copies
the network under the lock and climbs on the copy: a run publishing new weights never waits
for it. Its work is bounded before it starts (413) and its time while it runs.
"""

from __future__ import annotations

import time

import numpy as np

from engine import ascend, layers_to, loss_gradient, macs_to

from ..errors import Invalid, TooLarge
from ..runs.events import clean
from .inspect import (
    _check_memory,
    _class_names,
    _dataset,
    _entry,
    _image_classifier,
    _pick,
    _prediction,
    _summary,
    _untouched,
    b64,
    bad,
    data_url,
    png_bytes,
    resolve_input,
)

MAX_UNITS = 16  # images in one feature visualization
MAX_STEPS = 512
MAX_WORK = 30_000_000_000  # multiply-adds: forward and backward, every image and step
TIME_LIMIT = 20.0  # seconds of ascent; then the images are returned as they are
START_NOISE = 0.05  # the start: the dataset's mean, this much noise (in its stds)


# ---- pixels ----------------------------------------------------------------------------------
def _stats(ds, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per channel, the mean and std that map value/255 to what the network sees."""
    if ds is None:
        return np.zeros(channels), np.ones(channels)
    return np.asarray(ds.mean, np.float64), np.asarray(ds.std, np.float64)


def _to_pixels(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Normalized (..., C, H, W) -> 0-255, as float64."""
    shape = (-1, 1, 1)
    return (np.asarray(x, np.float64) * std.reshape(shape) + mean.reshape(shape)) * 255


def _valid_range(mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel, the normalized values of pixels 0 and 255."""
    return (0 - mean) / std, (1 - mean) / std


def _image_png(pixels: np.ndarray) -> str:
    """(C, H, W) 0-255 -> a PNG data URL: grey for one channel, colour for three."""
    u8 = np.clip(np.rint(np.nan_to_num(pixels)), 0, 255).astype(np.uint8)  # NaN weights: black
    return data_url(png_bytes(u8[0] if u8.shape[0] == 1 else u8.transpose(1, 2, 0)))


def _float_array(a: np.ndarray) -> dict:
    return {"shape": list(a.shape), "encoding": "float32", "dtype": "<f4", "data": b64(np.asarray(a, "<f4"))}


# ---- feature visualization ---------------------------------------------------------------------
def _units(body, label: str, out_shape: tuple, is_output: bool) -> tuple[list[int], str]:
    """The channels asked for, checked against the layer, and how they were asked for:
    'class', 'channel' or 'channels'."""
    if body.cls is not None and not is_output:
        raise bad(
            "class", f"a class is a unit of the output layer; for {label} ask for a 'channel' (or leave out 'layer')"
        )
    count = int(out_shape[0])
    what = "channels" if len(out_shape) == 3 else "units"
    one = body.cls if body.cls is not None else body.channel
    if one is not None and body.channels is not None:
        raise bad("channels", "give one 'channel' (or 'class') or a list of 'channels', not both")
    units = [one] if one is not None else body.channels
    if units is None:
        if count > MAX_UNITS:
            raise bad(
                "channels",
                f"{label} has {count} {what}; at most {MAX_UNITS} are drawn at "
                f"once: ask for some with 'channels', e.g. [0, ..., "
                f"{MAX_UNITS - 1}]",
            )
        units = list(range(count))
    field = "class" if body.cls is not None else "channel" if one is not None else "channels"
    for u in units:
        if u >= count:
            raise bad(
                field,
                f"{'class' if field == 'class' else what[:-1]} {u} is out of range: "
                f"{label} has {count} {what} (0 to {count - 1})",
            )
    return units, field


def _objective_words(scores: bool, out_shape: tuple, centre: bool, path: str) -> str:
    if scores:
        return "its class's score (the logit, before softmax)"
    if len(out_shape) != 3:
        return f"the unit's value in {path}"
    if centre:
        return (
            f"the unit in the middle of its channel's {out_shape[1]}x{out_shape[2]} map, which "
            "reads only its receptive field (the rest of the image stays as it started)"
        )
    return f"the mean of its channel's {out_shape[1]}x{out_shape[2]} map over all positions"


def _plan(services, network_id: str, body) -> dict:
    """Under the lock: the layer and units asked for, checked, the work bounded, and a copy of
    the network to climb on, so that a run publishing new weights never waits for the climb."""
    summary = _summary(services, network_id)
    entry = _entry(services, network_id)
    with entry.reading() as net:
        if len(net.input_shape) != 3:
            raise Invalid(
                f"feature visualization draws images; the network takes inputs of shape {list(net.input_shape)}"
            )
        output = net.trunk.layers[-1].path if net.trunk.layers else None
        if (body.layer or output) is None:
            raise bad("layer", "the network has no layers")
        (path,) = _pick(net, [body.layer or output], "layer")
        if path == "input":
            raise bad("layer", "the input has no units to visualize; pick a layer of the network")
        chain = layers_to(net, path)
        out_shape = chain[-1].out_shape
        if len(out_shape) not in (1, 3):
            raise bad(
                "layer",
                f"{path} gives outputs of shape {list(out_shape)}; pick a layer "
                "whose output is maps (C, H, W) or a vector of units",
            )
        layer = net.layer(path)
        label = f"{layer.name} ({path})" if layer.name else path
        units, kind = _units(body, label, out_shape, path == output)
        work = 3 * macs_to(chain) * len(units) * body.steps  # a backward costs about 2 forwards
        if work > MAX_WORK:
            raise TooLarge(
                f"{len(units)} image(s) of {body.steps} steps through {label} need "
                f"about {work:.1e} multiply-adds; this server allows {MAX_WORK:.0e} "
                "per request: ask for fewer channels or steps, or an earlier layer"
            )
        _check_memory(services, summary, len(units), "feature visualization", factor=3)
        ds = _dataset(services, body.dataset, net) if body.dataset else None
        return {
            "net": net.copy(),
            "path": path,
            "units": units,
            "kind": kind,
            "ds": ds,
            "scores": path == output and len(out_shape) == 1,  # the units are classes
            "out_shape": out_shape,
            "type": layer.type,
            "name": layer.name,
        }


def feature_visualization(services, network_id: str, body) -> dict:
    """Images that make chosen units of a layer answer strongly, by gradient ascent on the input."""
    plan = _plan(services, network_id, body)
    net, units, out_shape = plan["net"], plan["units"], plan["out_shape"]
    mean, std = _stats(plan["ds"], net.input_shape[0])
    lo, hi = _valid_range(mean, std)
    rng = np.random.default_rng(body.seed)
    x0 = np.clip(
        START_NOISE * rng.standard_normal((len(units), *net.input_shape)), lo.reshape(-1, 1, 1), hi.reshape(-1, 1, 1)
    )
    centre = body.objective == "centre"
    started = time.monotonic()
    result = ascend(
        net,
        plan["path"],
        units,
        x0,
        steps=body.steps,
        lr=body.lr,
        jitter=body.jitter,
        blur=body.blur,
        l2=body.l2,
        lo=lo,
        hi=hi,
        rng=rng,
        centre=centre,
        deadline=started + TIME_LIMIT,
    )
    seconds = time.monotonic() - started
    pixels = _to_pixels(result["images"], mean, std)
    history = result["history"]
    names = _class_names(plan["ds"], int(out_shape[0])) if plan["scores"] else None
    images = [
        {
            "channel": unit,
            "png": _image_png(pixels[i]),
            "activation": history[:, i].tolist(),
            "start": float(history[0, i]),
            "final": float(result["final"][i]),
            **({"class_name": names[unit]} if names else {}),
        }
        for i, unit in enumerate(units)
    ]
    done = result["steps"]
    stopped = (
        None
        if done == body.steps
        else (
            f"stopped by the time limit of {TIME_LIMIT:g} s after {done} of {body.steps} steps: "
            "the images are as far as they got"
        )
    )
    return clean(
        {
            "layer": plan["path"],
            "type": plan["type"],
            "name": plan["name"],
            "output_shape": list(out_shape),
            "layer_channels": int(out_shape[0]),
            "kind": plan["kind"],
            "objective": body.objective if len(out_shape) == 3 else "unit",
            "measures": _objective_words(plan["scores"], out_shape, centre, plan["path"]),
            "steps": done,
            "steps_asked": body.steps,
            "stopped": stopped,
            "seconds": round(seconds, 3),
            "settings": {"lr": body.lr, "jitter": body.jitter, "blur": body.blur, "l2": body.l2, "seed": body.seed},
            "images": images,
            "pixels": _float_array(pixels),
            "pixel_range": [0, 255],
        }
    )


# ---- adversarial examples ----------------------------------------------------------------------
def adversarial(services, network_id: str, body) -> dict:
    """One step of the fast gradient sign method on the input: every pixel moves by epsilon (in
    0-255 grey levels) the way that raises the loss of the predicted class, or lowers the loss
    of a target class; then it is clipped to 0-255."""
    summary = _summary(services, network_id)
    _check_memory(services, summary, 2, "an adversarial example", factor=3)
    entry = _entry(services, network_id)
    with entry.reading() as net:
        k = _image_classifier(net, None, "adversarial examples")
        if body.target is not None and body.target >= k:
            raise bad("target", f"class {body.target} is out of range: the network predicts {k} classes (0 to {k - 1})")
        x, info = resolve_input(services, net, body)
        ds = info["ds"]
        mean, std = _stats(ds, net.input_shape[0])
        x255 = np.clip(_to_pixels(x, mean, std), 0, 255)
        before = _prediction(net, x, ds)
        targeted = body.target is not None
        cls = body.target if targeted else before["predicted"]
        with _untouched(net):
            loss_before, grad = loss_gradient(net, x[None], [cls])
        sign = np.sign(np.nan_to_num(grad[0])).astype(np.int8)
        step = -sign if targeted else sign
        wanted = x255 + body.epsilon * step
        adv255 = np.clip(wanted, 0, 255)
        x_adv = ((adv255 / 255 - mean.reshape(-1, 1, 1)) / std.reshape(-1, 1, 1)).astype(net.dtype)
        after = _prediction(net, x_adv, ds)
        with _untouched(net):
            loss_after, _ = loss_gradient(net, x_adv[None], [cls])
        names = _class_names(ds, k)
    for p in (before, after):
        if "label" in info:
            p["label"] = info["label"]
    held = np.abs(adv255 - wanted) > 1e-9  # the clip kept these short of a full epsilon
    return clean(
        {
            "epsilon": body.epsilon,
            "scale": "grey levels out of 255",
            "targeted": targeted,
            "target": body.target,
            "class": cls,
            "class_name": names[cls],
            "original": {**_float_array(x255), "png": _image_png(x255)},
            "perturbation": {
                "shape": list(step.shape),
                "encoding": "int8",
                "dtype": "i1",
                "data": b64(step),
                "png": _image_png(127.5 + 127.5 * step),
                "meaning": "the step's direction per pixel: +1 brighter, -1 darker, 0 unmoved (a zero gradient)",
            },
            "perturbed": {**_float_array(adv255), "png": _image_png(adv255)},
            "counts": {
                "values": int(step.size),
                "moved": int(((step != 0) & ~held).sum()),
                "clipped": int(((step != 0) & held).sum()),
                "still": int((step == 0).sum()),
            },
            "change": {"max": float(np.abs(adv255 - x255).max()), "mean": float(np.abs(adv255 - x255).mean())},
            "loss_before": float(loss_before[0]),
            "loss_after": float(loss_after[0]),
            "before": before,
            "after": after,
            "flipped": before["predicted"] != after["predicted"],
        }
    )
