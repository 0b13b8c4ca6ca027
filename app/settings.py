"""Settings: one object, from the command line or the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


def default_data_dir() -> Path:
    """CNN_PLAYGROUND_HOME, else the user's data directory (XDG on Linux)."""
    if os.environ.get("CNN_PLAYGROUND_HOME"):
        return Path(os.environ["CNN_PLAYGROUND_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "cnn-playground"


class Settings(BaseModel):
    """Where the server keeps things, who may use it, and its limits (each configurable)."""

    data_dir: Path = Field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None  # required on every request when set (always set off loopback)
    # never download a dataset (a room without internet, and the tests): MNIST, Fashion-MNIST and
    # CIFAR-10 are then only what is already on disk
    offline: bool = False
    # several servers behind one address (docs/deploy.md): the metadata in PostgreSQL instead of the
    # embedded SQLite file, and the runs executed on a Ray cluster instead of this process's threads
    database: str | None = None  # postgresql://user:password@host:port/name
    runner: Literal["inprocess", "ray"] = "inprocess"
    ray_address: str | None = None  # a Ray cluster to join; None: start one on this machine

    max_params: int = 20_000_000  # parameters of a network that can be built
    max_request_activation_bytes: int = 512 * 2**20  # one inspection request's activations
    max_step_activation_bytes: int = 2 * 2**30  # one training step's activations (batch x per-example)
    max_body_bytes: int = 8 * 2**20  # JSON requests
    max_upload_bytes: int = 256 * 2**20  # dataset and network uploads
    max_dataset_bytes: int = 512 * 2**20  # pixels of one dataset, once decoded
    max_layers: int = 500
    max_concurrent_runs: int = Field(default_factory=lambda: os.cpu_count() or 2)
    threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)  # one training step is shared among these
    max_queued_runs: int = 16
    max_ws_clients: int = 200
    ws_queue_size: int = 512
    batch_events_per_second: float = 20.0

    @property
    def db_path(self) -> Path:
        return self.data_dir / "playground.sqlite3"

    @property
    def database_target(self) -> str | Path:
        """What app.db.open_database opens: the PostgreSQL URL, else the SQLite file."""
        return self.database or self.db_path

    @property
    def loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")
