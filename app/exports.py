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

FORMATS = ("npz", "json", "pytorch", "onnx")
ONNX_MISSING = ('ONNX export needs the onnx package: pip install "cnn-playground[onnx]" '
                "(or pip install onnx) where the server runs")


class ExportUnavailable(Exception):
    """The format needs an optional package that is not installed; the message says how to get it."""


@dataclass
class Exported:
    data: bytes
    media_type: str
    suffix: str  # after the network's name: ".npz", "-pytorch.zip"


def spec_file(spec: dict, name: str, seed: int) -> dict:
    """The spec as a file carries it: with the network's name and seed."""
    return {**spec, "name": name, "seed": seed}


def onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True


def export(net: engine.Network, name: str, format: str) -> Exported:
    """The network `net` (its weights as they are now) in `format`, one of FORMATS."""
    if format == "npz":
        return Exported(to_bytes(net, meta={"name": name}), "application/octet-stream", ".npz")
    if format == "json":
        text = json.dumps(spec_file(net.spec, name, net.seed), indent=2)
        return Exported(text.encode(), "application/json", ".json")
    if format == "pytorch":
        source, state = engine.to_pytorch(net, title=name)
        weights = io.BytesIO()
        np.savez(weights, **state)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("model.py", source)
            z.writestr("network.json", json.dumps(spec_file(net.spec, name, net.seed), indent=2))
            z.writestr("weights.npz", weights.getvalue())
        return Exported(buf.getvalue(), "application/zip", "-pytorch.zip")
    if format == "onnx":
        if not onnx_available():
            raise ExportUnavailable(ONNX_MISSING)
        from .onnx_export import to_onnx
        return Exported(to_onnx(net, name), "application/octet-stream", ".onnx")
    raise ValueError(f"unknown export format {format!r}; formats: {', '.join(FORMATS)}")
