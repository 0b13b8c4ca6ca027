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


def missing_formats() -> dict[str, str]:
    """The formats this installation cannot write, each with how to install what it needs."""
    return {} if engine.onnx_available() else {"onnx": ONNX_INSTALL}


def export(net: engine.Network, name: str, format: str, normalization: dict | None = None) -> Exported:
    """The network `net` (its weights as they are now) in `format`, one of FORMATS; a PyTorch export
    with `normalization` ({mean, std} of the dataset it learnt) normalises its input itself.

    Raises engine.OnnxUnavailable for onnx when the onnx package is not installed."""
    if format == "npz":
        return Exported(to_bytes(net, meta={"name": name}), "application/octet-stream", ".npz")
    if format == "json":
        text = json.dumps(spec_file(net.spec, name, net.seed), indent=2)
        return Exported(text.encode(), "application/json", ".json")
    if format == "pytorch":
        source, state = engine.to_pytorch(net, title=name, **(normalization or {}))
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
        return Exported(engine.to_onnx(net, title=name, metadata=meta), "application/onnx", ".onnx")
    raise ValueError(f"unknown export format {format!r}; formats: {', '.join(FORMATS)}")
