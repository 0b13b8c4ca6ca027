"""Reading CIFAR-10 "python version" batch files safely.

The official batches are pickles. They are only unpickled after their md5 matched the
published checksum (when one is given), and then with a restricted unpickler whose
``find_class`` resolves only the handful of numpy/builtin callables the official files
need; anything else (``os.system``, ``builtins.eval``, ...) raises :class:`DatasetError`.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import pickle
from pathlib import Path

import numpy as np

from .base import DatasetError

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"
MAX_BATCH_BYTES = 200 * 1024 * 1024


def _allowed_callables() -> dict[tuple[str, str], object]:
    """Map (module, name) as written in pickles to the objects we are willing to build."""
    reconstruct = np.zeros(1).__reduce__()[0]  # numpy's _reconstruct, wherever it lives
    allowed: dict[tuple[str, str], object] = {}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray", reconstruct.__module__):
        allowed[(mod, "_reconstruct")] = reconstruct
    try:
        frombuffer = np.zeros(1).__reduce_ex__(5)[0]  # numpy's _frombuffer (pickle protocol 5)
        for mod in ("numpy.core.numeric", "numpy._core.numeric", frombuffer.__module__):
            allowed[(mod, frombuffer.__name__)] = frombuffer
    except Exception:  # pragma: no cover - older numpy
        pass
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    for name in ("list", "dict", "tuple", "bytes", "bytearray", "str", "int", "float"):
        allowed[("builtins", name)] = getattr(builtins, name)
        allowed[("__builtin__", name)] = allowed[("builtins", name)]

    def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
        # Python 3 pickles of bytes at protocol <= 2 call _codecs.encode(text, "latin1")
        if encoding not in ("latin1", "latin-1"):
            raise DatasetError("refusing to unpickle: unexpected codec in CIFAR batch")
        return text.encode("latin1")

    allowed[("_codecs", "encode")] = _latin1_encode
    return allowed


_ALLOWED = _allowed_callables()


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise DatasetError(
                f"refusing to unpickle {module}.{name}: this file is not an official CIFAR batch "
                "(only numpy arrays, lists and dicts are allowed)"
            ) from None

    def persistent_load(self, pid):  # pragma: no cover - not used by CIFAR
        raise DatasetError("refusing to unpickle persistent references in a CIFAR batch")


def md5_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def safe_unpickle(data: bytes) -> object:
    """Unpickle ``data`` allowing only numpy arrays and plain containers."""
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except DatasetError:
        raise
    except Exception as exc:  # malformed pickles raise many exception types
        raise DatasetError(f"cannot read CIFAR batch: {type(exc).__name__}: {exc}") from exc


def _get(d: dict, key: str):
    for k in (key, key.encode()):
        if k in d:
            return d[k]
    raise DatasetError(f"CIFAR batch has no {key!r} entry")


def parse_batch_bytes(data: bytes, *, name: str = "batch", md5: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Parse the bytes of one batch file into (x uint8 (N,3,32,32), y int64 (N,)).

    When ``md5`` is given it must match before anything is unpickled.
    """
    if md5 is not None:
        got = hashlib.md5(data).hexdigest()
        if got != md5:
            raise DatasetError(
                f"{name}: md5 {got} does not match the published checksum {md5}; "
                "the file is corrupt or not the official CIFAR-10 batch, delete it and download again"
            )
    obj = safe_unpickle(data)
    if not isinstance(obj, dict):
        raise DatasetError(f"{name}: expected a dict in the CIFAR batch, got {type(obj).__name__}")
    x = np.asarray(_get(obj, "data"))
    y = _get(obj, "labels")
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3 * 32 * 32:
        raise DatasetError(f"{name}: 'data' must be uint8 with 3072 values per row, got {x.dtype} {x.shape}")
    if not isinstance(y, (list, np.ndarray)) or len(y) != x.shape[0]:
        raise DatasetError(f"{name}: 'labels' must be a list with one label per row of 'data'")
    try:
        y = np.asarray(y, dtype=np.int64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DatasetError(f"{name}: labels are not integers") from exc
    if y.ndim != 1 or (y.size and (y.min() < 0 or y.max() > 9)):
        raise DatasetError(f"{name}: labels must be integers 0..9")
    return np.ascontiguousarray(x.reshape(-1, 3, 32, 32)), y


def read_batch(path: str | os.PathLike, *, md5: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch file; see :func:`parse_batch_bytes`."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"CIFAR batch {str(path)!r} does not exist")
    if path.stat().st_size > MAX_BATCH_BYTES:
        raise DatasetError(f"{path.name}: too large to be a CIFAR batch")
    return parse_batch_bytes(path.read_bytes(), name=path.name, md5=md5)
