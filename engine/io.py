"""Saving and loading networks: spec, weights and optimizer state in one .npz.

The spec is stored as JSON text in a uint8 array, so nothing in the file is
ever unpickled: loading reads each array from its .npy header first, with the
dataset reader's checks (no object dtypes, bounded and counted inflation).
Files are written to a temporary name, flushed to disk and renamed, so a crash
mid-save leaves the previous file whole.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import CheckpointError, SpecErrors
from .network import Network

FORMAT = "cnn-playground/1"


def _text(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-8"), dtype=np.uint8)


def to_bytes(
    net: Network, optimizer=None, meta: dict | None = None, extra: dict[str, np.ndarray] | None = None
) -> bytes:
    """The .npz file's content as bytes; `extra` arrays (a trainer's, say) travel along by name."""
    arrays = {
        "__meta__": _text(json.dumps({"format": FORMAT, "seed": net.seed, **(meta or {})})),
        "__spec__": _text(json.dumps(net.spec)),
    }
    for k, v in net.state_dict().items():
        arrays[f"w:{k}"] = v
    if optimizer is not None:
        st = optimizer.state_dict()
        arrays["__optimizer__"] = _text(json.dumps(st["config"]))
        for k, v in st["arrays"].items():
            arrays[f"o:{k}"] = v
    for k, v in (extra or {}).items():
        arrays[f"x:{k}"] = v
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


MAX_BYTES = 1 << 30  # arrays in one network file, once inflated
MAX_MEMBERS = 20_000


def _read_arrays(source, max_bytes: int) -> dict[str, np.ndarray]:
    """Every array of a network .npz, each read from its .npy header first: object dtypes, absurd
    shapes and more bytes than declared or than max_bytes are refused before anything is allocated."""
    from .data.base import DatasetError
    from .data.userfile import read_npy_member

    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        raise CheckpointError(f"cannot read the network file: not an .npz archive ({e})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise CheckpointError(
                f"cannot read the network file: it has {len(infos):,} members; at most {MAX_MEMBERS:,}"
            )
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            raise CheckpointError(
                f"cannot read the network file: its arrays declare {declared:,} bytes, more than "
                f"the {max_bytes:,}-byte limit"
            )
        out: dict[str, np.ndarray] = {}
        for info in infos:
            name = info.filename.removesuffix(".npy")
            if name in out:
                raise CheckpointError(f"cannot read the network file: the array {name[:80]!r} appears twice")
            try:
                out[name] = read_npy_member(zf, info, max_bytes)
            except DatasetError as e:
                raise CheckpointError(f"cannot read the network file: {e}") from None
            max_bytes -= out[name].nbytes
    return out


@dataclass
class Checkpoint:
    """What a network file holds: the network, its optimizer state (or None), the meta
    object and any extra arrays saved with it."""

    net: Network
    optimizer: dict | None
    meta: dict
    extra: dict[str, np.ndarray]


def load_checkpoint(
    source, check: Callable[[dict], object] | None = None, max_bytes: int = MAX_BYTES
) -> tuple[Network, dict | None, dict]:
    """(network, optimizer state or None, meta) from a path or bytes; see read_checkpoint."""
    saved = read_checkpoint(source, check, max_bytes)
    return saved.net, saved.optimizer, saved.meta


def read_checkpoint(source, check: Callable[[dict], object] | None = None, max_bytes: int = MAX_BYTES) -> Checkpoint:
    """A network file (a path or bytes) read in full.

    Nothing is unpickled and no array is allocated before its header was checked.
    `check(spec)`, when given, runs before the network is built (a server's limits on
    parameters and activations: it raises to refuse). Every array is checked against the
    spec's shapes; any problem raises CheckpointError saying what is wrong.
    """
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    arrays = _read_arrays(source, max_bytes)
    if "__spec__" not in arrays or "__meta__" not in arrays:
        raise CheckpointError("not a CNN Playground network file: no spec inside")
    try:
        meta = json.loads(arrays["__meta__"].tobytes().decode("utf-8"))
        spec = json.loads(arrays["__spec__"].tobytes().decode("utf-8"))
        opt_config = (
            json.loads(arrays["__optimizer__"].tobytes().decode("utf-8")) if "__optimizer__" in arrays else None
        )
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise CheckpointError(f"cannot read the network file: {type(e).__name__}: {str(e)[:200]}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        format_ = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"unsupported network file format {format_!r}; expected {FORMAT}")
    seed = meta.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise CheckpointError(f"the seed in the file must be a non-negative integer, got {str(seed)[:40]}")
    if opt_config is not None and not isinstance(opt_config, dict):
        raise CheckpointError("the optimizer state in the file is not an object")
    weights = {n[2:]: a for n, a in arrays.items() if n.startswith("w:")}
    opt_arrays = {n[2:]: a for n, a in arrays.items() if n.startswith("o:")}
    if check is not None:
        check(spec)
    try:
        net = Network(spec, seed=seed)
    except SpecErrors as e:
        raise CheckpointError(f"the spec in the file is not valid: {e}") from None
    for k, v in weights.items():
        if v.dtype.kind not in "fiu":
            raise CheckpointError(f"{k}: expected a numeric array, got dtype {v.dtype}")
        if not np.all(np.isfinite(v)):
            raise CheckpointError(f"{k}: holds NaN or infinite values")
    net.load_state_dict(weights)
    opt = {"config": opt_config, "arrays": opt_arrays} if opt_config else None
    extra = {n[2:]: a for n, a in arrays.items() if n.startswith("x:")}
    return Checkpoint(net, opt, meta, extra)


def load(path) -> Network:
    """Load a network saved with save()."""
    return load_checkpoint(path)[0]
