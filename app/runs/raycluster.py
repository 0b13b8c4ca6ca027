"""The Ray runner backend (`serve --runner ray`): each run is a Ray actor; this server follows it.

A run is one named, detached actor (`run-<id>`, namespace cnn-playground) that asks
Ray for as many CPUs as the engine's threads. It receives the job, the bytes of the
weights to start from and the dataset through Ray's object store (so a worker on
another machine needs no shared disk), and trains on a thread of its own with the
in-process runner's code (InProcessRunner.execute), reporting into a queue instead of
the run service. This server takes that queue with a long poll, one thread per run,
and hands each report to the run service (the RunSink) as the in-process runner
would; a poll acknowledges what the previous one returned. Pause, resume and stop
are calls on the actor: the control channel.

The actor is detached, so it outlives the server that started it: when that server
dies, another server's keeper finds the run's owner gone and `adopt`s the run,
following the same actor from its last acknowledged report, and the run goes on.
When the actor's worker dies (a node lost, the process killed), the follower gets
Ray's actor error and reports the run interrupted: the run service gives the
network the weights of the run's last checkpoint, and `resume` goes on from it.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import ray
from ray.exceptions import RayActorError

import engine
from engine.data import Dataset
from engine.io import to_bytes

from .backend import RunJob, RunSink
from .inprocess import InProcessRunner, _Control

log = logging.getLogger("cnn_playground.runs")

NAMESPACE = "cnn-playground"
POLL_WAIT = 0.5  # seconds a poll waits for the actor's next report
GO_TIMEOUT = 600.0  # an actor whose start no server confirms in this long gives up
ROOT = Path(__file__).resolve().parent.parent.parent


def actor_name(run_id: str) -> str:
    return f"run-{run_id}"


def connect(address: str | None) -> None:
    """Join the Ray cluster at `address`, or start one on this machine (None)."""
    if ray.is_initialized():
        return
    # workers import this project as this server does (a checkout, or the installed package)
    ray.init(
        address=address,
        namespace=NAMESPACE,
        include_dashboard=False if address is None else None,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )


class _Reports:
    """A run's reports inside its actor, numbered, kept until a poll acknowledges them."""

    def __init__(self):
        self.cond = threading.Condition()
        self.items: list[tuple[int, str, object]] = []
        self.last = 0

    def put(self, kind: str, payload) -> None:
        with self.cond:
            if kind == "weights":  # readers want the newest weights only
                self.items = [i for i in self.items if i[1] != "weights"]
            self.last += 1
            self.items.append((self.last, kind, payload))
            self.cond.notify_all()

    def take(self, after: int | None, wait: float) -> list:
        with self.cond:
            if after is not None:
                self.items = [i for i in self.items if i[0] > after]
            if not self.items:
                self.cond.wait(wait)
            return list(self.items)


class _ActorSink:
    """The RunSink inside the actor: every report goes into the queue for the server to take."""

    def __init__(self, reports: _Reports):
        self.reports = reports
        self.go = threading.Event()
        self.allowed = False

    def started(self, run_id: str) -> bool:
        self.reports.put("started", None)
        return self.go.wait(GO_TIMEOUT) and self.allowed

    def event(self, run_id: str, event: dict) -> None:
        self.reports.put("event", event)

    def checkpoint(self, run_id: str, data: bytes, epoch_event: dict) -> None:
        self.reports.put("checkpoint", (data, epoch_event))

    def weights(self, run_id: str, net) -> None:
        self.reports.put("weights", to_bytes(net))

    def ended(self, run_id: str, final: dict, weights: bytes | None) -> None:
        self.reports.put("ended", (final, weights))


@ray.remote(max_restarts=0, max_concurrency=4)
class RunActor:
    """One run, training on a thread of its own while the server polls its reports."""

    def __init__(self, job: dict, weights: bytes, dataset: Dataset, threads: int):
        from ..threads import use_threads

        use_threads(threads)
        folder = Path(tempfile.mkdtemp(prefix="cnnp-run-"))
        path = folder / "start.npz"
        path.write_bytes(weights)
        self.job = replace(RunJob(**job), weights=str(path))
        self.reports = _Reports()
        self.sink = _ActorSink(self.reports)
        self.control = _Control(self.job, self.sink)
        runner = InProcessRunner(0, lambda name: dataset)

        def train():
            try:
                runner.execute(self.control)
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        threading.Thread(target=train, daemon=True).start()

    def poll(self, after: int | None, wait: float) -> list:
        return self.reports.take(after, wait)

    def go(self, allowed: bool) -> None:
        self.sink.allowed = allowed
        self.sink.go.set()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self, interrupt: bool = False) -> None:
        self.control.stop(interrupt)  # seen between batches, or as soon as the server confirms the start

    def pid(self) -> int:
        return os.getpid()


