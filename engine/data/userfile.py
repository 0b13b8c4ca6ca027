"""User datasets from files: ``.npz`` archives and IDX image/label pairs.

Everything is validated before a :class:`Dataset` is returned.

``.npz`` members:
    ``x``            images (N, H, W), (N, H, W, C) or (N, C, H, W) with C in {1, 3}
                     (layout guessed from which axis is 1 or 3; NCHW preferred when axis 1 is).
                     uint8 0-255, or float/int. Floats whose maximum is <= 1 are taken as [0, 1]
                     and scaled by 255; otherwise values must lie in [0, 255]. Everything is
                     rounded to uint8 (datasets are always stored as uint8).
    ``y``            labels, shape (N,) or (N, 1): integers 0..K-1 (K <= 1000), or text
                     (np.array(["cat", "dog", ...])): the classes are then the labels in sorted
                     order, or in class_names' order when it is given.
    ``class_names``  optional unicode string array of length K (not an object array).
    ``x_test``, ``y_test``  optional; otherwise 20% of the examples (stratified, seeded)
                     are split off as the test set.
    ``x_train``, ``y_train``  the same as ``x`` and ``y`` (Keras's layout:
                     np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)).

Members are parsed from their ``.npy`` headers first: object dtypes, malformed headers,
absurd shapes and data larger than ``max_bytes`` are refused before anything is allocated,
and the bytes actually inflated are counted (a zip bomb cannot produce more than declared).
Nothing is ever unpickled.
"""

from __future__ import annotations

import math
import os
import re
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as npformat

from .base import Dataset, DatasetError
from .idx import read_idx

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
MAX_CLASSES = 1000
MAX_SIDE = 512
MAX_MEMBERS = 16
KNOWN_MEMBERS = ("x", "y", "x_train", "y_train", "class_names", "x_test", "y_test")
_CHUNK = 1 << 20


# ----------------------------------------------------------------------------- npz


