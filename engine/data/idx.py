"""Reading and writing IDX files (the MNIST format), plain or gzip-compressed.

The reader validates the header (magic, dtype code, number of dimensions, sizes) and
checks the declared data size against a byte limit and against the file before
allocating anything; a truncated or over-long file raises :class:`DatasetError`.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .base import DatasetError

# IDX type code -> big-endian numpy dtype
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
MAX_DIMS = 4
_CHUNK = 1 << 20


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def read_idx(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Read an IDX file (gzip detected from the content, not the name) into a native-endian array."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"IDX file {str(path)!r} does not exist")
    compressed = _is_gzip(path)
    try:
        with gzip.open(path, "rb") if compressed else open(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4:
                raise DatasetError(f"{path.name}: too short to be an IDX file (needs a 4-byte header)")
            if head[0] != 0 or head[1] != 0:
                raise DatasetError(
                    f"{path.name}: not an IDX file (bad magic number {head.hex()}); "
                    "expected files like train-images-idx3-ubyte[.gz]"
                )
            code, ndim = head[2], head[3]
            if code not in IDX_DTYPES:
                raise DatasetError(f"{path.name}: unknown IDX data type code 0x{code:02x}")
            if not 1 <= ndim <= MAX_DIMS:
                raise DatasetError(f"{path.name}: IDX files with {ndim} dimensions are not supported (1 to {MAX_DIMS})")
            dims_raw = f.read(4 * ndim)
            if len(dims_raw) < 4 * ndim:
                raise DatasetError(f"{path.name}: truncated IDX header")
            dims = struct.unpack(f">{ndim}I", dims_raw)
            dtype = IDX_DTYPES[code]
            nbytes = dtype.itemsize
            for d in dims:  # python ints: no overflow
                nbytes *= d
            if nbytes > max_bytes or math.prod(max(d, 1) for d in dims) > max_bytes:  # (0, 2**31, ...) too
                raise DatasetError(
                    f"{path.name}: header declares shape {dims} ({nbytes:,} bytes); sizes beyond the "
                    f"{max_bytes:,}-byte limit are refused"
                )
            header_len = 4 + 4 * ndim
            if not compressed:
                size = path.stat().st_size
                if size != header_len + nbytes:
                    raise DatasetError(
                        f"{path.name}: header declares shape {dims} ({nbytes:,} data bytes) but the file "
                        f"holds {size - header_len:,}; the file is truncated or corrupt, get a fresh copy"
                    )
            buf = bytearray(nbytes)
            view = memoryview(buf)
            got = 0
            while got < nbytes:
                chunk = f.read(min(_CHUNK, nbytes - got))
                if not chunk:
                    break
                view[got : got + len(chunk)] = chunk
                got += len(chunk)
            if got != nbytes:
                raise DatasetError(
                    f"{path.name}: truncated: header declares {nbytes:,} data bytes but only {got:,} present; "
                    "get a fresh copy of the file"
                )
            if f.read(1):
                raise DatasetError(f"{path.name}: more data than the header declares; the file is corrupt")
    except DatasetError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path.name}: cannot read ({exc}); the file is damaged, get a fresh copy") from exc
    arr = np.frombuffer(buf, dtype=dtype).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=dtype.itemsize > 1) if dtype.itemsize > 1 else arr


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file; gzip-compressed when the name ends with ``.gz``."""
    path = Path(path)
    arr = np.asarray(array)
    code = None
    for c, dt in IDX_DTYPES.items():
        if dt.kind == arr.dtype.kind and dt.itemsize == arr.dtype.itemsize:
            code = c
            break
    if code is None:
        raise DatasetError(f"cannot write dtype {arr.dtype} to IDX (use uint8, int8, int16, int32, float32 or float64)")
    if not 1 <= arr.ndim <= 255:
        raise DatasetError("IDX arrays need at least one dimension")
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header)
        f.write(data)
    return path