class RayRunner:
    def __init__(self, threads: int, load_dataset: Callable[[str], Dataset], address: str | None = None):
        connect(address)
        self.threads, self.load_dataset = threads, load_dataset
        self.controls: dict[str, ray.actor.ActorHandle] = {}
        self.closed = False
        self._datasets: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Dataset -> its ObjectRef
        self._lock = threading.Lock()

    # ---- the backend's methods ----------------------------------------------------------
    def submit(self, job: RunJob, sink: RunSink) -> None:
        if self.closed:
            sink.ended(
                job.run_id,
                {"type": "done", "status": "interrupted", "message": "the server stopped before the run could start"},
                None,
            )
            return
        weights = Path(job.weights).read_bytes()
        actor = RunActor.options(
            name=actor_name(job.run_id), namespace=NAMESPACE, lifetime="detached", num_cpus=self.threads
        ).remote(job.to_dict(), weights, self._dataset(job.dataset), self.threads)
        self._follow(job.run_id, actor, sink, after=0)

    def adopt(self, run_id: str, sink: RunSink) -> bool:
        """Follow a run whose server is gone, if its actor is still there."""
        actor = self.actor(run_id)
        if actor is None:
            return False
        self._follow(run_id, actor, sink, after=None)
        return True

    def has(self, run_id: str) -> bool:
        """Whether the run's actor is alive on the cluster."""
        return self.actor(run_id) is not None

    def actor(self, run_id: str):
        try:
            return ray.get_actor(actor_name(run_id), namespace=NAMESPACE)
        except ValueError:
            return None

    def pause(self, run_id: str) -> bool:
        return self._call(run_id, "pause")

    def resume(self, run_id: str) -> bool:
        return self._call(run_id, "resume")

    def stop(self, run_id: str) -> bool:
        return self._call(run_id, "stop")

    def running_here(self, run_id: str) -> bool:
        return run_id in self.controls

    def shutdown(self, timeout: float) -> None:
        """As the in-process runner: every run followed here stops between batches, as interrupted."""
        self.closed = True
        for run_id in list(self.controls):
            self._call(run_id, "stop", True)
        deadline = time.monotonic() + timeout
        while self.controls and time.monotonic() < deadline:
            time.sleep(0.05)

    def _call(self, run_id: str, what: str, *args) -> bool:
        """Send the call without waiting: Ray runs one caller's calls in order, so a call to an actor
        still waiting for CPUs runs once it has started."""
        actor = self.controls.get(run_id)
        if actor is None:
            return False
        getattr(actor, what).remote(*args)
        return True

    def _dataset(self, name: str):
        ds = self.load_dataset(name)
        with self._lock:
            ref = self._datasets.get(ds)
            if ref is None:
                ref = self._datasets[ds] = ray.put(ds)
        return ref

    # ---- following a run --------------------------------------------------------------------
    def _follow(self, run_id: str, actor, sink: RunSink, after: int | None) -> None:
        self.controls[run_id] = actor
        threading.Thread(
            target=self._drain, args=(run_id, actor, sink, after), name=f"ray-follow-{run_id}", daemon=True
        ).start()

    def _drain(self, run_id: str, actor, sink: RunSink, after: int | None) -> None:
        try:
            while True:
                try:
                    reports = ray.get(actor.poll.remote(after, POLL_WAIT))
                except RayActorError as e:
                    log.warning("run %s: its Ray actor died (%s)", run_id, type(e).__name__)
                    sink.ended(
                        run_id,
                        {
                            "type": "done",
                            "status": "interrupted",
                            "reason": "the Ray worker running this run stopped (its node was lost or its "
                            "process killed)",
                        },
                        None,
                    )
                    return
                for number, kind, payload in reports:
                    after = number
                    if kind == "started":
                        allowed = sink.started(run_id)
                        actor.go.remote(allowed)
                    elif kind == "event":
                        sink.event(run_id, payload)
                    elif kind == "checkpoint":
                        sink.checkpoint(run_id, *payload)
                    elif kind == "weights":
                        sink.weights(run_id, engine.load_checkpoint(io.BytesIO(payload))[0])
                    elif kind == "ended":
                        sink.ended(run_id, *payload)
                        ray.kill(actor)
                        return
        except Exception:  # the sink failed: the service's keeper sees the run lost
            log.exception("run %s: following its Ray actor failed", run_id)
        finally:
            self.controls.pop(run_id, None)
