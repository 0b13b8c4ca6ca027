"""A real PostgreSQL and a real Ray for the tests that run on the cluster backend.

`pytest --backend cluster` (or CNN_PLAYGROUND_TEST_BACKEND=cluster) runs the service's
API tests on PostgreSQL + Ray instead of the embedded SQLite + threads. Each test gets
a database of its own, made here and dropped after it.

Where they come from: CNN_PLAYGROUND_TEST_POSTGRES (a URL of a server whose user may
create databases) and CNN_PLAYGROUND_TEST_RAY (a Ray address), as .ci/run sets them;
without them, this starts a throwaway PostgreSQL (.ci/postgres) and a local Ray
(`ray start --head`) for the session, and stops both at its end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    postgres: str  # URL of the server's maintenance database
    ray_address: str
    _stop: list = field(default_factory=list)
    _made: list = field(default_factory=list)

    def fresh_database(self) -> str:
        """The URL of a new, empty database on the test server."""
        import psycopg

        name = "t_" + secrets.token_hex(6)
        with psycopg.connect(self.postgres, autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        self._made.append(name)
        return self.postgres.rsplit("/", 1)[0] + "/" + name

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.postgres, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        for stop in reversed(self._stop):
            stop()


def start_cluster() -> Cluster:
    pg = os.environ.get("CNN_PLAYGROUND_TEST_POSTGRES")
    ray_address = os.environ.get("CNN_PLAYGROUND_TEST_RAY")
    stops = []
    if not pg:
        folder = Path(tempfile.mkdtemp(prefix="cnnp-pg-"))
        os.chmod(folder, 0o755)  # the server's own user (as root: postgres) must reach it
        script = ROOT / ".ci" / "postgres"
        url = subprocess.run(
            [str(script), "start", str(folder / "data"), str(_free_port())], check=True, capture_output=True, text=True
        ).stdout.strip()
        pg = url.rsplit("/", 1)[0] + "/postgres"

        def stop_pg():
            subprocess.run([str(script), "stop", str(folder / "data")], check=False)
            shutil.rmtree(folder, ignore_errors=True)

        stops.append(stop_pg)
    if not ray_address:
        ray_address, stop_ray = start_ray()
        stops.append(stop_ray)
    return Cluster(pg, ray_address, stops)


HEAD = """
import signal, sys, ray
ctx = ray.init(num_cpus=int(sys.argv[1]), include_dashboard=False, _temp_dir=sys.argv[2],
               namespace="cnn-playground", _node_ip_address="127.0.0.1")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # exit through atexit: ray.shutdown() stops its processes
print(ctx.address_info["gcs_address"], flush=True)
signal.pause()
"""


def ray_token_env() -> None:
    """Ray's token authentication, with a token of this session's, for this process and the servers
    it starts (they inherit the environment): nothing is read from or written to ~/.ray."""
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def start_ray(num_cpus: int = 2):
    """A local Ray on loopback, held by a process of its own (stopping it stops that Ray and
    nothing else); returns its address and how to stop it."""
    folder = Path(tempfile.mkdtemp(prefix="cnnp-ray-", dir="/tmp"))  # Ray's socket paths must stay short
    ray_token_env()
    env = os.environ
    with open(folder / "head.log", "wb") as log:
        head = subprocess.Popen(
            [sys.executable, "-c", HEAD, str(num_cpus), str(folder)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
    address = head.stdout.readline().strip()
    head.stdout.close()
    if not address:
        raise RuntimeError(f"Ray did not start: {(folder / 'head.log').read_text()[-2000:]}")

    def stop():
        head.terminate()
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            head.kill()
        shutil.rmtree(folder, ignore_errors=True)

    return address, stop
