"""A classroom at once: simulated students against a live server on loopback.

    python benchmarks/load.py [--students 30] [--epochs 1] [--max-train 500] [--json out.json]

Starts `cnn-playground serve` on a free loopback port with a fresh data
directory. Each student (a thread with its own HTTP client) creates a LeNet-5,
validates a spec, starts a short run on `strokes`, follows its WebSocket to the
final event, reads the run, and fetches the feature maps of one image. Runs
beyond the server's workers (max_concurrent_runs, the core count) wait in its
queue; past max_queued_runs the server answers 429 and the student retries
after a short wait (bounded). Every loop is bounded in count and time.

Reports whether every request was answered, the count of 5xx (must be 0),
p50/p95/max latency per kind of request, and the total time, as a table and
as JSON. Exits 1 when a request went unanswered or got a 5xx.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
from websockets.sync.client import connect

KINDS = ("create_network", "validate_spec", "start_run", "follow_run", "read_run", "feature_maps")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)  # kind -> seconds
        self.statuses = defaultdict(lambda: defaultdict(int))
        self.unanswered = []  # (kind, error)
        self.retries_429 = 0
        self.finished = 0
        self.outcomes = defaultdict(int)  # final run status

    def add(self, kind, seconds, status):
        with self.lock:
            self.times[kind].append(seconds)
            self.statuses[kind][status] += 1

    def lost(self, kind, error):
        with self.lock:
            self.unanswered.append((kind, f"{type(error).__name__}: {error}"[:200]))


def timed(tally, kind, fn):
    t = time.perf_counter()
    try:
        r = fn()
    except Exception as e:  # a request that got no answer is what we count
        tally.lost(kind, e)
        return None
    tally.add(kind, time.perf_counter() - t, r.status_code)
    return r


def student(k, url, port, args, tally, deadline, barrier):
    rng = random.Random(k)
    with httpx.Client(base_url=url, timeout=120) as api:
        barrier.wait(60)
        r = timed(
            tally, "create_network", lambda: api.post("/api/networks", json={"preset": "lenet5", "name": f"s{k}"})
        )
        if r is None or r.status_code != 201:
            return
        net = r.json()
        timed(tally, "validate_spec", lambda: api.post("/api/networks/validate", json=net["spec"]))
        body = {"dataset": "strokes", "epochs": args.epochs, "max_train": args.max_train}
        run = None
        for _ in range(args.max_retries + 1):
            r = timed(tally, "start_run", lambda: api.post(f"/api/networks/{net['id']}/runs", json=body))
            if r is None:
                return
            if r.status_code == 201:
                run = r.json()
                break
            if r.status_code != 429 or time.monotonic() > deadline:
                return
            with tally.lock:
                tally.retries_429 += 1
            time.sleep(rng.uniform(1.0, 3.0))
        if run is None:
            return
        t = time.perf_counter()
        final = None
        try:
            with connect(f"ws://127.0.0.1:{port}/api/runs/{run['id']}/events", open_timeout=30, close_timeout=5) as ws:
                while time.monotonic() < deadline:
                    event = json.loads(ws.recv(timeout=max(1.0, deadline - time.monotonic())))
                    if event["type"] in ("done", "error"):
                        final = event
                        break
            tally.add("follow_run", time.perf_counter() - t, 101 if final else 0)
        except Exception as e:
            tally.lost("follow_run", e)
            return
        r = timed(tally, "read_run", lambda: api.get(f"/api/runs/{run['id']}"))
        if r is not None and r.status_code == 200:
            with tally.lock:
                tally.outcomes[r.json()["status"]] += 1
        image = {"dataset": "strokes", "split": "test", "index": k}
        r = timed(tally, "feature_maps", lambda: api.post(f"/api/networks/{net['id']}/activations", json=image))
        if r is not None and r.status_code == 200:
            with tally.lock:
                tally.finished += 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=30)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--max-train", type=int, default=500)
    p.add_argument("--max-retries", type=int, default=60, help="429 retries per student")
    p.add_argument("--time-limit", type=float, default=600, help="seconds; every student stops after it")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args()

    port = free_port()
    data = tempfile.mkdtemp(prefix="cnn-playground-load-")
    log = Path(data).parent / f"{Path(data).name}.log"
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
                data,
                "--log-level",
                "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    tally = Tally()
    try:
        for _ in range(600):
            try:
                httpx.get(f"{url}/api/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        httpx.get(f"{url}/api/datasets/strokes/samples?n=1", timeout=120).raise_for_status()  # generated once
        start = time.monotonic()
        deadline = start + args.time_limit
        barrier = threading.Barrier(args.students)
        threads = [
            threading.Thread(target=student, args=(k, url, port, args, tally, deadline, barrier), daemon=True)
            for k in range(args.students)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(1.0, deadline + 60 - time.monotonic()))
        total = time.monotonic() - start
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    server_errors = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if "Traceback" in line or "locked" in line or "Exception" in line
    ]

    kinds = {}
    for kind in KINDS:
        times = [s * 1000 for s in tally.times.get(kind, [])]
        kinds[kind] = {
            "n": len(times),
            "statuses": dict(tally.statuses.get(kind, {})),
            "p50_ms": round(statistics.median(times), 1) if times else None,
            "p95_ms": round(percentile(times, 95), 1) if times else None,
            "max_ms": round(max(times), 1) if times else None,
        }
    n5xx = sum(c for k in tally.statuses.values() for s, c in k.items() if s >= 500)
    results = {
        "cores": os.cpu_count(),
        "students": args.students,
        "epochs": args.epochs,
        "max_train": args.max_train,
        "total_s": round(total, 1),
        "students_finished": tally.finished,
        "every_request_answered": not tally.unanswered,
        "unanswered": tally.unanswered[:10],
        "count_5xx": n5xx,
        "retries_after_429": tally.retries_429,
        "run_outcomes": dict(tally.outcomes),
        "server_log_errors": server_errors[:10],
        "requests": kinds,
    }

    print(
        f"{args.students} students, {os.cpu_count()} cores, total {total:.1f} s, "
        f"{tally.finished} finished, {tally.retries_429} retries after 429, 5xx: {n5xx}, "
        f"unanswered: {len(tally.unanswered)}"
    )
    print(f"{'request':<16}{'n':>5}  {'statuses':<22}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for kind, k in kinds.items():
        statuses = " ".join(f"{s}:{c}" for s, c in sorted(k["statuses"].items()))
        print(f"{kind:<16}{k['n']:>5}  {statuses:<22}{k['p50_ms'] or 0:>9}{k['p95_ms'] or 0:>9}{k['max_ms'] or 0:>9}")
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    ok = not tally.unanswered and n5xx == 0 and tally.finished == args.students and not server_errors
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
