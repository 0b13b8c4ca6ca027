"""A network as a file in each export format, for the API's export route and the CLI alike. Every
format keeps the network's name and seed: import reads them back."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

import numpy as np

import engine
from engine.io import to_bytes
from engine.onnx_export import INSTALL as ONNX_INSTALL

FORMATS = ("npz", "json", "pytorch", "onnx")


@dataclass
class Exported:
    data: bytes
    media_type: str
    suffix: str  # after the network's name: ".npz", "-pytorch.zip"


def spec_file(spec: dict, name: str, seed: int) -> dict:
    """The spec as a file carries it: with the network's name and seed."""
    return {**spec, "name": name, "seed": seed}


def is_pytorch_export(data: bytes) -> bool:
    """Whether `data` is a PyTorch export (a zip with model.py), which only PyTorch loads back."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "model.py" in z.namelist()
    # a broken zip fails in many ways: the checkpoint reader says how
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        return False


def missing_formats() -> dict[str, str]:
    """The formats this installation cannot write, each with how to install what it needs."""
    return {} if engine.onnx_available() else {"onnx": ONNX_INSTALL}


def export(net: engine.Network, name: str, format: str, trained_on: dict | None = None) -> Exported:
    """The network `net` (its weights as they are now) in `format`, one of FORMATS. `trained_on`, the
    model meta of the dataset it learnt (Dataset.model_meta: name, classes, mean, std), goes with it:
    an npz keeps it for whoever reads the file (cnn-playground predict), a PyTorch or ONNX model
    normalises its input with it, so that it takes pixel values / 255.

    Raises engine.OnnxUnavailable for onnx when the onnx package is not installed."""
    normalization = {"mean": trained_on["mean"], "std": trained_on["std"]} if trained_on else {}
    if format == "npz":
        return Exported(to_bytes(net, meta={**(trained_on or {}), "name": name}), "application/octet-stream", ".npz")
    if format == "json":
        text = json.dumps(spec_file(net.spec, name, net.seed), indent=2)
        return Exported(text.encode(), "application/json", ".json")
    if format == "pytorch":
        source, state = engine.to_pytorch(net, title=name, **normalization)
        weights = io.BytesIO()
        np.savez(weights, **state)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("model.py", source)
            z.writestr("network.json", json.dumps(spec_file(net.spec, name, net.seed), indent=2))
            z.writestr("weights.npz", weights.getvalue())
        return Exported(buf.getvalue(), "application/zip", "-pytorch.zip")
    if format == "onnx":
        meta = {"name": name, "seed": str(net.seed), "spec": json.dumps(net.spec)}
        if trained_on:
            meta.update(dataset=trained_on["dataset"], classes=json.dumps(trained_on["classes"]))
        return Exported(engine.to_onnx(net, title=name, metadata=meta, **normalization), "application/onnx", ".onnx")
    raise ValueError(f"unknown export format {format!r}; formats: {', '.join(FORMATS)}")
