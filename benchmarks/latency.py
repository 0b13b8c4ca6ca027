"""Server responsiveness while a run trains, against a live server on loopback.

    python benchmarks/latency.py [--requests 200]

Starts `cnn-playground serve` on a free loopback port with a fresh data
directory, creates a LeNet-5, and measures p50/p95/max latency of
`GET /api/networks/{id}` and of LeNet-5 activations for one image: first
idle, then while a LeNet-5 run trains on `strokes`. Targets: p95 under 50 ms
and 150 ms while training. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def measure(api, method, url, n, **kw):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = api.request(method, url, **kw)
        times.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "max_ms": round(max(times), 1),
        "n": n,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=200)
    args = p.parse_args()
    port = free_port()
    data = tempfile.mkdtemp(prefix="cnn-playground-bench-")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--data-dir", data, "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60) as api:
            for _ in range(300):
                try:
                    api.get("/api/health")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            net = api.post("/api/networks", json={"preset": "lenet5"}).json()
            image = {"dataset": "strokes", "split": "test", "index": 0}
            api.post(f"/api/networks/{net['id']}/activations", json=image).raise_for_status()  # loads the dataset
            results = {"cores": os.cpu_count()}
            results["idle"] = {
                "get_network": measure(api, "GET", f"/api/networks/{net['id']}", args.requests),
                "activations": measure(
                    api, "POST", f"/api/networks/{net['id']}/activations", args.requests, json=image
                ),
            }
            run = api.post(f"/api/networks/{net['id']}/runs", json={"dataset": "strokes", "epochs": 100}).json()
            time.sleep(2)
            results["training"] = {
                "get_network": measure(api, "GET", f"/api/networks/{net['id']}", args.requests),
                "activations": measure(
                    api, "POST", f"/api/networks/{net['id']}/activations", args.requests, json=image
                ),
            }
            state = api.get(f"/api/runs/{run['id']}").json()
            results["training"]["run_status"] = state["status"]
            results["training"]["samples_per_s"] = (state.get("last_batch") or {}).get("samples_per_s")
            api.post(f"/api/runs/{run['id']}/stop")
        print(json.dumps(results, indent=2))
    finally:
        proc.terminate()
        proc.wait(20)


if __name__ == "__main__":
    main()
