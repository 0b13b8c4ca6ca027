"""Datasets for CNN Playground: generated, downloaded (MNIST, Fashion-MNIST, CIFAR-10) and user files.

Typical use::

    from engine.data import load_dataset, Augment
    ds = load_dataset("strokes")            # generated, no network needed
    rng = np.random.default_rng(0)
    for xb, yb in ds.batches(ds.x_train, ds.y_train, 64, rng, augment=Augment(shift=2)):
        ...

``load_dataset`` accepts a built-in name (``shapes``, ``strokes``, their ``-hard`` variants
made to overfit, ``mnist``, ``fashion-mnist``, ``cifar10``) or a path: an ``.npz`` file, an
IDX image file (``*-images-idx3-ubyte[.gz]`` with its ``*-labels-idx1-ubyte[.gz]`` beside it)
or a folder holding IDX pairs (``train-*`` and ``t10k-*``; a folder with only the ``t10k``
pair gives a *test-only* dataset: empty train split, everything in the test split, stats from
the test split).
"""

from __future__ import annotations

import os
import tarfile
import threading
from pathlib import Path

import numpy as np

from . import builtin as _builtin
from . import cifar as _cifar
from . import download as _download
from .augment import Augment
from .base import Dataset, DatasetError, channel_stats
from .download import ENV_VAR, MIRRORS, ProgressBar, data_root
from .idx import read_idx, write_idx
from .userfile import build_dataset, find_idx_pairs, is_test_prefix, label_file_for, load_npz, read_idx_pair

__all__ = [
    "ENV_VAR",
    "MIRRORS",
    "Augment",
    "Dataset",
    "DatasetError",
    "ProgressBar",
    "builtin_names",
    "channel_stats",
    "data_root",
    "list_datasets",
    "load_dataset",
    "load_npz",
    "read_idx",
    "write_idx",
]

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

#: Datasets that are downloaded on first use.
REAL: dict[str, dict] = {
    "mnist": {
        "title": "MNIST",
        "class_names": [str(i) for i in range(10)],
        "shape": (1, 28, 28),
        "kind": "digits",
        "train_size": 60000,
        "test_size": 10000,
        "description": "Handwritten digits 0-9 (LeCun et al.), 28x28 greyscale.",
    },
    "fashion-mnist": {
        "title": "Fashion-MNIST",
        "class_names": FASHION_CLASSES,
        "shape": (1, 28, 28),
        "kind": "images",
        "train_size": 60000,
        "test_size": 10000,
        "description": "Zalando clothing images in 10 classes, 28x28 greyscale.",
    },
    "cifar10": {
        "title": "CIFAR-10",
        "class_names": _cifar.CLASS_NAMES,
        "shape": (3, 32, 32),
        "kind": "images",
        "train_size": 50000,
        "test_size": 10000,
        "description": "Small colour photos of 10 object classes, 32x32 RGB.",
    },
}
_ALIASES = {
    "fashion": "fashion-mnist",
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "cifar-10": "cifar10",
    "cifar": "cifar10",
}

_cache: dict[tuple, Dataset] = {}
_cache_lock = threading.Lock()


def builtin_names() -> list[str]:
    """Names accepted by :func:`load_dataset` without a path: generated first, then downloadable."""
    return list(_builtin.GENERATORS) + list(REAL)


def _canonical(name: str) -> str:
    key = name.strip().lower()
    return _ALIASES.get(key, key)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


# ----------------------------------------------------------------------------- generated


