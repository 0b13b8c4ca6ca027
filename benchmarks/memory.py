"""Server memory over many short runs, each network deleted after its run.

    python benchmarks/memory.py [--runs 100] [--concurrent 1] [--json]

Starts `cnn-playground serve` on a free loopback port with a fresh data
directory. Each run creates a LeNet-5, trains it for one epoch on the first
1,024 examples of `strokes` (seed: the run's number; the default validation
fraction), waits until the run has ended, deletes the network, and then reads
the server's resident memory (VmRSS) and its peak (VmHWM) from /proc.
With --concurrent K, K runs are kept going at once and "after run n" means
after n runs have ended.

Target (the acceptance test of the issue): RSS after the last run within
50 MB of RSS after run 10, which comes after the dataset is loaded and the
allocators are warm. MB are 2**20 bytes, as /proc's kB are 1,024 bytes.
Prints figures; asserts nothing. Needs Linux (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

FINAL_STATUSES = ("completed", "stopped", "diverged", "failed", "interrupted")
TARGET_MB = 50
BASE_RUN = 10  # the runs before it load the dataset and warm up the allocators


class RequestFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # the value is in kB
    return fields["VmRSS"], fields["VmHWM"]


def checked(response: httpx.Response, expected: int) -> httpx.Response:
    if response.status_code != expected:
        request = response.request
        raise RequestFailed(
            f"{request.method} {request.url.path} answered {response.status_code} "
            f"(expected {expected}): {response.text[:2000]}"
        )
    return response


def slope(points: list[tuple[int, float]]) -> float | None:
    """The least-squares slope of y over x, or None for fewer than two points."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return sxy / sxx


class Server:
    """`cnn-playground serve` as a child process, its log in a file."""

    def __init__(self, data_dir: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(data_dir),
                    "--log-level",
                    "warning",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                checked(httpx.get(f"{self.url}/api/health", timeout=1), 200)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RequestFailed(f"the server did not answer /api/health within {timeout:.0f} s")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RequestFailed(f"the server exited with code {self.process.returncode}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def log_errors(self) -> int:
        lines = self.log.read_text(errors="replace").splitlines()
        return sum("Traceback" in line for line in lines)


def one_run(api: httpx.Client, server: Server, seed: int, max_train: int, timeout: float) -> str:
    """Create a LeNet-5, train it one epoch, delete it; returns the run's final status."""
    net = checked(api.post("/api/networks", json={"preset": "lenet5"}), 201).json()
    body = {"dataset": "strokes", "epochs": 1, "max_train": max_train, "seed": seed}
    run = checked(api.post(f"/api/networks/{net['id']}/runs", json=body), 201).json()
    deadline = time.monotonic() + timeout
    while True:
        status = checked(api.get(f"/api/runs/{run['id']}"), 200).json()["status"]
        if status in FINAL_STATUSES:
            break
        if time.monotonic() > deadline:
            raise RequestFailed(f"run {run['id']} (seed {seed}) is still {status} after {timeout:.0f} s")
        server.check_alive()
        time.sleep(0.1)
    checked(api.delete(f"/api/networks/{net['id']}"), 204)
    return status


def measure(server: Server, args) -> dict:
    """Run the runs; RSS before the first and after every one, by the count of runs ended."""
    before, _ = memory_mb(server.process.pid)
    after: dict[int, tuple[float, float]] = {}
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    failed = threading.Event()  # once one worker fails, the others start no new run

    def work(seeds: range) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as api:
            for seed in seeds:
                if failed.is_set():
                    return
                try:
                    status = one_run(api, server, seed, args.max_train, args.run_timeout)
                except BaseException:
                    failed.set()
                    raise
                with lock:  # the reading belongs to the count of runs ended so far
                    after[len(after) + 1] = memory_mb(server.process.pid)
                    statuses[status] = statuses.get(status, 0) + 1

    start = time.monotonic()
    with ThreadPoolExecutor(args.concurrent) as pool:
        futures = [pool.submit(work, range(k + 1, args.runs + 1, args.concurrent)) for k in range(args.concurrent)]
        for future in futures:
            future.result()
    wall = time.monotonic() - start

    base = min(BASE_RUN, args.runs)
    shown = sorted({1, *range(10, args.runs + 1, 10), args.runs})
    growth = after[args.runs][0] - after[base][0]
    per_run = slope([(n, after[n][0]) for n in range(base, args.runs + 1)])
    return {
        "cores": os.cpu_count(),
        "runs": args.runs,
        "concurrent": args.concurrent,
        "dataset": "strokes",
        "max_train": args.max_train,
        "wall_s": round(wall, 1),
        "run_statuses": statuses,
        "rss_before_mb": round(before, 1),
        "rss_after_run_mb": {n: round(after[n][0], 1) for n in shown},
        "base_run": base,
        "growth_mb": round(growth, 1),
        "slope_mb_per_run": None if per_run is None else round(per_run, 3),
        "peak_rss_mb": round(max(hwm for _, hwm in after.values()), 1),
        "target_mb": TARGET_MB,
        "within_target": growth <= TARGET_MB,
        "server_log_tracebacks": server.log_errors(),
        "rss_every_run_mb": [round(after[n][0], 1) for n in range(1, args.runs + 1)],
    }


def report(r: dict) -> None:
    n, base = r["runs"], r["base_run"]
    print(
        f"{n} one-epoch lenet5 runs on strokes ({r['max_train']:,} examples), "
        f"{r['concurrent']} at a time, each network deleted after its run"
    )
    print(f"cores: {r['cores']}, wall time: {r['wall_s']:.1f} s ({r['wall_s'] / n:.1f} s a run)")
    print(f"run statuses: {', '.join(f'{s} {c}' for s, c in sorted(r['run_statuses'].items()))}")
    print(f"RSS before the first run: {r['rss_before_mb']:8.1f} MB")
    for k, mb in r["rss_after_run_mb"].items():
        print(f"RSS after run {k:>4}:        {mb:8.1f} MB")
    print(f"growth from run {base} to run {n}: {r['growth_mb']:+.1f} MB")
    if r["slope_mb_per_run"] is not None:
        print(f"slope from run {base} to run {n}: {r['slope_mb_per_run']:+.3f} MB a run (least squares)")
    print(f"peak RSS (VmHWM): {r['peak_rss_mb']:.1f} MB")
    print(f"tracebacks in the server's log: {r['server_log_tracebacks']}")
    side = "above" if r["growth_mb"] >= 0 else "below"
    print(f"RSS after run {n} is {abs(r['growth_mb']):.1f} MB {side} run {base} (target: within {r['target_mb']} MB)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--concurrent", type=int, default=1, help="runs kept going at once")
    p.add_argument("--max-train", type=int, default=1024, help="training examples a run uses")
    p.add_argument("--run-timeout", type=float, default=600, help="seconds one run may take")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = p.parse_args()
    if args.runs < 1 or args.concurrent < 1:
        p.error("--runs and --concurrent must be at least 1")

    tmp = Path(tempfile.mkdtemp(prefix="cnn-playground-memory-"))
    server = Server(tmp / "data", tmp / "server.log")
    try:
        server.wait_until_up()
        results = measure(server, args)
    except (RequestFailed, httpx.HTTPError) as e:
        print(f"error: {e}", file=sys.stderr)
        print(f"the server's log ends with:\n{server.log_tail()}", file=sys.stderr)
        return 1
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
