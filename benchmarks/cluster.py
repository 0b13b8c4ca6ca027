"""A class of simulated students against (a) the embedded server and (b) two servers + PostgreSQL + Ray.

    python benchmarks/cluster.py [--students 60] [--max-train N] [--only embedded|cluster] [--json out.json]

Each student (a thread with its own HTTP client) builds a LeNet-5, starts one run of one epoch
on `strokes` (answered 429 past a server's queue: it waits 2 s and tries again) and polls the
run every second until it ends. (a) is one `cnn-playground serve --threads 1` (two runs train at
once on two cores); (b) is two servers on one shared data directory and one PostgreSQL, running
the runs on one local Ray with 2 CPUs (`--runner ray --threads 1`: each run asks for one CPU),
the students split between the two servers as a load balancer would. PostgreSQL and Ray are
started as the tests start them (tests/cluster.py) and stopped at the end.

Prints, per setup: the time until all runs have ended, how many completed, the count of 5xx
(must be 0), request latency p50/p95/max, and per run the median time from queued to running
(waiting) and from running to its end (training), and their sum: the per-run overhead of (b)
is the difference of the training medians. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cluster import ray_token_env, start_cluster  # noqa: E402 (after the path to the checkout)
from tests.e2e.conftest import start_server  # noqa: E402


def student(url: str, body: dict, out: dict, lock: threading.Lock) -> None:
    latencies, errors, run = [], 0, None
    with httpx.Client(base_url=url, timeout=60) as client:

        def call(method, path, **kw):
            nonlocal errors
            t = time.perf_counter()
            r = client.request(method, path, **kw)
            latencies.append(time.perf_counter() - t)
            errors += r.status_code >= 500
            return r

        net = call("POST", "/api/networks", json={"preset": "lenet5"}).json()
        for _ in range(600):
            r = call("POST", f"/api/networks/{net['id']}/runs", json=body)
            if r.status_code != 429:
                break
            time.sleep(2)
        if r.status_code == 201:
            run_id = r.json()["id"]
            for _ in range(3600):
                run = call("GET", f"/api/runs/{run_id}").json()
                if run["status"] not in ("queued", "running", "paused"):
                    break
                time.sleep(1)
    with lock:
        out["latencies"] += latencies
        out["errors"] += errors
        out["runs"].append(run)


def load(urls: list[str], students: int, body: dict) -> dict:
    out, lock = {"latencies": [], "errors": 0, "runs": []}, threading.Lock()
    t = time.perf_counter()
    threads = [threading.Thread(target=student, args=(urls[i % len(urls)], body, out, lock)) for i in range(students)]
    for th in threads:
        th.start()
        time.sleep(0.02)
    for th in threads:
        th.join()
    runs = [r for r in out["runs"] if r]
    lat = sorted(out["latencies"])
    waited = [r["started"] - r["created"] for r in runs if r.get("started")]
    trained = [r["finished"] - r["started"] for r in runs if r.get("started") and r.get("finished")]
    return {
        "seconds": time.perf_counter() - t,
        "completed": sum(r["status"] == "completed" for r in runs),
        "students": students,
        "5xx": out["errors"],
        "requests": len(lat),
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p95_ms": 1000 * lat[int(len(lat) * 0.95)],
        "max_ms": 1000 * lat[-1],
        "wait_median_s": statistics.median(waited) if waited else None,
        "train_median_s": statistics.median(trained) if trained else None,
        "train_range_s": [min(trained), max(trained)] if trained else None,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=60)
    p.add_argument("--max-train", type=int, default=None, help="examples per run (default: all of strokes)")
    p.add_argument("--only", choices=["embedded", "cluster"])
    p.add_argument("--json")
    args = p.parse_args()
    body = {"dataset": "strokes", "epochs": 1, "batch_size": 64, "lr": 0.05, "seed": 0}
    if args.max_train:
        body["max_train"] = args.max_train
    import tempfile

    results = {}
    with tempfile.TemporaryDirectory(prefix="cnnp-bench-") as tmp:
        tmp = Path(tmp)
        if args.only in (None, "embedded"):
            s = start_server(tmp / "embedded", "--threads", "1")
            try:
                results["embedded"] = load([s.url], args.students, body)
            finally:
                s.stop()
        if args.only in (None, "cluster"):
            ray_token_env()
            cluster = start_cluster()
            servers = []
            try:
                db = cluster.fresh_database()
                extra = ("--database", db, "--runner", "ray", "--ray-address", cluster.ray_address, "--threads", "1")
                servers = [start_server(tmp / "shared", *extra) for _ in range(2)]
                results["cluster"] = load([s.url for s in servers], args.students, body)
            finally:
                for s in servers:
                    s.stop()
                cluster.close()
    print(
        f"{os.cpu_count()} cores; {args.students} students, one epoch of lenet5 on strokes"
        + (f" (max_train {args.max_train})" if args.max_train else "")
    )
    print(
        f"{'setup':<10}{'all done s':>11}{'completed':>10}{'5xx':>5}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}"
        f"{'wait s':>8}{'train s':>8}"
    )
    for name, r in results.items():
        print(
            f"{name:<10}{r['seconds']:>11.1f}{r['completed']:>10}{r['5xx']:>5}{r['p50_ms']:>8.1f}"
            f"{r['p95_ms']:>8.1f}{r['max_ms']:>8.0f}{r['wait_median_s'] or 0:>8.1f}{r['train_median_s'] or 0:>8.2f}"
        )
    if len(results) == 2 and results["embedded"]["train_median_s"] and results["cluster"]["train_median_s"]:
        extra = results["cluster"]["train_median_s"] - results["embedded"]["train_median_s"]
        print(f"per-run overhead of Ray + PostgreSQL (median training time, b - a): {extra:+.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