def _load_generated(name: str, seed: int, n: int | None) -> Dataset:
    n_train, n_test = _builtin.default_sizes(name)
    if n is not None:
        n_train, n_test = int(n), max(1, int(n) // 5)
    if n_train < 1 or n_train > 200_000:
        raise DatasetError("n (number of training examples) must be between 1 and 200000")
    key = ("gen", name, int(seed), n_train, n_test)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    info = _builtin.GENERATORS[name]
    xtr, ytr = _builtin.generate(name, n_train, seed, "train")
    xte, yte = _builtin.generate(name, n_test, seed, "test")
    ds = Dataset.from_arrays(
        name,
        info["class_names"],
        _readonly(xtr),
        _readonly(ytr),
        _readonly(xte),
        _readonly(yte),
        kind=info["kind"],
        source="generated",
        description=info["description"],
        meta={"seed": int(seed)},
    )
    with _cache_lock:
        if len(_cache) > 8:
            _cache.clear()
        _cache[key] = ds
    return ds


# ----------------------------------------------------------------------------- real data


def _find_file(folder: Path, filename: str) -> Path | None:
    """The file, or its uncompressed twin (``x.gz`` -> ``x``), if present in folder."""
    p = folder / filename
    if p.is_file():
        return p
    if filename.endswith(".gz") and (folder / filename[:-3]).is_file():
        return folder / filename[:-3]
    return None


def _check_md5(path: Path, rf: _download.RemoteFile) -> None:
    if path.name != rf.filename:
        return  # an uncompressed copy: no published checksum, the IDX reader validates it
    got = _download.md5_file(path)
    if got != rf.md5:
        raise DatasetError(
            f"{path} has md5 {got} but the published checksum is {rf.md5}; the file is corrupt or "
            f"not the official one: delete it and load again to download a fresh copy"
        )


def _ensure_files(name: str, folder: Path, keys: list[str], download: bool, progress, base_url) -> dict[str, Path]:
    spec = _download.FILES[name]
    missing = [spec[k] for k in keys if _find_file(folder, spec[k].filename) is None]
    if missing:
        if not download:
            raise DatasetError(_download.offline_message(name, folder, missing, "downloads are disabled"))
        try:
            _download.fetch(name, folder, missing, base_url=base_url, progress=progress)
        except DatasetError as exc:
            raise DatasetError(_download.offline_message(name, folder, missing, f"download failed: {exc}")) from exc
    found = {}
    for k in keys:
        p = _find_file(folder, spec[k].filename)
        assert p is not None
        _check_md5(p, spec[k])
        found[k] = p
    return found


def _load_idx_dataset(name: str, folder: Path, download: bool, progress, base_url) -> Dataset:
    files = _ensure_files(
        name, folder, ["train_images", "train_labels", "test_images", "test_labels"], download, progress, base_url
    )
    xtr, ytr = read_idx_pair(files["train_images"], files["train_labels"])
    xte, yte = read_idx_pair(files["test_images"], files["test_labels"])
    info = REAL[name]
    for lab, y in (("train", ytr), ("test", yte)):
        if y.size and y.max() >= len(info["class_names"]):
            raise DatasetError(f"{name} {lab} labels go beyond {len(info['class_names']) - 1}; the files are corrupt")
    return Dataset.from_arrays(
        name,
        info["class_names"],
        xtr,
        ytr,
        xte,
        yte,
        kind=info["kind"],
        source="download",
        description=info["description"],
        meta={"folder": str(folder)},
    )


def _extract_cifar(archive: Path, target: Path) -> None:
    """Pull the batch files out of the (md5-checked) archive by their known names, in memory."""
    wanted = {f"{_download.CIFAR_DIR}/{b}" for b in _download.CIFAR_BATCH_MD5}
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name not in wanted:
                    continue
                if not member.isfile() or member.size > _cifar.MAX_BATCH_BYTES:
                    raise DatasetError(f"{archive.name}: unexpected entry {member.name}")
                fobj = tar.extractfile(member)
                data = fobj.read() if fobj is not None else b""
                base = member.name.rsplit("/", 1)[1]
                tmp = target / f".{base}.part"
                tmp.write_bytes(data)
                os.replace(tmp, target / base)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetError(f"{archive}: cannot read the CIFAR-10 archive ({exc}); delete it and load again") from exc


def _load_cifar(folder: Path, download: bool, progress, base_url) -> Dataset:
    batch_dir = folder / _download.CIFAR_DIR
    have_batches = all((batch_dir / b).is_file() for b in _download.CIFAR_BATCH_MD5)
    if not have_batches:
        files = _ensure_files("cifar10", folder, ["archive"], download, progress, base_url)
        _extract_cifar(files["archive"], batch_dir)
    parts = []
    for b in _cifar.TRAIN_BATCHES + [_cifar.TEST_BATCH]:
        parts.append(_cifar.read_batch(batch_dir / b, md5=_download.CIFAR_BATCH_MD5[b]))
    xtr = np.concatenate([p[0] for p in parts[:-1]])
    ytr = np.concatenate([p[1] for p in parts[:-1]])
    xte, yte = parts[-1]
    info = REAL["cifar10"]
    return Dataset.from_arrays(
        "cifar10",
        info["class_names"],
        xtr,
        ytr,
        xte,
        yte,
        kind="images",
        source="download",
        description=info["description"],
        meta={"folder": str(folder)},
    )


def _subsample(ds: Dataset, n: int | None, seed: int) -> Dataset:
    if n is None or n >= len(ds.x_train):
        return ds
    if n < 1:
        raise DatasetError("n must be at least 1")
    idx = np.sort(np.random.default_rng(seed).permutation(len(ds.x_train))[: int(n)])
    return Dataset.from_arrays(
        ds.name,
        ds.class_names,
        ds.x_train[idx],
        ds.y_train[idx],
        ds.x_test,
        ds.y_test,
        kind=ds.kind,
        source=ds.source,
        description=ds.description,
        meta=ds.meta,
    )


# ----------------------------------------------------------------------------- paths


def _load_path(path: Path, seed: int) -> Dataset:
    if path.is_dir():
        pairs = find_idx_pairs(path)
        known = REAL.get(_canonical(path.name))
        if known is not None and known["shape"][0] != 1:
            known = None
        name = _canonical(path.name) if known else path.name
        kind = known["kind"] if known else "images"
        class_names = known["class_names"] if known else None
        if not pairs:
            raise DatasetError(
                f"{path} holds no IDX image/label pair; expected files like train-images-idx3-ubyte.gz "
                "with train-labels-idx1-ubyte.gz (and t10k-... for the test split)"
            )
        train = [p for k, p in pairs.items() if not is_test_prefix(k)]
        test = [p for k, p in pairs.items() if is_test_prefix(k)]
        if len(train) > 1 or len(test) > 1:
            raise DatasetError(f"{path} holds several IDX pairs ({', '.join(pairs)}); keep one train and one test pair")
        if train and test:
            xtr, ytr = read_idx_pair(*train[0])
            xte, yte = read_idx_pair(*test[0])
            return build_dataset(
                name, xtr, ytr, xte, yte, class_names, kind=kind, source="file", description=f"IDX files from {path}"
            )
        if test:
            # test-only: everything goes to the test split (e.g. /work/shared/datasets/mnist)
            return _test_only(name, *read_idx_pair(*test[0]), class_names, kind, path)
        x, y = read_idx_pair(*train[0])
        return build_dataset(
            name,
            x,
            y,
            None,
            None,
            class_names,
            kind=kind,
            source="file",
            seed=seed,
            description=f"IDX files from {path} (20% split off as test)",
        )
    if path.suffix == ".npz":
        return load_npz(path, seed=seed)
    if "idx3-ubyte" in path.name:
        labels = label_file_for(path)
        if labels is None:
            raise DatasetError(
                f"no label file beside {path.name}: put the matching ...-labels-idx1-ubyte[.gz] file in the same folder"
            )
        x, y = read_idx_pair(path, labels)
        prefix = path.name.split("-images")[0]
        if is_test_prefix(prefix):  # a test file alone is a test split, as in a folder holding only it
            return _test_only(prefix, x, y, None, "images", path)
        return build_dataset(
            prefix,
            x,
            y,
            None,
            None,
            None,
            source="file",
            seed=seed,
            description=f"IDX files {path.name} (20% split off as test)",
        )
    raise DatasetError(
        f"don't know how to load {path.name}: use a .npz file, an IDX image file (*-images-idx3-ubyte[.gz]) "
        "or a folder of IDX files"
    )


def _test_only(name, xte, yte, class_names, kind, path) -> Dataset:
    """Everything in the test split, an empty train split (statistics from the test split)."""
    ds = build_dataset(
        name,
        xte[:0],
        yte[:0],
        xte,
        yte,
        class_names or _default_names(yte),
        kind=kind,
        source="file",
        description=f"test split only, from {path}",
    )
    ds.meta["test_only"] = True
    return ds


def _default_names(y: np.ndarray) -> list[str]:
    return [str(i) for i in range(max(2, int(y.max()) + 1 if y.size else 2))]


# ----------------------------------------------------------------------------- public


def load_dataset(
    name_or_path: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    download: bool = True,
    progress=None,
    seed: int = 0,
    n: int | None = None,
    base_url: str | None = None,
) -> Dataset:
    """Load a dataset by name or path.

    name_or_path: ``shapes``, ``strokes``, ``shapes-hard``, ``strokes-hard`` (generated from
        ``seed``; the ``-hard`` ones have fewer training examples, 15% of them mislabelled),
        ``mnist``, ``fashion-mnist``, ``cifar10`` (downloaded into ``<root>/<name>/`` on first
        use), or a path (see the package docstring).
    root: data directory (default: ``$CNN_PLAYGROUND_DATASETS`` or ``~/.cache/cnn-playground/datasets``).
    download: allow downloading missing files; otherwise a missing file raises
        :class:`DatasetError` naming the files and the folder to put them in.
    progress: ``progress(filename, bytes_done, bytes_total_or_None)`` during downloads
        (e.g. :class:`ProgressBar`).
    seed: generator seed for built-ins, and seed of subsampling / test splitting.
    n: number of training examples (generated: train size, test size is n // 5; real and
        user data: a seeded random subset of the train split, the test split is kept whole).
    base_url: download from this base URL instead of :data:`MIRRORS`.
    """
    raw = os.fspath(name_or_path)
    key = _canonical(raw)
    if key in _builtin.GENERATORS:
        return _load_generated(key, seed, n)
    if key in REAL:
        folder = data_root(root) / key
        if key == "cifar10":
            ds = _load_cifar(folder, download, progress, base_url)
        else:
            ds = _load_idx_dataset(key, folder, download, progress, base_url)
        return _subsample(ds, n, seed)
    path = Path(raw).expanduser()
    if path.exists():
        return _subsample(_load_path(path, seed), n, seed)
    raise DatasetError(
        f"unknown dataset {raw!r}: use one of {', '.join(builtin_names())} or the path of an existing "
        ".npz file, IDX file or folder"
    )


def _is_cached(name: str, folder: Path) -> bool:
    if name == "cifar10" and all((folder / _download.CIFAR_DIR / b).is_file() for b in _download.CIFAR_BATCH_MD5):
        return True
    return all(_find_file(folder, rf.filename) is not None for rf in _download.FILES[name].values())


def list_datasets(root: str | os.PathLike | None = None) -> list[dict]:
    """Describe every built-in dataset (no loading, no network)."""
    out = []
    for name, info in _builtin.GENERATORS.items():
        n_train, n_test = _builtin.default_sizes(name)
        out.append(
            {
                "name": name,
                "title": info["title"],
                "source": "generated",
                "kind": info["kind"],
                "shape": list(info["shape"]),
                "num_classes": len(info["class_names"]),
                "class_names": list(info["class_names"]),
                "train_size": n_train,
                "test_size": n_test,
                "cached": True,
                "download_bytes": 0,
                "description": info["description"],
            }
        )
    base = data_root(root)
    for name, info in REAL.items():
        out.append(
            {
                "name": name,
                "title": info["title"],
                "source": "download",
                "kind": info["kind"],
                "shape": list(info["shape"]),
                "num_classes": len(info["class_names"]),
                "class_names": list(info["class_names"]),
                "train_size": info["train_size"],
                "test_size": info["test_size"],
                "cached": _is_cached(name, base / name),
                "download_bytes": sum(rf.size for rf in _download.FILES[name].values()),
                "description": info["description"],
                "folder": str(base / name),
            }
        )
    return out