def read_npy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int) -> np.ndarray:
    """Read one ``.npy`` member safely (header first, bounded and counted inflation; never unpickles)."""
    label = info.filename
    if info.flag_bits & 0x1:
        raise DatasetError(f"{label}: encrypted archive members are not supported")
    if info.file_size > max_bytes + 65536:
        raise DatasetError(f"{label}: declares {info.file_size:,} bytes, more than the {max_bytes:,}-byte limit")
    try:
        with zf.open(info) as f:
            try:
                version = npformat.read_magic(f)
            except ValueError as exc:
                raise DatasetError(f"{label}: not a valid .npy array ({exc})") from None
            try:
                if version == (1, 0):
                    shape, fortran, dtype = npformat.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = npformat.read_array_header_2_0(f)
                else:
                    raise DatasetError(f"{label}: unsupported .npy format version {version}")
            except DatasetError:
                raise
            except (ValueError, SyntaxError, TypeError, tokenize.TokenError) as exc:
                raise DatasetError(f"{label}: malformed .npy header ({exc})") from None
            if dtype.hasobject or dtype.kind not in "biufU" or dtype.fields is not None or dtype.subdtype is not None:
                raise DatasetError(
                    f"{label}: dtype {dtype} is not allowed (object/pickled, structured or unusual arrays "
                    "are refused); save plain numeric arrays, and class_names as a unicode array "
                    "(np.array(names, dtype=str))"
                )
            if len(shape) > 4 or any((not isinstance(d, int)) or d < 0 or d > 2**40 for d in shape):
                raise DatasetError(f"{label}: unreasonable array shape {shape}")
            nbytes = dtype.itemsize
            for d in shape:
                nbytes *= d
            if nbytes > max_bytes:
                raise DatasetError(
                    f"{label}: shape {shape} of {dtype} needs {nbytes:,} bytes, more than the {max_bytes:,}-byte limit"
                )
            if math.prod(max(d, 1) for d in shape) > max(max_bytes, 1):  # (0, 2**40, 2**40): empty, still absurd
                raise DatasetError(f"{label}: unreasonable array shape {shape}")
            header_len = f.tell()
            if info.file_size != header_len + nbytes:
                raise DatasetError(
                    f"{label}: header declares {nbytes:,} data bytes but the member holds "
                    f"{info.file_size - header_len:,}; the file is truncated or forged"
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
            if got != nbytes or f.read(1):
                raise DatasetError(f"{label}: data size does not match its header; the file is corrupt")
    except DatasetError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise DatasetError(f"{label}: cannot read ({exc}); the archive is damaged") from exc
    arr = np.frombuffer(buf, dtype=dtype)
    if shape:
        arr = arr.reshape(shape[::-1]).transpose() if fortran else arr.reshape(shape)
    else:
        arr = arr.reshape(())
    return arr


def read_npz_arrays(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, np.ndarray]:
    """Read the known members of an ``.npz`` file with all safety checks."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"file {str(path)!r} does not exist")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise DatasetError(
            f"{path.name}: not a valid .npz file (it must be a zip archive written by np.savez)"
        ) from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise DatasetError(f"{path.name}: too many members ({len(infos)}); expected {', '.join(KNOWN_MEMBERS)}")
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise DatasetError(f"{path.name}: duplicate member names")
        total_declared = sum(i.file_size for i in infos)
        if total_declared > max_bytes + 65536 * len(infos):
            raise DatasetError(
                f"{path.name}: declares {total_declared:,} uncompressed bytes, more than the {max_bytes:,}-byte limit"
            )
        out: dict[str, np.ndarray] = {}
        budget = max_bytes
        for info in infos:
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if key not in KNOWN_MEMBERS:
                continue  # unknown members are ignored (never read)
            arr = read_npy_member(zf, info, budget)
            budget -= arr.nbytes
            out[key] = arr
    return out


def _to_nchw(x: np.ndarray, label: str) -> np.ndarray:
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        if x.shape[1] in (1, 3) and x.shape[3] not in (1, 3):
            return x
        if x.shape[3] in (1, 3):
            return x.transpose(0, 3, 1, 2)
        if x.shape[1] in (1, 3):
            return x
        raise DatasetError(
            f"{label}: cannot tell the channel axis of shape {x.shape}; use (N, H, W), (N, H, W, C) "
            "or (N, C, H, W) with C = 1 (grey) or 3 (RGB)"
        )
    raise DatasetError(f"{label}: images must have shape (N, H, W), (N, H, W, C) or (N, C, H, W), got {x.shape}")


def images_to_uint8(x: np.ndarray, label: str = "x") -> np.ndarray:
    """Validate and convert an image array to uint8 NCHW (see the module doc for scaling)."""
    if x.dtype.kind not in "biuf":
        raise DatasetError(f"{label}: images must be numeric, got dtype {x.dtype}")
    x = _to_nchw(x, label)
    n, _c, h, w = x.shape
    if n < 1:
        raise DatasetError(f"{label}: no images")
    if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise DatasetError(f"{label}: images must be between 1 and {MAX_SIDE} pixels on a side, got {h}x{w}")
    if x.dtype == np.uint8:
        return np.ascontiguousarray(x)
    if x.dtype.kind == "b":
        return np.ascontiguousarray(x.astype(np.uint8) * 255)
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DatasetError(f"{label}: images contain NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 255:
        raise DatasetError(f"{label}: pixel values must be in [0, 1] or [0, 255], found {lo:g}..{hi:g}")
    if x.dtype.kind == "f" and hi <= 1.0:
        x = x * 255.0
    return np.ascontiguousarray(np.rint(x).astype(np.uint8))


def labels_to_int64(y: np.ndarray, n: int, label: str = "y") -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:  # a column, as Keras's CIFAR-10 gives
        y = y[:, 0]
    if y.ndim != 1:
        raise DatasetError(f"{label}: labels must be a 1-D array, got shape {y.shape}")
    if len(y) != n:
        raise DatasetError(f"{label}: {len(y)} labels for {n} images; there must be one label per image")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or (y != np.round(y)).any():
            raise DatasetError(f"{label}: labels must be whole numbers (class indices 0..K-1)")
    elif y.dtype.kind not in "iub":
        raise DatasetError(f"{label}: labels must be integers 0..K-1 or text, got dtype {y.dtype}")
    y64 = y.astype(np.int64)
    if y64.size and y64.min() < 0:
        raise DatasetError(f"{label}: negative label {int(y64.min())}; labels must be 0..K-1")
    return y64


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): ``round(len(y) * fraction)`` examples go to test, spread over the
    classes in proportion to their sizes (seeded)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    key = np.empty(n, dtype=np.float64)
    for c in np.unique(y):
        idx = np.nonzero(y == c)[0]
        # a random rank within the class, scaled to [0, 1): taking the smallest keys picks
        # the same fraction of every class
        key[idx] = (rng.permutation(len(idx)) + rng.random(len(idx))) / len(idx)
    k = int(round(n * fraction))
    order = np.argsort(key, kind="stable")
    return np.sort(order[k:]), np.sort(order[:k])


def build_dataset(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    class_names: list[str] | None = None,
    *,
    kind: str = "images",
    source: str = "file",
    seed: int = 0,
    test_fraction: float = 0.2,
    description: str = "",
) -> Dataset:
    """Validate user arrays (already uint8 NCHW / int64) and build a :class:`Dataset`."""
    labels = [y] if x_test is None else [y, y_test]
    k_seen = max(int(a.max()) + 1 if a.size else 0 for a in labels)
    if class_names is not None:
        k = len(class_names)
        if k_seen > k:
            raise DatasetError(
                f"labels go up to {k_seen - 1} but only {k} class names are given; labels must be 0..{k - 1}"
            )
    else:
        k = k_seen
    if k > MAX_CLASSES:  # before naming them: a label of 10**12 must not make 10**12 names
        raise DatasetError(
            f"{k} classes is more than the {MAX_CLASSES} allowed; labels must be 0..K-1 with K <= {MAX_CLASSES}"
        )
    if class_names is None:
        class_names = [str(i) for i in range(k)]
    if k < 2:
        raise DatasetError("a classification dataset needs at least 2 classes")
    if len(set(class_names)) != len(class_names) or any(not str(c).strip() for c in class_names):
        raise DatasetError("class names must be unique and non-empty")
    if x_test is None:
        tr, te = stratified_split(y, test_fraction, seed)
        x_train, y_train, x_te, y_te = x[tr], y[tr], x[te], y[te]
    else:
        if x_test.shape[1:] != x.shape[1:]:
            raise DatasetError(f"x_test images {x_test.shape[1:]} differ in shape from x {x.shape[1:]}")
        x_train, y_train, x_te, y_te = x, y, x_test, y_test
    return Dataset.from_arrays(
        name,
        list(class_names),
        np.ascontiguousarray(x_train),
        y_train,
        np.ascontiguousarray(x_te),
        y_te,
        kind=kind,
        source=source,
        description=description,
    )


def load_npz(
    path: str | os.PathLike,
    *,
    name: str | None = None,
    seed: int = 0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    kind: str = "images",
) -> Dataset:
    """Load and validate a user ``.npz`` dataset (see the module docstring for the format)."""
    path = Path(path)
    arrays = read_npz_arrays(path, max_bytes=max_bytes)
    label = path.name
    if {"x", "y"} & set(arrays) and {"x_train", "y_train"} & set(arrays):
        raise DatasetError(f"{label}: give the training examples either as x and y or as x_train and y_train, not both")
    x_key, y_key = ("x_train", "y_train") if {"x_train", "y_train"} & set(arrays) else ("x", "y")
    for req in (x_key, y_key):
        if req not in arrays:
            raise DatasetError(
                f"{label}: missing array {req!r}; save with np.savez(path, x=images, y=labels) "
                "or np.savez(path, x_train=images, y_train=labels)"
            )
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DatasetError(f"{label}: give both x_test and y_test, or neither")
    class_names = None
    if "class_names" in arrays:
        cn = arrays["class_names"]
        if cn.dtype.kind != "U" or cn.ndim != 1:
            raise DatasetError(f"{label}: class_names must be a 1-D unicode array, e.g. np.array(['cat', 'dog'])")
        class_names = _text(cn, f"{label}: class_names")
    labels = {key: arrays[key] for key in (y_key, "y_test") if key in arrays}
    if any(y.dtype.kind == "U" for y in labels.values()):
        labels, class_names = _text_labels_to_indices(labels, class_names, label)
    x = images_to_uint8(arrays[x_key], f"{label}: {x_key}")
    y = labels_to_int64(labels[y_key], len(x), f"{label}: {y_key}")
    x_test = y_test = None
    if "x_test" in arrays:
        x_test = images_to_uint8(arrays["x_test"], f"{label}: x_test")
        y_test = labels_to_int64(labels["y_test"], len(x_test), f"{label}: y_test")
    return build_dataset(
        name or path.stem,
        x,
        y,
        x_test,
        y_test,
        class_names,
        kind=kind,
        source="file",
        seed=seed,
        description=f"user dataset from {path.name}",
    )


def _text(a: np.ndarray, label: str) -> list[str]:
    """A unicode array as Python strings, refusing code points numpy would turn into broken str."""
    codes = np.frombuffer(np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes(), "<u4")
    if ((codes > 0x10FFFF) | ((codes >= 0xD800) & (codes <= 0xDFFF))).any():
        raise DatasetError(
            f"{label} holds characters that are not valid text (code points past U+10FFFF or lone surrogates)"
        )
    return [str(s) for s in a.ravel()]


def _text_labels_to_indices(
    labels: dict[str, np.ndarray], class_names: list[str] | None, label: str
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Text labels as class indices: in class_names' order when given, else in sorted order."""
    if not all(y.dtype.kind == "U" for y in labels.values()):
        raise DatasetError(
            f"{label}: {' and '.join(labels)} must both be text labels or both integers, not one of each"
        )
    uniques = {key: np.unique(y, return_inverse=True) for key, y in labels.items()}
    if class_names is None:
        class_names = sorted(set().union(*(_text(u, f"{label}: {key}") for key, (u, _) in uniques.items())))
        if len(class_names) > MAX_CLASSES:
            raise DatasetError(f"{label}: {len(class_names)} different labels, more than the {MAX_CLASSES} allowed")
    index = {name: i for i, name in enumerate(class_names)}
    out = {}
    for key, (u, inverse) in uniques.items():
        names = _text(u, f"{label}: {key}")
        unknown = [name for name in names if name not in index]
        if unknown:
            raise DatasetError(
                f"{label}: label {unknown[0]!r} in {key} is not among class_names; class_names must name every label"
            )
        out[key] = np.array([index[name] for name in names], dtype=np.int64)[inverse.reshape(labels[key].shape)]
    return out, class_names


# ----------------------------------------------------------------------------- IDX pairs

_IMAGES_RE = re.compile(r"^(?P<prefix>.*)-images[.-]idx3-ubyte(?P<gz>\.gz)?$")


def label_file_for(images: Path) -> Path | None:
    """The label file beside an IDX image file (``X-images-idx3-ubyte[.gz]`` -> ``X-labels-idx1-ubyte[.gz]``)."""
    m = _IMAGES_RE.match(images.name)
    if not m:
        return None
    prefix = m.group("prefix")
    sep = images.name[len(prefix) + len("-images")]
    for gz in (m.group("gz") or "", ".gz", ""):
        cand = images.with_name(f"{prefix}-labels{sep}idx1-ubyte{gz}")
        if cand.is_file():
            return cand
    return None


def read_idx_pair(images: Path, labels: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Read and check an IDX image file (N, H, W) and its label file (N,)."""
    x = read_idx(images, max_bytes=max_bytes)
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4:
        x = _to_nchw(x, images.name)
    else:
        raise DatasetError(f"{images.name}: expected images of shape (N, H, W), got {x.shape}")
    yl = read_idx(labels, max_bytes=max_bytes)
    x = images_to_uint8(x, images.name)
    y = labels_to_int64(yl, len(x), labels.name)
    return x, y


def find_idx_pairs(folder: Path) -> dict[str, tuple[Path, Path]]:
    """``{prefix: (images, labels)}`` for every IDX image file in ``folder`` with its label file."""
    pairs: dict[str, tuple[Path, Path]] = {}
    for p in sorted(folder.iterdir()):
        m = _IMAGES_RE.match(p.name)
        if m and p.is_file():
            lab = label_file_for(p)
            if lab is not None and m.group("prefix") not in pairs:
                pairs[m.group("prefix")] = (p, lab)
    return pairs


def is_test_prefix(prefix: str) -> bool:
    return prefix.lower() in ("t10k", "test") or prefix.lower().endswith(("t10k", "test"))
