"""This server among the servers sharing one data directory, and which of them are alive.

Every server process takes an id and holds an exclusive lock (flock) on
`<data dir>/instances/<id>.lock` for as long as it runs. The kernel drops the
lock when the process ends in any way, SIGKILL included, so another server can
tell at once whether the owner of a run is alive: if it can lock the file, its
owner is gone. Where that cannot be known (no such file: the owner runs on
another machine, or a system without flock), the run's lease decides instead:
an owner that has not renewed it for LEASE_SECONDS is taken to be gone.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: leases alone
    fcntl = None

from .files import new_id

LEASE_SECONDS = 20.0  # a run whose owner has not renewed its lease for this long is orphaned
RENEW_SECONDS = 5.0  # how often an owner renews the leases of its runs


class Instance:
    def __init__(self, data_dir: Path):
        self.id = new_id()
        self.folder = Path(data_dir) / "instances"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{self.id}.lock"
        self._file = open(self.path, "w")  # noqa: SIM115 (held open: the lock lives as long as the server)
        if fcntl is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        # for an operator who looks: which process this is
        self._file.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}))
        self._file.flush()

    def alive(self, owner: str | None) -> bool | None:
        """Whether the server `owner` is running: True, False, or None when this cannot be told here."""
        if owner is None:
            return False  # written before runs had owners: its server is long gone
        if owner == self.id:
            return True
        path = self.folder / f"{owner}.lock"
        if fcntl is None or not path.exists():
            return None
        try:
            with open(path) as f:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                path.unlink(missing_ok=True)  # its owner is gone: the file is ours to remove
                return False
        except FileNotFoundError:
            return None

    def others_alive(self) -> list[str]:
        """The ids of the other servers running on this data directory now."""
        ids = [p.stem for p in self.folder.glob("*.lock") if p.stem != self.id]
        return [i for i in ids if self.alive(i)]

    def close(self) -> None:
        if self._file.closed:
            return
        self.path.unlink(missing_ok=True)
        self._file.close()  # and with it the lock
