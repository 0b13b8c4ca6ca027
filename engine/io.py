"""Saving and loading networks: spec, weights and optimizer state in one .npz.

The spec is stored as JSON text in a uint8 array, so nothing in the file is
ever unpickled (np.load with allow_pickle=False). Files are written to a
temporary name, flushed to disk and renamed, so a crash mid-save leaves the
previous file whole.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import CheckpointError, SpecErrors
from .network import Network

FORMAT = "cnn-playground/1"


def _text(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-8"), dtype=np.uint8)


def to_bytes(net: Network, optimizer=None, meta: dict | None = None) -> bytes:
    """The .npz file's content as bytes."""
    arrays = {"__meta__": _text(json.dumps({"format": FORMAT, "seed": net.seed, **(meta or {})})),
              "__spec__": _text(json.dumps(net.spec))}
    for k, v in net.state_dict().items():
        arrays[f"w:{k}"] = v
    if optimizer is not None:
        st = optimizer.state_dict()
        arrays["__optimizer__"] = _text(json.dumps(st["config"]))
        for k, v in st["arrays"].items():
            arrays[f"o:{k}"] = v
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write data to path so that readers see the old file or the new one, never a torn one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save(net: Network, path, optimizer=None, meta: dict | None = None) -> None:
    """Save spec, weights (and optimizer state) to a .npz file, atomically."""
    atomic_write(path, to_bytes(net, optimizer, meta))


def load_checkpoint(source) -> tuple[Network, dict | None, dict]:
    """(network, optimizer state or None, meta) from a path or bytes.

    Every array is checked against the spec's shapes; any problem raises
    CheckpointError saying what is wrong.
    """
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        with np.load(source, allow_pickle=False) as z:
            names = list(z.files)
            if "__spec__" not in names or "__meta__" not in names:
                raise CheckpointError("not a CNN Playground network file: no spec inside")
            meta = json.loads(z["__meta__"].tobytes().decode("utf-8"))
            spec = json.loads(z["__spec__"].tobytes().decode("utf-8"))
            weights = {n[2:]: z[n] for n in names if n.startswith("w:")}
            opt_arrays = {n[2:]: z[n] for n in names if n.startswith("o:")}
            opt_config = json.loads(z["__optimizer__"].tobytes().decode("utf-8")) if "__optimizer__" in names else None
    except CheckpointError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError, UnicodeDecodeError,
            json.JSONDecodeError, NotImplementedError) as e:
        raise CheckpointError(f"cannot read the network file: {e}") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"unsupported network file format {meta.get('format')!r}; expected {FORMAT}")
    try:
        net = Network(spec, seed=int(meta.get("seed", 0)))
    except SpecErrors as e:
        raise CheckpointError(f"the spec in the file is not valid: {e}") from None
    for k, v in weights.items():
        if v.dtype.kind not in "fiu":
            raise CheckpointError(f"{k}: expected a numeric array, got dtype {v.dtype}")
        if not np.all(np.isfinite(v)):
            raise CheckpointError(f"{k}: holds NaN or infinite values")
    net.load_state_dict(weights)
    opt = {"config": opt_config, "arrays": opt_arrays} if opt_config else None
    return net, opt, meta


def load(path) -> Network:
    """Load a network saved with save()."""
    return load_checkpoint(path)[0]
