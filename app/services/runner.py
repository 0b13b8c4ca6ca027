"""Runs: training outside the event loop, with events fanned out to clients.

Routes talk to a Runner (start, pause, resume, stop, subscribe, shutdown).
InProcessRunner trains each run in a worker thread, at most
`max_concurrent_runs` at once; further runs wait in the queue. A cluster
backend would implement the same methods.

Events flow one way: trainer (worker thread) -> Run.publish -> each
subscriber's bounded asyncio.Queue on the event loop (call_soon_threadsafe,
never blocking the worker). Batch events are thinned to at most
`batch_events_per_second` per run; epoch, status and final events always go
through. A subscriber whose queue fills is dropped, so a client that stops
reading never slows training.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import Protocol

import engine
from engine.data import DatasetError
from engine.io import to_bytes
from engine.train import Trainer, TrainConfig

from ..db import Database
from ..errors import Busy, Conflict, Invalid, NotFound, TooLarge
from ..files import FileStore, new_id
from ..settings import Settings
from .networks import NetworkService

FINAL = ("done", "error")


class Runner(Protocol):
    def start(self, network_id: str, dataset: str, config: dict) -> dict: ...
    def pause(self, run_id: str) -> dict: ...
    def resume(self, run_id: str) -> dict: ...
    def stop(self, run_id: str) -> dict: ...
    def subscribe(self, run_id: str, loop: asyncio.AbstractEventLoop) -> tuple["Subscriber", list[dict]]: ...
    def shutdown(self, timeout: float = 5.0) -> None: ...


class Subscriber:
    """One client's view of a run's events: a bounded queue on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=size)
        self.dropped = False
        self.behind = asyncio.Event()  # set on the drop: wakes a handler stuck sending to a client that stopped reading

    def offer(self, event: dict) -> None:
        """From any thread; never blocks."""
        try:
            self.loop.call_soon_threadsafe(self._put, event)
        except RuntimeError:  # the loop is closed
            self.dropped = True

    def _put(self, event: dict) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = True  # too far behind: the socket handler closes the connection
            self.queue = asyncio.Queue(maxsize=1)
            self.queue.put_nowait({"type": "dropped"})
            self.behind.set()


