"""A `cnn-playground serve` process on loopback, for the benchmark scripts."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """Started with start(); `ready_after` is how long it took to answer /api/health."""

    def __init__(self, data_dir: Path, port: int | None = None, log: Path | None = None):
        self.data_dir, self.port = Path(data_dir), port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or self.data_dir.parent / f"server-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.ready_after = None

    def start(self, timeout: float = 60) -> ServerProcess:
        t = time.monotonic()
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                    "--log-level",
                    "warning",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        while time.monotonic() - t < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    self.ready_after = time.monotonic() - t
                    return self
            except httpx.HTTPError:
                time.sleep(0.02)
        self.process.kill()
        raise RuntimeError(f"the server did not answer within {timeout} s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
