"""Files the server keeps: named by ids it makes, written atomically.

Every file is written to a temporary name in the same folder, flushed to disk
and renamed over the final name; only then is the database row written. A
crash leaves either the old file or the new one, plus perhaps a temporary
file that sweep() removes at the next start.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from engine.io import atomic_write

KINDS = ("networks", "checkpoints", "datasets")
_ID = re.compile(r"^[a-z0-9]{1,40}$")


def new_id() -> str:
    return secrets.token_hex(8)


def check_id(value: str) -> str:
    """Ids are ours: lowercase hex. Anything else never reaches the file system."""
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError(f"not a valid id: {value[:50]!r}")
    return value


class FileStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        for kind in KINDS:
            (self.root / kind).mkdir(parents=True, exist_ok=True)

    def path(self, kind: str, file_id: str, suffix: str = ".npz") -> Path:
        assert kind in KINDS
        return self.root / kind / (check_id(file_id) + suffix)

    def write(self, kind: str, file_id: str, data: bytes, suffix: str = ".npz") -> Path:
        path = self.path(kind, file_id, suffix)
        atomic_write(path, data)
        return path

    def read(self, kind: str, file_id: str, suffix: str = ".npz") -> bytes:
        return self.path(kind, file_id, suffix).read_bytes()

    def delete(self, kind: str, file_id: str, suffix: str = ".npz") -> None:
        self.path(kind, file_id, suffix).unlink(missing_ok=True)

    def sweep(self, keep: dict[str, set[str]] | None = None) -> list[Path]:
        """Remove temporary files left by a crash mid-write and, given `keep` (kind -> ids the
        database refers to), files no row refers to: a crash between writing a file and its
        row, or between deleting a row and its file, leaves those. Run it at start only."""
        gone = []
        for kind in KINDS:
            for p in (self.root / kind).iterdir():
                orphan = keep is not None and p.suffix == ".npz" and p.stem not in keep.get(kind, set())
                if (p.name.startswith(".") and p.name.endswith(".tmp")) or orphan:
                    p.unlink(missing_ok=True)
                    gone.append(p)
        return gone
