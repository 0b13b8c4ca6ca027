"""A run's life through a crash, and two servers on one data directory, with real server processes.

    python benchmarks/crash.py [--repeats 3] [--epochs 8]

Crash: a LeNet-5 trains on `strokes` (2,000 examples); in the middle of its third
epoch the server is killed with SIGKILL and started again at once on the same port
and data directory. Measured: how long until it serves again; whether the interrupted
run's network predicts as the checkpoint does (on 32 test images) and not as before
training; the run's status, epoch and metrics; how long `resume` takes to reach
`completed`, and whether its history holds each epoch once.

Two servers: A trains a run; B starts on the same data directory. Checked: B leaves the
run alone, refuses a second run on that network with 409, keeps A's half-written file,
and B's pause and stop reach A (how long each took).

Targets (the issue's): serving again within 5 s; predictions as the checkpoint's;
resume reaches completed; neither server interrupts or overwrites the other's run.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from serverproc import ServerProcess

SAMPLES = [{"dataset": "strokes", "split": "test", "index": i} for i in range(32)]
ACTIVE = ("queued", "running", "paused")


def wait_run(api: httpx.Client, run_id: str, done, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = api.get(f"/api/runs/{run_id}").json()
        if done(run):
            return run
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} is still {run['status']} after {timeout} s")
        time.sleep(0.02)


def predictions(api: httpx.Client, network_id: str) -> list[list[float]]:
    return [api.post(f"/api/networks/{network_id}/predict", json=s).json()["probabilities"] for s in SAMPLES]


def crash_once(root: Path, epochs: int) -> dict:
    data = root / "data"
    server = ServerProcess(data).start()
    with httpx.Client(base_url=server.url, timeout=60) as api:
        net = api.post("/api/networks", json={"preset": "lenet5", "seed": 1}).json()["id"]
        before = predictions(api, net)
        body = {"dataset": "strokes", "epochs": epochs, "max_train": 2000, "batch_size": 32, "lr": 0.05}
        run = api.post(f"/api/networks/{net}/runs", json=body).json()
        # the middle of epoch 3: two checkpoints written, half an epoch since the last
        first = wait_run(api, run["id"], lambda r: (r.get("last_batch") or {}).get("batches"))
        per_epoch = first["last_batch"]["batches"]
        wait_run(api, run["id"], lambda r: r["steps"] >= 2 * per_epoch + per_epoch // 2)
    server.stop(signal.SIGKILL)
    restarted = ServerProcess(data, port=server.port, log=server.log).start()
    out = {"serving_again_s": restarted.ready_after}
    try:
        with httpx.Client(base_url=restarted.url, timeout=60) as api:
            cut = api.get(f"/api/runs/{run['id']}").json()
            checkpoint = (data / "checkpoints" / f"{run['id']}.npz").read_bytes()
            copy = api.post("/api/networks/import", files={"file": ("checkpoint.npz", checkpoint)}).json()["id"]
            now = predictions(api, net)
            out.update(
                status=cut["status"],
                epoch=cut["epoch"],
                metrics_kept=cut["metrics"] is not None,
                predicts_as_checkpoint=now == predictions(api, copy),
                predicts_as_untrained=now == before,
            )
            t = time.monotonic()
            resumed = api.post(f"/api/runs/{run['id']}/resume")
            if resumed.status_code != 200:
                raise RuntimeError(f"resume answered {resumed.status_code}: {resumed.text}")
            done = wait_run(api, run["id"], lambda r: r["status"] not in ACTIVE)
            epochs_seen = [e["epoch"] for e in done["history"] if e["type"] == "epoch"]
            out.update(
                resume_s=time.monotonic() - t,
                final_status=done["status"],
                val_accuracy=done["metrics"]["val_accuracy"],
                each_epoch_once=epochs_seen == list(range(1, epochs + 1)),
            )
            # the same run never interrupted, on a network made the same way
            twin = api.post("/api/networks", json={"preset": "lenet5", "seed": 1}).json()["id"]
            whole = api.post(f"/api/networks/{twin}/runs", json=body).json()["id"]
            wait_run(api, whole, lambda r: r["status"] not in ACTIVE)
            out["as_if_never_interrupted"] = predictions(api, twin) == predictions(api, net)
    finally:
        restarted.stop()
    return out


def two_servers(root: Path) -> dict:
    data = root / "data"
    a = ServerProcess(data).start()
    b = None
    try:
        with httpx.Client(base_url=a.url, timeout=60) as api_a:
            net = api_a.post("/api/networks", json={"preset": "lenet5"}).json()["id"]
            body = {"dataset": "strokes", "epochs": 200, "max_train": 2000, "batch_size": 32}
            run = api_a.post(f"/api/networks/{net}/runs", json=body).json()["id"]
            wait_run(api_a, run, lambda r: r["status"] == "running")
            half_written = data / "networks" / ".0123456789abcdef.npz.1.tmp"
            half_written.write_bytes(b"being written by A")
            b = ServerProcess(data).start()
            with httpx.Client(base_url=b.url, timeout=60) as api_b:
                out = {
                    "b_started_s": b.ready_after,
                    "run_left_alone": api_a.get(f"/api/runs/{run}").json()["status"] == "running",
                    "second_run_status": api_b.post(f"/api/networks/{net}/runs", json=body).status_code,
                    "half_written_file_kept": half_written.exists(),
                }
                for action, status in (("pause", "paused"), ("stop", "stopped")):
                    t = time.monotonic()
                    api_b.post(f"/api/runs/{run}/{action}").raise_for_status()
                    wait_run(api_a, run, lambda r, s=status: r["status"] == s, timeout=30)
                    out[f"{action}_from_b_reached_a_s"] = time.monotonic() - t
    finally:
        if b is not None:
            b.stop()
        a.stop()
    return out


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s (range {min(values):.2f}-{max(values):.2f}, n={len(values)})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3, help="crashes to measure (default 3)")
    p.add_argument("--epochs", type=int, default=8, help="the run's planned epochs (at least 4)")
    args = p.parse_args()
    print(f"cores: {os.cpu_count()}")
    crashes = []
    for i in range(args.repeats):
        root = Path(tempfile.mkdtemp(prefix="cnn-playground-crash-"))
        try:
            crashes.append(crash_once(root, max(4, args.epochs)))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        c = crashes[-1]
        print(
            f"crash {i + 1}: serving again after {c['serving_again_s']:.2f} s; run {c['status']} at epoch "
            f"{c['epoch']} (metrics kept: {c['metrics_kept']}); network predicts as its checkpoint: "
            f"{c['predicts_as_checkpoint']}, as before training: {c['predicts_as_untrained']}; resume -> "
            f"{c['final_status']} in {c['resume_s']:.1f} s, each epoch once: {c['each_epoch_once']}, "
            f"val accuracy {c['val_accuracy']:.1%}, predicts as the same run never interrupted: "
            f"{c['as_if_never_interrupted']}"
        )
    print(f"serving again after SIGKILL: {spread([c['serving_again_s'] for c in crashes])} (target: within 5 s)")
    root = Path(tempfile.mkdtemp(prefix="cnn-playground-two-"))
    try:
        two = two_servers(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"two servers: B started in {two['b_started_s']:.2f} s; A's run left alone: {two['run_left_alone']}; "
        f"a second run on its network through B: {two['second_run_status']} (target 409); A's half-written file "
        f"kept: {two['half_written_file_kept']}; B's pause reached A in {two['pause_from_b_reached_a_s']:.2f} s, "
        f"its stop in {two['stop_from_b_reached_a_s']:.2f} s"
    )


if __name__ == "__main__":
    main()
