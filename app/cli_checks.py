"""What a command line user typed, checked before any work starts: whole numbers, the file a
command writes (checked first, written atomically last) and the JSON spec it reads.

Each check raises UsageError with a sentence; `cnn-playground` prints it as one `error: ...` line
and exits with 2.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import zipfile
from pathlib import Path


class UsageError(Exception):
    """Something the user gave cannot be used: the message says what and how to fix it."""


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def port(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free one) to 65535."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {n}")
    return n


def output_file(text: str, flag: str, example: str, reads: tuple[str | None, ...] = ()) -> Path:
    """The file `flag` names, checked before the work whose result it keeps: not a folder, in a
    folder that exists and takes new files, and none of the files the command `reads`."""
    if not text:
        raise UsageError(f"{flag} is empty; give the file to write, such as {example}")
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise UsageError(f"{flag} {text} is a folder; give a file in it, such as {path / example}")
    folder = path.parent
    if not folder.exists():
        raise UsageError(f"{flag} {text}: the folder {folder} does not exist; create it or choose another {flag}")
    if not folder.is_dir():
        raise UsageError(f"{flag} {text}: {folder} is a file, not a folder; choose another {flag}")
    for source in filter(None, reads):
        if path.exists() and Path(source).exists() and os.path.samefile(path, source):
            raise UsageError(f"{flag} {text} is the file this command reads; choose another {flag}")
    try:  # the write at the end makes its temporary file here too: try that now
        fd, probe = tempfile.mkstemp(prefix=".cnn-playground-check.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UsageError(
            f"{flag} {text}: cannot create files in {folder} ({e.strerror}); choose another {flag}"
        ) from None
    return path


def write_file(path: Path, data: bytes, flag: str) -> None:
    """Write `data` to `path` atomically (a failed write leaves the old file, or none), readable as
    the user's other files are: a replaced file keeps its mode, a new one follows the umask."""
    from engine.io import atomic_write

    umask = os.umask(0)
    os.umask(umask)
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask
        atomic_write(path, data)  # its temporary file is private (0600) until the rename
        os.chmod(path, mode)
    except OSError as e:
        raise UsageError(f"cannot write {path} ({e.strerror}); nothing was saved: choose another {flag}") from None


def read_spec(text: str) -> dict:
    """The network spec in a JSON file (a spec file exported by the playground may add "name" and
    "seed"; the seed is the run's to choose, with --seed)."""
    path = Path(text)
    if not path.is_file():
        raise UsageError(f"--spec {text}: {'is a folder' if path.is_dir() else 'no such file'}; give a JSON spec file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"--spec {text}: cannot read it ({e.strerror})") from None
    if zipfile.is_zipfile(path):
        raise UsageError(
            f"--spec {text} is an .npz archive (a saved network or a dataset), not a JSON spec; a saved "
            f"network goes to --model (evaluate, predict, export), and `cnn-playground export --model "
            f"{text} --format json --out spec.json` writes its spec"
        )
    try:
        spec = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise UsageError(
            f"--spec {text} is not a JSON spec: it is not text (byte {e.object[e.start]:#04x} at position "
            f"{e.start}); give a .json file such as `cnn-playground export --format json` writes"
        ) from None
    except json.JSONDecodeError as e:
        raise UsageError(f"--spec {text} is not a JSON spec: {e.msg} at line {e.lineno}, column {e.colno}") from None
    if isinstance(spec, dict):
        spec.pop("seed", None)
    return spec
