"""Downloading and caching the real datasets (MNIST, Fashion-MNIST, CIFAR-10).

Files live in ``<root>/<name>/`` where ``root`` is, in order: the ``root`` argument, the
``CNN_PLAYGROUND_DATASETS`` environment variable, or ``~/.cache/cnn-playground/datasets``.
Every file is checked against its published md5 (the checksums torchvision uses).
Downloads go to a temporary file in the target folder and are renamed into place only
after the checksum matched, so an interrupted download never leaves a half file behind.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .base import DatasetError

ENV_VAR = "CNN_PLAYGROUND_DATASETS"
DEFAULT_ROOT = Path("~/.cache/cnn-playground/datasets")

#: progress(filename, bytes_done, bytes_total_or_None)
ProgressFn = Callable[[str, int, "int | None"], None]

#: Base URLs tried in order for each dataset. Tests and offline mirrors may replace them.
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
    "cifar10": [
        "https://www.cs.toronto.edu/~kriz/",
    ],
}


@dataclass(frozen=True)
class RemoteFile:
    filename: str
    md5: str
    size: int  # approximate, for messages and progress when the server gives no length


#: Files each real dataset needs, with the published md5 checksums.
FILES: dict[str, dict[str, RemoteFile]] = {
    "mnist": {
        "train_images": RemoteFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422),
        "train_labels": RemoteFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 28881),
        "test_images": RemoteFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 1648877),
        "test_labels": RemoteFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 4542),
    },
    "fashion-mnist": {
        "train_images": RemoteFile("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26421880),
        "train_labels": RemoteFile("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", 29515),
        "test_images": RemoteFile("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", 4422102),
        "test_labels": RemoteFile("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", 5148),
    },
    "cifar10": {
        "archive": RemoteFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", 170498071),
    },
}

#: md5 of the individual CIFAR-10 batch files inside the archive (from torchvision).
CIFAR_BATCH_MD5: dict[str, str] = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
CIFAR_DIR = "cifar-10-batches-py"
MAX_DOWNLOAD_BYTES = 400 * 1024 * 1024


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The directory holding one folder per dataset."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return DEFAULT_ROOT.expanduser()


def md5_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


class ProgressBar:
    """A simple text progress bar for :func:`download_file` (writes to stderr)."""

    def __init__(self, stream=None, width: int = 30, min_interval: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.min_interval = min_interval
        self._last = 0.0

    def __call__(self, filename: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self._last < self.min_interval:
            return
        self._last = now
        if total:
            frac = min(1.0, done / total)
            bar = "#" * int(frac * self.width)
            line = f"\r{filename} [{bar:<{self.width}}] {frac * 100:5.1f}% {done / 1e6:.1f}/{total / 1e6:.1f} MB"
        else:
            line = f"\r{filename} {done / 1e6:.1f} MB"
        self.stream.write(line + ("\n" if finished else ""))
        self.stream.flush()


def download_file(
    url: str,
    dest: str | os.PathLike,
    md5: str | None,
    *,
    progress: ProgressFn | None = None,
    timeout: float = 30.0,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    chunk: int = 1 << 16,
) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying ``md5``.

    The data goes to a temporary file next to ``dest``; on success it is renamed to
    ``dest``. On any failure (network, size limit, checksum) the temporary file is deleted
    and :class:`DatasetError` is raised.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.md5()
        done = 0
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "cnn-playground"})
            with urllib.request.urlopen(req, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
                fd = -1
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                if total is not None and total > max_bytes:
                    raise DatasetError(f"{url}: {total:,} bytes is more than the {max_bytes:,}-byte limit")
                if progress:
                    progress(dest.name, 0, total)
                while True:
                    block = resp.read(chunk)
                    if not block:
                        break
                    done += len(block)
                    if done > max_bytes:
                        raise DatasetError(f"{url}: download exceeds the {max_bytes:,}-byte limit")
                    h.update(block)
                    out.write(block)
                    if progress:
                        progress(dest.name, done, total)
            if total is not None and done != total:
                raise DatasetError(f"{url}: download incomplete ({done:,} of {total:,} bytes)")
        except DatasetError:
            raise
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DatasetError(f"could not download {url}: {exc}") from exc
        if md5 is not None and h.hexdigest() != md5:
            raise DatasetError(
                f"checksum mismatch for {dest.name} from {url}: got md5 {h.hexdigest()}, "
                f"expected {md5}; the download was discarded (try again or use another mirror)"
            )
        os.replace(tmp, dest)
        return dest
    finally:
        if fd != -1:
            os.close(fd)
        if tmp.exists():
            tmp.unlink()


def fetch(
    name: str,
    folder: Path,
    files: list[RemoteFile],
    *,
    base_url: str | None = None,
    progress: ProgressFn | None = None,
    timeout: float = 30.0,
) -> None:
    """Download ``files`` of dataset ``name`` into ``folder``, trying each mirror in turn."""
    bases = [base_url] if base_url else list(MIRRORS.get(name, []))
    if not bases:
        raise DatasetError(f"no download location known for {name!r}")
    for rf in files:
        errors = []
        for base in bases:
            url = base.rstrip("/") + "/" + rf.filename
            try:
                download_file(url, folder / rf.filename, rf.md5, progress=progress, timeout=timeout)
                break
            except DatasetError as exc:
                errors.append(str(exc))
        else:
            raise DatasetError("; ".join(errors))


def offline_message(name: str, folder: Path, files: list[RemoteFile], reason: str = "") -> str:
    listing = ", ".join(rf.filename for rf in files)
    where = " or ".join(MIRRORS.get(name, [])) or "its usual public location"
    msg = (
        f"dataset {name!r} is not available offline: put the files {listing} in the folder {folder} "
        f"(download them from {where}), or set the {ENV_VAR} environment variable to a directory "
        f"holding a {name}/ folder with those files"
    )
    if reason:
        msg += f" [{reason}]"
    return msg
