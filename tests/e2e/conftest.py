"""A real `cnn-playground serve` on a free loopback port, for end-to-end tests."""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen
    data_dir: Path
    log: Path

    def stop(self, sig=signal.SIGTERM, timeout: float = 20) -> float:
        """Stop the server; returns how long it took."""
        t = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout)
        return time.monotonic() - t


def start_server(data_dir: Path, *extra: str, port: int | None = None, timeout: float = 60) -> Server:
    """A `cnn-playground serve` on loopback (on `port`, else a free one), once it answers."""
    port = port or free_port()
    log = data_dir.parent / f"server-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--log-level",
                "warning",
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code in (200, 401):
                return Server(url, port, proc, data_dir, log)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the server did not start: {log.read_text()}")


@contextmanager
def running_server(data_dir: Path, *extra: str):
    """A started server, stopped (and killed if it will not stop) on the way out."""
    s = start_server(data_dir, *extra)
    try:
        yield s
    finally:
        s.stop()
        if s.process.poll() is None:
            s.process.kill()


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path / "data") as s:
        yield s


@pytest.fixture
def api(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client
