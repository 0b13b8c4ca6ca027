"""Datasets: the built-in ones from the engine, and uploads kept as files with a database row.

Built-ins are generated (``shapes``, ``strokes``) or downloaded on first use
(MNIST, Fashion-MNIST, CIFAR-10) into ``<data_dir>/downloads`` (or
``$CNN_PLAYGROUND_DATASETS`` when set). Uploads (.npz arrays or a .zip with one
folder of images per class) are validated and decoded by the engine, then
stored in one canonical form: an .npz with ``x_train``, ``y_train``,
``x_test``, ``y_test`` (uint8 NCHW / int64) and ``class_names`` (a unicode
array), named by an id the server makes and read back with
``allow_pickle=False``. The file is written first (atomically), then the row;
if the row cannot be written the file is removed, so nothing half-imported
stays.

Loaded datasets are kept in a small thread-safe LRU cache: generating a
built-in takes about a second and reading a large upload longer.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

import engine.data as edata
from engine.data import Dataset, DatasetError

from .. import access
from ..db import Database, IntegrityError
from ..errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from ..files import FileStore, new_id
from ..imagefolder import load_image_folder_zip
from ..settings import Settings

ACCEPTED = {
    ".npz": "NumPy arrays saved with np.savez (x, y; optional class_names, x_test, y_test; "
    "or x_train, y_train, x_test, y_test as Keras names them)",
    ".zip": "a zip with one folder of PNG/JPEG images per class, or of IDX files",
    "IDX": "train-images-idx3-ubyte[.gz] with train-labels-idx1-ubyte[.gz] as two 'file' fields "
    "(and t10k-... for the test split)",
}
MAX_SAMPLES = 256
NAME_MAX = 64
_NAME = re.compile(rf"[^\W_][\w .-]{{0,{NAME_MAX - 1}}}")
_NOT_NAME = re.compile(r"[^\w .-]+")
_ALIASES = getattr(edata, "_ALIASES", {})
log = logging.getLogger("uvicorn.error")
# where a teacher finds how to give the server files they already have
README_HINT = "the README says how to use files you already have (CNN_PLAYGROUND_DATASETS)"


_IDX_NAME = re.compile(r"-(images|labels)[.-]idx[13]-ubyte(\.gz)?$")


def is_idx_name(name: str, labels: bool = False) -> bool:
    """An IDX image file's name (or, with labels, an image or label file's)."""
    m = _IDX_NAME.search(name)
    return m is not None and (labels or m.group(1) == "images")


def sniff(path: Path) -> str | None:
    """What an upload holds, from its bytes: '.npz' (a zip of .npy arrays), 'idx' (a zip of IDX
    files), '.zip' (class folders of images) or None (not a zip at all)."""
    with open(path, "rb") as f:
        if f.read(2) != b"PK":
            return None
    try:
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if not n.endswith("/")]
    # a forged or broken zip fails in many ways: the reader for its name says how
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        return "unread"
    if names and all(n.endswith(".npy") for n in names):
        return ".npz"
    if any(is_idx_name(n.rsplit("/", 1)[-1]) for n in names):
        return "idx"
    return ".zip"


def accepted_types() -> str:
    return "; ".join(f"{ext}: {what}" for ext, what in ACCEPTED.items())


def check_name(name: str) -> str:
    """A display name: 1-64 letters, digits, spaces, '-', '_' or '.', starting with a letter or digit."""
    if not isinstance(name, str):
        raise Invalid("the dataset name must be a string")
    stripped = name.strip()
    if not _NAME.fullmatch(stripped):
        raise Invalid(
            f"the dataset name {name[:80]!r} is not allowed: use 1-{NAME_MAX} letters, digits, spaces, "
            "'-', '_' or '.', starting with a letter or digit"
        )
    return stripped


def name_from_filename(filename: str) -> str:
    """A display name from an uploaded file's name: its stem, with anything not allowed replaced."""
    base = re.split(r"[\\/]", filename or "")[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _NOT_NAME.sub("_", stem)
    stem = re.sub(r"^[\W_]+", "", stem)[:NAME_MAX].rstrip()
    return stem or "dataset"


def _png(a: np.ndarray) -> str:
    """An (H, W) or (H, W, 3) uint8 array as a PNG data URL."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(buf, format="PNG", optimize=False, compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _image_png(img: np.ndarray) -> str:
    """One (C, H, W) uint8 image as a PNG: greyscale for C == 1, RGB for C == 3."""
    if img.shape[0] == 1:
        return _png(img[0])
    if img.shape[0] == 3:
        return _png(img.transpose(1, 2, 0))
    return _png(img.mean(axis=0).astype(np.uint8))


class DatasetService:
    def __init__(self, settings: Settings, db: Database, files: FileStore, cache_size: int = 4):
        self.settings, self.db, self.files = settings, db, files
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, Dataset] = OrderedDict()
        self._lock = threading.Lock()  # the cache and the key locks
        self._key_locks: dict[tuple, threading.Lock] = {}
        self._names = threading.Lock()  # name check + insert, name check + delete
        #: set by the app: True while a run uses the dataset (then it cannot be deleted)
        self.policy = access.OpenPolicy()  # the classroom's locks, once it is wired in
        self.is_in_use: Callable[[str], bool] = lambda _: False

    # ---- where things are ---------------------------------------------------------
    def download_root(self) -> Path:
        """Where downloaded datasets live: $CNN_PLAYGROUND_DATASETS, else <data_dir>/downloads."""
        env = os.environ.get(edata.ENV_VAR)
        return Path(env).expanduser() if env else self.settings.data_dir / "downloads"

    @staticmethod
    def builtin(name: str) -> str | None:
        """The canonical built-in name for name (aliases too), or None."""
        if not isinstance(name, str):
            return None
        key = name.strip().lower()
        key = _ALIASES.get(key, key)
        return key if key in edata.builtin_names() else None

    # ---- listing --------------------------------------------------------------------
    def list(self) -> list[dict]:
        out = []
        for d in edata.list_datasets(self.download_root()):
            d = dict(d)
            d.pop("folder", None)  # a path on the server; `cnn-playground datasets --json` shows it
            d["deletable"] = False
            if d["source"] == "download":
                d["downloadable"] = not self.settings.offline
                d["how_to_get"] = None if d["cached"] else self._how_to_get(d)
            out.append(d)
        for row in self.db.datasets():
            if access.shared_or_mine(row["student_id"]):  # the teacher's uploads are the class's
                out.append(self._public(row))
        return out

    def _how_to_get(self, d: dict) -> str:
        """One sentence on getting a dataset that is not downloaded."""
        if self.settings.offline:
            return f"Not downloaded, and this server works offline: {README_HINT}."
        mb = d["download_bytes"] / 1e6
        return f"Not downloaded yet: Download fetches it ({mb:,.0f} MB, over the internet); {README_HINT}."

    @staticmethod
    def _public(row: dict) -> dict:
        info = row["info"]
        return {
            "name": row["name"],
            "title": info.get("title", row["name"]),
            "source": "upload",
            "kind": info["kind"],
            "shape": info["shape"],
            "num_classes": len(info["class_names"]),
            "class_names": info["class_names"],
            "train_size": info["train_size"],
            "test_size": info["test_size"],
            "cached": True,
            "description": info.get("description", ""),
            "deletable": True,
            "filename": info.get("filename"),
            "created": row["created"],
        }

    def get(self, name: str) -> dict:
        """The listing entry of one dataset (built-in or uploaded)."""
        key = self.builtin(name)
        for d in self.list():
            if d["name"] == (key or name):
                return d
        raise NotFound(f"no dataset named {str(name)[:80]!r}")

    # ---- loading ----------------------------------------------------------------------
    def load(self, name: str) -> Dataset:
        """The dataset by name: built-ins (downloaded on first use) or an upload."""
        builtin = self.builtin(name)
        if builtin is not None:
            key = ("builtin", builtin)
            return self._cached(key, lambda: self._load_builtin(builtin))
        row = self.db.dataset(name) if isinstance(name, str) else None
        if row is None or not access.shared_or_mine(row["student_id"]):
            raise NotFound(f"no dataset named {str(name)[:80]!r}; see GET /api/datasets for the list")
        key = ("upload", row["file_id"])
        return self._cached(key, lambda: self._load_upload(row))

    def trained_on(self, name: str, input_shape: list[int]) -> dict:
        """What an export keeps of dataset `name`, which a network taking `input_shape` learnt: its
        name, classes, and the mean and std its inputs were scaled by (Dataset.model_meta); the
        dataset's images must be the network's input."""
        try:
            ds = self.load(name)
        except DatasetError as e:
            raise Invalid(f"dataset: {e}") from None
        if tuple(ds.shape) != tuple(input_shape):
            raise Invalid(
                f"dataset: the images of {name!r} are {list(ds.shape)} but the network takes "
                f"{list(input_shape)}; give the dataset it was trained on"
            )
        return ds.model_meta()

    def _cached(self, key: tuple, make: Callable[[], Dataset]) -> Dataset:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # one loader per dataset; others wait for it
            with self._lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return self._cache[key]
            try:
                ds = make()
            finally:
                with self._lock:
                    self._key_locks.pop(key, None)
            with self._lock:
                self._cache[key] = ds
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            return ds

    def download(self, name: str) -> dict:
        """Download a built-in dataset that is not on disk yet (nothing to do for the others);
        its listing entry."""
        access.require_teacher("download a dataset onto the server")
        self.load(self.builtin(name) or name)
        return self.get(name)

    def _load_builtin(self, name: str) -> Dataset:
        try:
            return edata.load_dataset(name, root=self.download_root(), download=not self.settings.offline)
        except DatasetError as e:
            entry = self.get(name)
            if entry["source"] != "download" or entry["cached"]:
                # files there but broken: the engine says which and why
                raise Invalid(str(e)) from None
            # not there, not downloaded: a sentence for the page, the engine's story for the log
            log.warning("dataset %s could not be loaded: %s", name, e)
            if self.settings.offline:
                raise Invalid(
                    f"{entry['title']} is not downloaded, and this server works offline: {README_HINT}."
                ) from None
            raise Invalid(
                f"{entry['title']} is not downloaded, and the server could not download "
                f"it (is it connected to the internet?): {README_HINT}."
            ) from None

    def _load_upload(self, row: dict) -> Dataset:
        path = self.files.path("datasets", row["file_id"])
        broken = f"the stored file of dataset {row['name']!r} cannot be read"
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in ("x_train", "y_train", "x_test", "y_test", "class_names")}
        except (OSError, KeyError, ValueError, EOFError) as e:
            raise Invalid(f"{broken} ({e}); delete it and upload it again") from None
        for k in ("x_train", "x_test"):
            if arrays[k].dtype != np.uint8 or arrays[k].ndim != 4:
                raise Invalid(f"{broken} ({k} is not uint8 NCHW); delete it and upload it again")
        for k in ("x_train", "y_train", "x_test", "y_test"):
            arrays[k].setflags(write=False)
        info = row["info"]
        try:
            return Dataset.from_arrays(
                row["name"],
                [str(c) for c in arrays["class_names"]],
                arrays["x_train"],
                arrays["y_train"],
                arrays["x_test"],
                arrays["y_test"],
                kind=info.get("kind", "images"),
                source="upload",
                description=info.get("description", ""),
                meta={"file_id": row["file_id"]},
            )
        except DatasetError as e:
            raise Invalid(f"{broken} ({e}); delete it and upload it again") from None

    # ---- samples ----------------------------------------------------------------------
    def samples(self, name: str, split: str = "train", offset: int = 0, n: int = 16, format: str = "png") -> dict:
        """A page of images with their labels, as PNGs or pixel arrays, with per-image facts."""
        if split not in ("train", "test"):
            raise Invalid(f"split must be 'train' or 'test', not {str(split)[:20]!r}")
        if format not in ("png", "array"):
            raise Invalid(f"format must be 'png' or 'array', not {str(format)[:20]!r}")
        if not (1 <= n <= MAX_SAMPLES):
            raise Invalid(f"n must be between 1 and {MAX_SAMPLES}, got {n}")
        ds = self.load(name)
        x = ds.x_train if split == "train" else ds.x_test
        y = ds.y_train if split == "train" else ds.y_test
        total = int(len(x))
        if offset < 0 or (offset >= total and not (offset == 0 and total == 0)):
            last = f"0..{total - 1}" if total else "0 (the split is empty)"
            raise Invalid(
                f"offset {offset} is out of range: the {split} split of {ds.name!r} has {total} images, "
                f"so offset must be in {last}"
            )
        c, h, w = ds.shape
        items = []
        for i in range(offset, min(offset + n, total)):
            img = np.asarray(x[i])
            label = int(y[i])
            item = {
                "index": i,
                "label": label,
                "class_name": ds.class_names[label] if 0 <= label < len(ds.class_names) else str(label),
                "stats": {
                    "width": w,
                    "height": h,
                    "depth": c,
                    "min": int(img.min()),
                    "max": int(img.max()),
                    "mean": round(float(img.mean()), 3),
                },
            }
            if format == "png":
                item["png"] = _image_png(img)
                if c == 3:
                    item["channels"] = [_png(img[k]) for k in range(3)]
            else:
                item["pixels"] = img.tolist()
            items.append(item)
        return {
            "dataset": ds.name,
            "split": split,
            "offset": offset,
            "n": len(items),
            "total": total,
            "class_names": list(ds.class_names),
            "shape": [c, h, w],
            "kind": ds.kind,
            "stats": {
                "width": w,
                "height": h,
                "depth": c,
                "dtype": "uint8",
                "value_range": [0, 255],
                "mean": [float(v) for v in ds.mean],
                "std": [float(v) for v in ds.std],
            },
            "channel_names": ["red", "green", "blue"] if c == 3 else ["grey"],
            "items": items,
        }

    # ---- upload -----------------------------------------------------------------------
    def upload(self, filename: str, fileobj, name: str | None = None, more: list | None = None) -> dict:
        """Validate, decode and store an uploaded .npz, .zip (class folders or IDX files) or IDX pair
        (`more`: the other (filename, fileobj) of the pair); returns its listing entry. The kind is
        read from the content: a file's name only says how to name the dataset."""
        self.policy.view("data")
        base = re.split(r"[\\/]", filename or "")[-1]
        ext = ("." + base.rsplit(".", 1)[1].lower()) if "." in base else ""
        if ext not in ACCEPTED and not is_idx_name(base, labels=True):
            raise Invalid(f"cannot read {base[:80]!r}: accepted file types are {accepted_types()}")
        if name is not None and name.strip() != "":
            display = check_name(name)
            explicit = True
        else:
            display = name_from_filename(base.split("-images")[0] if is_idx_name(base) else base)
            explicit = False
        if explicit:
            self._check_free(display)  # fail fast, before decoding
        tmp = self._spool(fileobj)
        folder = None
        try:
            kind = sniff(tmp)
            if kind == "unread":
                kind = ext if ext in (".npz", ".zip") else ".zip"
            try:
                if more or kind == "idx" or is_idx_name(base):
                    folder = self._idx_folder(tmp, base, more or [], kind)
                    ds = edata.load_dataset(folder)
                    ds.name = display
                    kind = "idx"
                elif kind == ".npz":
                    ds = edata.load_npz(tmp, name=display, max_bytes=self.settings.max_dataset_bytes)
                elif kind == ".zip":
                    ds = load_image_folder_zip(tmp, name=display)
                else:
                    raise Invalid(
                        f"{base[:80]!r} is not a zip archive (an .npz is one too): accepted file "
                        f"types are {accepted_types()}"
                    )
            except DatasetError as e:
                text = str(e).replace(tmp.name, base[:80])
                raise Invalid(text.replace(str(folder), "the upload") if folder else text) from None
        finally:
            tmp.unlink(missing_ok=True)
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        size = ds.x_train.nbytes + ds.x_test.nbytes
        if size > self.settings.max_dataset_bytes:
            raise TooLarge(
                f"the decoded images take {size / 2**20:,.1f} MiB; this server keeps datasets of at most "
                f"{self.settings.max_dataset_bytes / 2**20:,.0f} MiB"
            )
        data = io.BytesIO()
        np.savez(
            data,
            x_train=np.ascontiguousarray(ds.x_train),
            y_train=ds.y_train.astype(np.int64),
            x_test=np.ascontiguousarray(ds.x_test),
            y_test=ds.y_test.astype(np.int64),
            class_names=np.array([str(c) for c in ds.class_names], dtype=str),
        )
        kind = {".npz": "npz arrays", ".zip": "image folders", "idx": "IDX files"}[kind]
        # the engine describes an .npz by its file name, here the spooled temporary one
        about = "" if tmp.name in ds.description or kind == "IDX files" else f": {ds.description}"
        info = {
            "title": display,
            "kind": ds.kind,
            "shape": list(ds.shape),
            "class_names": list(ds.class_names),
            "train_size": int(len(ds.x_train)),
            "test_size": int(len(ds.x_test)),
            "description": f"uploaded {kind} from {base[:100]}{about}",
            "filename": base[:200],
        }
        file_id = new_id()
        self.files.write("datasets", file_id, data.getvalue())
        del data
        try:
            with self._names:
                if explicit:
                    self._check_free(display)
                else:
                    display = self._free_name(display)
                info["title"] = display
                self.db.insert_dataset(display, file_id, info, access.mine())
        except BaseException as e:
            self.files.delete("datasets", file_id)
            if isinstance(e, IntegrityError):
                raise Conflict(f"a dataset named {display!r} already exists; choose another name") from None
            raise
        return self._public(self.db.dataset(display))

    def _idx_folder(self, first: Path, base: str, more: list, kind: str | None) -> Path:
        """A temporary folder holding the upload's IDX files under their own names: the files sent
        (an image file and its labels, perhaps the test pair too), or those of a .zip of them."""
        folder = Path(tempfile.mkdtemp(prefix=".upload-", suffix=".tmp", dir=self.files.root / "datasets"))
        try:
            if kind == "idx":
                if more:
                    raise Invalid("send either one .zip of IDX files or the IDX files themselves, not both")
                with zipfile.ZipFile(first) as z:
                    for info in z.infolist():
                        leaf = info.filename.rsplit("/", 1)[-1]
                        if info.is_dir() or not is_idx_name(leaf, labels=True):
                            continue
                        if info.file_size > self.settings.max_dataset_bytes:
                            raise TooLarge(
                                f"{leaf[:80]!r} unpacks to {info.file_size:,} bytes; this server "
                                f"keeps datasets of at most {self.settings.max_dataset_bytes:,}"
                            )
                        with z.open(info) as src, open(folder / leaf, "wb") as out:
                            shutil.copyfileobj(src, out, 1 << 20)
                return folder
            files = [(base, first)] + [(re.split(r"[\\/]", n or "")[-1], f) for n, f in more]
            for leaf, f in files:
                if not is_idx_name(leaf, labels=True):
                    raise Invalid(
                        f"{leaf[:80]!r} is not an IDX file name: several files make one dataset "
                        "only as IDX files named like train-images-idx3-ubyte[.gz] and "
                        "train-labels-idx1-ubyte[.gz] (t10k-... for the test split)"
                    )
                target = folder / leaf
                if isinstance(f, Path):
                    shutil.copyfile(f, target)
                else:
                    shutil.move(self._spool(f), target)
            if not any(is_idx_name(leaf) for leaf, _ in files) or len(files) < 2:
                raise Invalid(
                    "an IDX dataset needs its image file and its label file (e.g. "
                    "train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz): send both as "
                    "'file' fields, or one .zip holding them"
                )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return folder

    def _spool(self, fileobj) -> Path:
        """Copy the upload to a temporary file beside the stored datasets (sweep() removes leftovers)."""
        fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".tmp", dir=self.files.root / "datasets")
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(fileobj, (bytes, bytearray, memoryview)):
                    out.write(fileobj)
                else:
                    if hasattr(fileobj, "seek"):
                        fileobj.seek(0)
                    shutil.copyfileobj(fileobj, out, 1 << 20)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp)

    def _taken(self, name: str) -> str | None:
        """Why name cannot be used, or None."""
        if self.builtin(name) is not None:
            return f"{name!r} is the name of a built-in dataset"
        low = name.lower()
        if any(r["name"].lower() == low for r in self.db.datasets()):
            return f"a dataset named {name!r} already exists"
        return None

    def _check_free(self, name: str) -> None:
        why = self._taken(name)
        if why:
            raise Conflict(f"{why}; choose another name")

    def _free_name(self, name: str) -> str:
        if not self._taken(name):
            return name
        for i in range(2, 10_000):
            suffix = f"-{i}"
            cand = name[: NAME_MAX - len(suffix)] + suffix
            if not self._taken(cand):
                return cand
        raise Conflict(f"too many datasets named like {name!r}; give a name")

    # ---- delete -----------------------------------------------------------------------
    def delete(self, name: str) -> None:
        """Delete an uploaded dataset and its file; built-ins and datasets in use cannot be deleted."""
        if self.builtin(name) is not None:
            raise Conflict(f"{name!r} is a built-in dataset; only uploaded datasets can be deleted")
        with self._names:
            row = self.db.dataset(name) if isinstance(name, str) else None
            if row is None or not access.shared_or_mine(row["student_id"]):
                raise NotFound(f"no dataset named {str(name)[:80]!r}")
            if not access.visible(row["student_id"]):
                raise Forbidden(f"the teacher shared {row['name']!r} with the class; only the teacher can delete it")
            if self.is_in_use(row["name"]):
                raise Conflict(f"dataset {row['name']!r} is used by an active run; stop the run first")
            self.db.delete_dataset(row["name"])
        self.files.delete("datasets", row["file_id"])
        with self._lock:
            self._cache.pop(("upload", row["file_id"]), None)
