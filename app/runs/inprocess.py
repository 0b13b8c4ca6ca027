"""The embedded runner backend: runs train in this process, on a fixed pool of worker threads.

At most `workers` runs train at once; the others wait in a first-come queue.
A run's worker loads the dataset and the weights named by its RunJob, trains,
and reports to the sink. When the run ends, everything it made (trainer,
network, optimizer state, the data split) goes with the worker's locals, and
its control record is dropped: nothing of a finished run stays in memory here.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import engine
from engine.data import Dataset
from engine.io import to_bytes
from engine.train import TrainConfig, Trainer

from . import weight_histograms
from .backend import RunJob, RunSink
from .status import RunStatus

log = logging.getLogger("cnn_playground.runs")

WEIGHTS_EVERY = 0.25  # seconds between weight snapshots for readers


class _Control:
    """Pause, resume and stop for one job, whether or not its trainer exists yet."""

    def __init__(self, job: RunJob, sink: RunSink):
        self.job, self.sink = job, sink
        self.lock = threading.Lock()
        self.trainer: Trainer | None = None
        self.paused = self.stopped = self.interrupted = False
        self.snapshot_step: int | None = None  # the step of the last weights snapshot reported

    def attach(self, trainer: Trainer) -> None:
        with self.lock:
            self.trainer = trainer
            if self.paused:
                trainer.pause()
            if self.stopped:
                trainer.stop()

    def pause(self) -> None:
        with self.lock:
            self.paused = True
            if self.trainer:
                self.trainer.pause()

    def resume(self) -> None:
        with self.lock:
            self.paused = False
            if self.trainer:
                self.trainer.resume()

    def stop(self, interrupt: bool = False) -> None:
        with self.lock:
            self.stopped = True
            self.interrupted |= interrupt
            if self.trainer:
                self.trainer.stop()


class InProcessRunner:
    def __init__(self, workers: int, load_dataset: Callable[[str], Dataset]):
        self.load_dataset = load_dataset
        self.controls: dict[str, _Control] = {}
        self.jobs: queue.Queue[_Control | None] = queue.Queue()
        self.closed = False
        self.threads = [
            threading.Thread(target=self._worker, name=f"run-worker-{i}", daemon=True) for i in range(workers)
        ]
        for t in self.threads:
            t.start()

    # ---- the backend's methods ----------------------------------------------------------
    def submit(self, job: RunJob, sink: RunSink) -> None:
        control = _Control(job, sink)
        self.controls[job.run_id] = control
        if self.closed:
            control.stop(interrupt=True)
        self.jobs.put(control)

    def pause(self, run_id: str) -> bool:
        return self._apply(run_id, _Control.pause)

    def resume(self, run_id: str) -> bool:
        return self._apply(run_id, _Control.resume)

    def stop(self, run_id: str) -> bool:
        return self._apply(run_id, _Control.stop)

    def running_here(self, run_id: str) -> bool:
        return run_id in self.controls

    def shutdown(self, timeout: float) -> None:
        self.closed = True
        for control in list(self.controls.values()):
            control.stop(interrupt=True)
        for _ in self.threads:
            self.jobs.put(None)  # after every queued job: those end at once, as interrupted
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def _apply(self, run_id: str, action) -> bool:
        control = self.controls.get(run_id)
        if control is None:
            return False
        action(control)
        return True

    # ---- the workers ----------------------------------------------------------------------
    def _worker(self) -> None:
        while True:
            control = self.jobs.get()
            if control is None:
                return
            try:
                self.execute(control)
            except Exception:  # the sink failed to record the end; the service's keeper will see it
                log.exception("run %s: its end could not be recorded", control.job.run_id)
            finally:
                self.controls.pop(control.job.run_id, None)
                control = None  # an idle worker holds nothing of the run it had

    def execute(self, control: _Control) -> None:
        """Train one job to its end, reporting to its sink (also used inside a Ray actor)."""
        job, sink = control.job, control.sink
        if control.stopped:  # stopped, or the server stopping, before a worker was free
            status = RunStatus.INTERRUPTED if control.interrupted else RunStatus.STOPPED
            why = (
                "the server stopped before the run could start"
                if control.interrupted
                else "stopped by request before it started"
            )
            sink.ended(job.run_id, {"type": "done", "status": status.value, "message": why}, None)
            return
        if not sink.started(job.run_id):
            return
        try:
            trainer = self._trainer(job, control)
            control.attach(trainer)
            if not job.resume:
                self._snapshot(control, trainer, "start")
            final = None
            for event in trainer.events():
                if event["type"] in ("done", "error"):
                    final = dict(event)
                    break
                sink.event(job.run_id, event)
        except Exception as e:  # a bad dataset or weights file: the run fails with the reason
            log.exception("run %s failed", job.run_id)
            sink.ended(job.run_id, {"type": "error", "status": "failed", "message": f"{type(e).__name__}: {e}"}, None)
            return
        final = final or {"type": "error", "status": "failed", "message": "the run ended without a result"}
        if final.get("status") == "stopped" and control.interrupted:
            final.update(status=RunStatus.INTERRUPTED.value, message="the server stopped during this run")
        keep = final.get("status") in (RunStatus.COMPLETED, RunStatus.STOPPED)
        # the weights it keeps, unless its last snapshot has them (stopped mid-epoch; early stop)
        if keep and control.snapshot_step != trainer.step:
            self._snapshot(control, trainer, "end")
        sink.ended(job.run_id, final, to_bytes(trainer.net) if keep else None)

    @staticmethod
    def _snapshot(control: _Control, trainer: Trainer, at: str) -> None:
        event = weight_histograms.snapshot(trainer.net, at, trainer.epoch, trainer.step)
        control.sink.event(control.job.run_id, event)
        control.snapshot_step = trainer.step

    def _trainer(self, job: RunJob, control: _Control) -> Trainer:
        sink = control.sink
        last = [0.0]

        def checkpoint(trainer: Trainer) -> None:
            # the snapshot first: a checkpoint saved means its epoch's snapshot is saved too
            if weight_histograms.due(trainer.epoch, trainer.config.epochs):
                self._snapshot(control, trainer, "epoch")
            sink.checkpoint(job.run_id, trainer.checkpoint_bytes({"run": job.run_id}), trainer.history[-1])

        def after_step(net: engine.Network) -> None:
            now = time.monotonic()
            if now - last[0] > WEIGHTS_EVERY:
                sink.weights(job.run_id, net)
                last[0] = now

        dataset = self.load_dataset(job.dataset)
        if job.resume:
            trainer = Trainer.from_checkpoint(job.weights, dataset, checkpoint=checkpoint, batch_hook=after_step)
            if weight_histograms.due(trainer.epoch, trainer.config.epochs):
                control.snapshot_step = trainer.step  # that checkpoint's snapshot is kept
            return trainer
        net = engine.load_checkpoint(job.weights)[0]
        return Trainer(net, dataset, TrainConfig.from_dict(job.config), checkpoint=checkpoint, batch_hook=after_step)