def clean(value):
    """JSON-safe: NaN and infinity become None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


class Run:
    def __init__(self, id: str, network_id: str, dataset: str, config: TrainConfig, total_steps: int):
        self.id, self.network_id, self.dataset, self.config = id, network_id, dataset, config
        self.status = "queued"
        self.trainer: Trainer | None = None
        self.lock = threading.Lock()
        self.subscribers: set[Subscriber] = set()
        self.history: list[dict] = []     # what a late joiner is sent first (also persisted)
        self.seq = 0
        self.last_sent = 0.0
        self.last_batch: dict | None = None
        self.keep_every = max(1, total_steps // 1000)  # batch events kept in history: about 1,000
        self.cancelled = threading.Event()
        self.thread: threading.Thread | None = None
        self.shutting_down = False

    def publish(self, event: dict, min_interval: float) -> dict | None:
        """Number the event, keep it in the history if it belongs there, and fan it out.

        Returns the event if it was added to the history (to persist)."""
        event = clean(event)
        with self.lock:
            self.seq += 1
            event["seq"] = self.seq
            keep = event["type"] != "batch" or event["step"] % self.keep_every == 0
            if keep:
                self.history.append(event)
            if event["type"] == "batch":
                self.last_batch = event
                now = time.monotonic()
                if now - self.last_sent < min_interval and event.get("batch") != event.get("batches"):
                    return event if keep else None
                self.last_sent = now
            targets = list(self.subscribers)
        for s in targets:
            s.offer(event)
        return event if keep else None


class InProcessRunner:
    def __init__(self, settings: Settings, db: Database, files: FileStore, networks: NetworkService, datasets):
        self.settings, self.db, self.files, self.networks, self.datasets = settings, db, files, networks, datasets
        self.runs: dict[str, Run] = {}
        self.slots = threading.Semaphore(settings.max_concurrent_runs)
        self.lock = threading.Lock()
        self.closed = False

    # ---- starting -----------------------------------------------------------------
    def start(self, network_id: str, dataset: str, config: dict) -> dict:
        if self.closed:
            raise Conflict("the server is shutting down")
        self.networks.get(network_id)
        try:
            cfg = TrainConfig.from_dict(config)
        except (ValueError, TypeError) as e:
            raise Invalid(str(e)) from None
        if cfg.batch_size > self.settings.max_batch_size:
            raise TooLarge(f"batch_size {cfg.batch_size} is over this server's limit of {self.settings.max_batch_size}")
        if cfg.epochs > self.settings.max_epochs:
            raise TooLarge(f"epochs {cfg.epochs} is over this server's limit of {self.settings.max_epochs}")
        entry = self.networks.entry(network_id)
        summary = engine.summarize(entry.net.spec)
        step_bytes = summary["totals"]["activation_bytes"] * cfg.batch_size * 3  # outputs, caches, gradients
        if step_bytes > self.settings.max_step_activation_bytes:
            raise TooLarge(f"a training step would need about {step_bytes / 2**20:,.0f} MiB of activations "
                           f"(batch {cfg.batch_size}); the limit is {self.settings.max_step_activation_bytes / 2**20:,.0f} MiB: "
                           "use a smaller batch")
        ds = self.datasets.load(dataset)
        with self.lock:
            queued = sum(1 for r in self.runs.values() if r.status == "queued")
            if queued >= self.settings.max_queued_runs:
                raise Busy(f"{queued} runs are already waiting; try again when one has finished")
            with entry.lock:
                if entry.run_id:
                    raise Conflict(f"network {network_id} is already training in run {entry.run_id}; "
                                   "stop that run or make a copy of the network")
                try:
                    trainer = Trainer(entry.net, ds, cfg, checkpoint=None)
                except (DatasetError, ValueError) as e:
                    raise Invalid(str(e)) from None
                run = Run(new_id(), network_id, dataset, cfg, trainer.steps_per_epoch * cfg.epochs)
                run.trainer = trainer
                entry.run_id = run.id
                entry.publish()
            self.runs[run.id] = run
        self.db.insert_run(run.id, network_id, dataset, cfg.to_dict())
        run.thread = threading.Thread(target=self._work, args=(run, entry), name=f"run-{run.id}", daemon=True)
        run.thread.start()
        return self.describe(run.id)

    # ---- the worker -----------------------------------------------------------------
    def _work(self, run: Run, entry) -> None:
        interval = 1.0 / self.settings.batch_events_per_second
        pending: list[dict] = []
        last_flush = time.monotonic()
        last_publish = 0.0

        def flush():
            nonlocal pending, last_flush
            self._persist(run.id, pending)
            pending = []
            last_flush = time.monotonic()

        def checkpoint(net, optimizer, epoch):
            self.files.write("checkpoints", run.id, to_bytes(net, optimizer, {"epoch": epoch, "run": run.id}))
            self.db.update_run(run.id, checkpoint=run.id, steps=run.trainer.step)

        def after_step(net):
            nonlocal last_publish
            now = time.monotonic()
            if now - last_publish > 0.25:
                entry.publish()
                last_publish = now

        run.trainer.checkpoint = checkpoint
        run.trainer.batch_hook = after_step
        try:
            self.slots.acquire()
            try:
                if run.cancelled.is_set():
                    run.trainer.stop()
                run.status = "running"
                self.db.update_run(run.id, status="running", started=time.time())
                run.publish({"type": "status", "status": "running", "step": 0}, 0)
                final = None
                for event in run.trainer.events():
                    if event["type"] in FINAL:
                        final = event  # published once the run's state is saved, so readers agree with it
                        break
                    if event["type"] == "status":
                        run.status = event["status"]
                        self.db.update_run(run.id, status=run.status)
                    kept = run.publish(event, interval)
                    if kept is not None:
                        pending.append(kept)
                    if event["type"] != "batch" or time.monotonic() - last_flush > 2.0:
                        flush()
            finally:
                self.slots.release()
            final = dict(final or {"type": "error", "status": "failed", "message": "the run ended without a result"})
            status = final.get("status", "failed")
            if status == "stopped" and run.shutting_down:
                status = final["status"] = "interrupted"
                final["message"] = "the server stopped during this run; its last checkpoint is kept"
            with entry.lock:
                if status in ("completed", "stopped", "interrupted"):
                    self.networks.save_weights(run.network_id, entry.net)
                    checkpoint(entry.net, run.trainer.optimizer, len(run.trainer.history))
                elif status == "diverged":
                    # the diverged weights are useless: the network keeps the ones it had before the run
                    entry.net = engine.load_checkpoint(self.files.read("networks", run.network_id))[0]
                entry.run_id = None
                entry.snapshot = None
            self.db.update_run(run.id, status=status, message=final.get("message"), finished=time.time(),
                               steps=run.trainer.step, metrics=clean(final.get("metrics")),
                               evaluation=clean(final.get("evaluation")))
            run.status = status
            pending.append(run.publish(final, 0))
            flush()
        except Exception as e:  # the run ends with its reason; the server goes on
            with entry.lock:
                entry.run_id = None
                entry.snapshot = None
            run.status = "failed"
            final = {"type": "error", "status": "failed", "message": f"{type(e).__name__}: {e}"}
            kept = run.publish(final, 0)
            self._persist(run.id, [kept])
            self.db.update_run(run.id, status="failed", message=final["message"], finished=time.time())

    def _persist(self, run_id: str, events: list[dict]) -> None:
        if events:
            self.db.add_events(run_id, events)

    def uses_dataset(self, name: str) -> bool:
        return any(r.dataset == name and r.status in ("queued", "running", "paused") for r in self.runs.values())

    # ---- control ----------------------------------------------------------------------
    def _active(self, run_id: str) -> Run:
        run = self.runs.get(run_id)
        if run is None:
            if self.db.run(run_id) is None:
                raise NotFound(f"no run with id {run_id!r}")
            raise Conflict(f"run {run_id} has finished")
        if run.status not in ("queued", "running", "paused"):
            raise Conflict(f"run {run_id} has finished ({run.status})")
        return run

    def pause(self, run_id: str) -> dict:
        run = self._active(run_id)
        run.trainer.pause()
        return self.describe(run_id)

    def resume(self, run_id: str) -> dict:
        run = self._active(run_id)
        run.trainer.resume()
        return self.describe(run_id)

    def stop(self, run_id: str) -> dict:
        run = self._active(run_id)
        run.cancelled.set()
        run.trainer.stop()
        return self.describe(run_id)

    def wait(self, run_id: str, timeout: float = 60) -> dict:
        run = self.runs.get(run_id)
        if run and run.thread:
            run.thread.join(timeout)
        return self.describe(run_id)

    # ---- reading ------------------------------------------------------------------------
    def describe(self, run_id: str, history: bool = False) -> dict:
        row = self.db.run(run_id)
        if row is None:
            raise NotFound(f"no run with id {run_id!r}")
        run = self.runs.get(run_id)
        out = {k: row[k] for k in ("id", "network_id", "dataset", "config", "status", "message", "created",
                                   "started", "finished", "steps", "metrics", "evaluation", "checkpoint")}
        if run is not None and run.status in ("queued", "running", "paused"):
            out["status"] = run.status
            out["steps"] = run.trainer.step if run.trainer else 0
            out["last_batch"] = run.last_batch
        if history:
            if run is not None:
                with run.lock:
                    out["history"] = list(run.history)
            else:
                out["history"] = self.db.events(run_id)
        return out

    def subscribe(self, run_id: str, loop) -> tuple[Subscriber | None, list[dict]]:
        """(subscriber or None when the run has ended, the history so far)."""
        run = self.runs.get(run_id)
        if run is None:
            if self.db.run(run_id) is None:
                raise NotFound(f"no run with id {run_id!r}")
            return None, self.db.events(run_id)
        with run.lock:
            history = list(run.history)
            if run.status not in ("queued", "running", "paused") and history and history[-1]["type"] in FINAL:
                return None, history
            if len(run.subscribers) >= self.settings.max_ws_clients:
                raise Busy("too many clients are following this run")
            sub = Subscriber(loop, self.settings.ws_queue_size)
            run.subscribers.add(sub)
        return sub, history

    def unsubscribe(self, run_id: str, sub: Subscriber) -> None:
        run = self.runs.get(run_id)
        if run is not None:
            with run.lock:
                run.subscribers.discard(sub)

    # ---- stopping --------------------------------------------------------------------------
    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every run between batches, wait for the workers, mark the rest interrupted."""
        self.closed = True
        for run in list(self.runs.values()):
            if run.status in ("queued", "running", "paused"):
                run.shutting_down = True
                run.cancelled.set()
                run.trainer.stop()
        deadline = time.monotonic() + timeout
        for run in list(self.runs.values()):
            if run.thread is not None:
                run.thread.join(max(0.0, deadline - time.monotonic()))
        self.db.mark_interrupted()
