"""The run service: the one owner of a run's life, and the only way routers reach runs.

It checks a request against the limits, writes the run's row, hands the job to
the runner backend, and takes the backend's reports (RunSink): each status
change goes through the transition table into the database, events are
numbered and fanned out by the event bus and saved, checkpoints are written at
every epoch end, and at the end the network's weights and the run's row change
in one transaction.

The database is the truth, so several servers can share one: each run has an
owner (the server instance that executes it) and a lease it renews. A keeper
thread renews this server's leases, carries out pause/resume/stop requests
other servers left for its runs, and interrupts runs whose owner is gone
(its lock file is free, or its lease expired) but never a live server's run.
An interrupted run's network gets the weights of the run's last checkpoint,
and `resume` continues the same run from there to its planned epochs.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import numpy as np

import engine
from engine.data import DatasetError
from engine.io import read_checkpoint, to_bytes
from engine.train import TrainConfig, check_fit, steps_per_epoch

from .. import access
from ..errors import Conflict, Invalid, TooLarge
from ..files import FileStore, new_id
from ..instance import LEASE_SECONDS, RENEW_SECONDS, Instance
from ..services.datasets import DatasetService
from ..services.networks import NetworkService
from ..settings import Settings
from . import weight_histograms
from .backend import RunJob, RunnerBackend
from .events import EventBus, Stream, clean
from .status import RunStatus
from .store import RunStore

log = logging.getLogger("cnn_playground.runs")

SAVE_EVERY = 2.0  # seconds between saves of a run's batch events and step count
# How long pause, resume and stop wait for the run to get there before answering: the trainer
# takes a request between two batches, and a server running the run elsewhere looks every
# second. Past it, the answer shows the run as it is, the request still on its way.
SETTLE_SECONDS = 5.0
PUBLIC = (
    "id",
    "network_id",
    "dataset",
    "config",
    "message",
    "created",
    "started",
    "finished",
    "steps",
    "epoch",
    "metrics",
    "evaluation",
    "checkpoint",
    "request",
)


def epoch_metrics(event: dict) -> dict:
    """A run's metrics as of an epoch event (what an interrupted run shows)."""
    return {
        "train_loss": event.get("train_loss"),
        "train_accuracy": event.get("train_accuracy"),
        "val_loss": event.get("val_loss"),
        "val_accuracy": event.get("val_accuracy"),
        "test_accuracy": None,
        "test_loss": None,
        "epochs": event.get("epoch"),
    }


class RunService:
    def __init__(
        self,
        settings: Settings,
        files: FileStore,
        store: RunStore,
        networks: NetworkService,
        datasets: DatasetService,
        instance: Instance,
        backend: RunnerBackend,
    ):
        self.settings, self.files, self.store = settings, files, store
        self.networks, self.datasets, self.instance, self.backend = networks, datasets, instance, backend
        self.bus = EventBus(store, settings.batch_events_per_second, settings.ws_queue_size, settings.max_ws_clients)
        self.closed = False
        self.policy = access.OpenPolicy()  # the classroom's locks, once it is wired in
        self._network_of: dict[str, str] = {}  # run id -> network id, for the runs executing here
        self._saved: dict[str, float] = {}  # run id -> when its events were last saved
        self._launching: set[str] = set()  # runs queued in the database, not yet handed to the backend
        self._stopping = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="run-keeper", daemon=True)

    @property
    def me(self) -> str:
        return self.instance.id

    def open(self) -> None:
        """At start: interrupt the runs whose server is gone, then keep watch."""
        self.reap()
        self._keeper.start()

    # ---- starting ---------------------------------------------------------------------------
    def start(self, network_id: str, dataset: str, config: dict) -> dict:
        """Check everything that can be checked now, then queue the run; its description."""
        if self.closed:
            raise Conflict("the server is shutting down; start the run again once it is back")
        row = self.networks.get(network_id)
        self.policy.run(config, dataset)
        cfg = self._config(config)
        per_example = engine.summarize(row["spec"])["totals"]["activation_bytes"]
        step_bytes = per_example * cfg.batch_size * 3  # outputs, caches, gradients
        if step_bytes > self.settings.max_step_activation_bytes:
            raise TooLarge(
                f"a training step would need about {step_bytes / 2**20:,.0f} MiB of activations "
                f"(batch {cfg.batch_size}); the limit is "
                f"{self.settings.max_step_activation_bytes / 2**20:,.0f} MiB: use a smaller batch"
            )
        ds = self.datasets.load(dataset)
        self._check_fit(network_id, ds, cfg)
        run_id = new_id()
        self._launching.add(run_id)
        try:
            self.store.insert(run_id, network_id, dataset, cfg.to_dict(), self.me, self.settings.max_queued_runs)
            job = RunJob(run_id, network_id, dataset, cfg.to_dict(), str(self.files.path("networks", network_id)))
            facts = self._network_facts(network_id)
            first = {"type": "status", "status": "queued", "step": 0, "network": facts}
            self._launch(job, steps_per_epoch(ds, cfg) * cfg.epochs, first)
        finally:
            self._launching.discard(run_id)
        return self.describe(run_id)

    def _config(self, config: dict) -> TrainConfig:
        try:
            return TrainConfig.from_dict(config)
        except (ValueError, TypeError) as e:
            raise Invalid(str(e)) from None

    def _network_facts(self, network_id: str) -> dict:
        """What a run's settings do not say of the network it trains: its dropout layers' p (a
        layer field, not a run option) and its parameter count, as they are when it starts."""
        with self.networks.entry(network_id).reading() as net:
            dropout = [float(layer.cfg["p"]) for layer in net.layers() if layer.type == "dropout"]
            return {"dropout": dropout, "params": net.num_params()}

    def _check_fit(self, network_id: str, ds, cfg: TrainConfig) -> None:
        with self.networks.entry(network_id).reading() as net:
            try:
                check_fit(net, ds, cfg)
            except DatasetError as e:
                raise Invalid(str(e)) from None

    def _launch(self, job: RunJob, total_steps: int, first_event: dict | None) -> None:
        self._network_of[job.run_id] = job.network_id
        channel = self.bus.open(job.run_id, total_steps)
        if first_event is not None:
            channel.publish(first_event)
            self._save(job.run_id)
        self.backend.submit(job, self)

    # ---- control ----------------------------------------------------------------------------
    def pause(self, run_id: str) -> dict:
        row = self.store.require(run_id)
        if row["status"] not in (RunStatus.QUEUED, RunStatus.RUNNING):
            raise Conflict(f"run {run_id} is {row['status']}; only a queued or running run can be paused")
        self._control(row, "pause")
        return self._settled(run_id, lambda status: status is RunStatus.PAUSED or not status.active)

    def resume(self, run_id: str) -> dict:
        """A paused run goes on; an interrupted one restarts from its last checkpoint."""
        row = self.store.require(run_id)
        if row["status"] is RunStatus.PAUSED:
            self._control(row, "resume")
            return self._settled(run_id, lambda status: status is not RunStatus.PAUSED)
        if row["status"] is RunStatus.INTERRUPTED:
            return self._restart(row)
        if row["status"].active:
            raise Conflict(f"run {run_id} is {row['status']}, not paused: there is nothing to resume")
        raise Conflict(
            f"run {run_id} has ended ({row['status']}); only a paused or interrupted run can be "
            "resumed: start a new run to train the network further"
        )

    def stop(self, run_id: str) -> dict:
        row = self.store.require(run_id)
        if not row["status"].active:
            raise Conflict(f"run {run_id} has finished ({row['status']})")
        self._control(row, "stop")
        return self._settled(run_id, lambda status: not status.active)

    def _control(self, row: dict, what: str) -> None:
        if row["owner"] == self.me and getattr(self.backend, what)(row["id"]):
            return
        self.store.request(row["id"], what)  # for the server that runs it (its keeper looks every second)

    def _settled(self, run_id: str, arrived: Callable[[RunStatus], bool]) -> dict:
        """The run once its status has `arrived` (or SETTLE_SECONDS on): what a request brought about."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while not arrived(self.store.require(run_id)["status"]) and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.describe(run_id)

    def _restart(self, row: dict) -> dict:
        run_id, network_id = row["id"], row["network_id"]
        if self.closed:
            raise Conflict("the server is shutting down; resume the run once it is back")
        later = [r["id"] for r in self.store.list(network_id) if r["created"] > row["created"]]
        if later:
            raise Conflict(
                f"network {network_id} was trained again after run {run_id} was interrupted (run "
                f"{later[-1]}), so this run cannot go on from its checkpoint; start a new run"
            )
        cfg = self._config(row["config"])
        ds = self.datasets.load(row["dataset"])
        self._check_fit(network_id, ds, cfg)
        path = self.files.path("checkpoints", row["checkpoint"]) if row["checkpoint"] else None
        steps = 0
        if path is not None and path.exists():
            saved = read_checkpoint(path)
            state = saved.meta.get("trainer")
            if not isinstance(state, dict):
                raise Conflict(
                    f"run {run_id} was interrupted under an older version of the server, whose "
                    "checkpoints hold no training state; its network has the checkpoint's weights: "
                    "start a new run to train it further"
                )
            self._check_unchanged(network_id, saved.net, run_id)
            steps = state["step"]
            job = RunJob(run_id, network_id, row["dataset"], cfg.to_dict(), str(path), resume=True)
            why = f"resumed from the checkpoint of epoch {state['epoch']} of {cfg.epochs}"
        else:  # interrupted before its first epoch ended: it starts again, from the network as it is
            job = RunJob(
                run_id, network_id, row["dataset"], cfg.to_dict(), str(self.files.path("networks", network_id))
            )
            why = "started again from the beginning (it was interrupted before its first epoch ended)"
        # the log keeps what the checkpoint holds (its epochs and their weights); numbering goes on,
        # so a follower never sees a seq twice
        held = [
            e for e in self.store.events(run_id) if e["type"] in ("epoch", "weights") and e["epoch"] <= row["epoch"]
        ]
        keep_until = held[-1]["seq"] if (held and job.resume) else 0
        resumed = {
            "type": "status",
            "status": "queued",
            "step": steps,
            "message": why,
            "seq": self.store.last_seq(run_id) + 1,
        }
        if not job.resume:  # its log starts again: it says again what network it trains
            resumed["network"] = self._network_facts(network_id)
        self._launching.add(run_id)
        try:
            if not self.store.requeue(run_id, self.me, keep_until, resumed, steps):
                raise Conflict(f"run {run_id} was resumed by another request meanwhile")
            self._launch(job, steps_per_epoch(ds, cfg) * cfg.epochs, None)
        finally:
            self._launching.discard(run_id)
        return self.describe(run_id)

    def _check_unchanged(self, network_id: str, checkpoint_net: engine.Network, run_id: str) -> None:
        with self.networks.entry(network_id).reading() as net:
            same = net.spec == checkpoint_net.spec and all(
                np.array_equal(v, checkpoint_net.state_dict()[k]) for k, v in net.state_dict().items()
            )
        if not same:
            raise Conflict(
                f"network {network_id} has changed since run {run_id} was interrupted (it was edited or "
                "reinitialized), so the run cannot go on from its checkpoint; start a new run"
            )

    # ---- reading ----------------------------------------------------------------------------
    def describe(self, run_id: str, history: bool = False) -> dict:
        return self._public(self.store.require(run_id), history)

    def list(self, network_id: str | None = None) -> list[dict]:
        return [self._public(r) for r in self.store.list(network_id)]

    def _public(self, row: dict, history: bool = False) -> dict:
        out = {k: row[k] for k in PUBLIC}
        status = row["status"]
        out.update(
            status=status.value,
            epochs=row["config"].get("epochs"),
            resumable=status.resumable,
            network=self.store.network_facts(row["id"]),
        )
        channel = self.bus.channel(row["id"])
        if status.active:
            last = channel.last_batch if channel else self.store.last_event(row["id"], "batch")
            out["last_batch"] = last
            if last and last.get("step", 0) > out["steps"]:
                out["steps"] = last["step"]
        if history:
            if channel is not None:
                with channel.lock:
                    out["history"] = list(channel.history)
            else:
                out["history"] = self.store.events(row["id"])
        return out

    METRIC_SKIP = ("type", "seq")

    def metric_rows(self, run_id: str, kind: str = "epoch") -> list[dict]:
        """The run's epoch (or batch) events as flat rows, oldest first: what a DataFrame takes."""
        history = self.describe(run_id, history=True)["history"] or []
        return [{k: v for k, v in e.items() if k not in self.METRIC_SKIP} for e in history if e.get("type") == kind]

    def checkpoint_file(self, run_id: str) -> tuple[bytes, str]:
        """The run's last checkpoint and a file name for it (network name and epoch)."""
        row = self.store.require(run_id)
        if not row["checkpoint"]:
            raise Conflict(f"run {run_id} has no checkpoint yet: one is saved at the end of each epoch")
        try:
            data = self.files.read("checkpoints", row["checkpoint"])
        except OSError:
            raise Conflict(f"the checkpoint of run {run_id} is gone from the server") from None
        network = self.networks.db.network(row["network_id"])
        return data, f"{network['name'] if network else 'network'}-{run_id}-epoch{row['epoch']}"

    def delete(self, run_id: str) -> None:
        """A run that has ended, with its events (cascaded) and its checkpoint file."""
        row = self.store.require(run_id)
        if row["status"].active:
            raise Conflict(f"run {run_id} is {row['status']}; stop it first, then delete it")
        if not self.store.delete(run_id):
            raise Conflict(f"run {run_id} started again meanwhile; stop it first, then delete it")
        if row["checkpoint"]:
            self.files.delete("checkpoints", row["checkpoint"])
        self._forget(run_id)

    def weight_snapshots(self, run_id: str) -> dict:
        """The run's weight histograms, oldest first (see weight_histograms.py). A run from before
        they were kept gets one made from its checkpoint, if it has one."""
        row = self.store.require(run_id)
        snapshots = self.store.events_of_type(run_id, "weights")
        if not snapshots and row["checkpoint"]:
            path = self.files.path("checkpoints", row["checkpoint"])
            try:
                saved = read_checkpoint(path)
            except (OSError, engine.CheckpointError) as e:
                log.warning("run %s: no weights from its checkpoint (%s)", run_id, e)
            else:
                state = saved.meta.get("trainer") or {}
                epoch, step = state.get("epoch", row["epoch"]), state.get("step", row["steps"])
                snapshots = [weight_histograms.snapshot(saved.net, "epoch", epoch, step)]
        return {
            "run_id": run_id,
            "status": row["status"].value,
            "bins": weight_histograms.BINS,
            "near_zero_below": weight_histograms.NEAR_ZERO,
            "snapshots": snapshots,
        }

    def follow(self, run_id: str, after: int, loop: asyncio.AbstractEventLoop) -> Stream:
        return self.bus.follow(run_id, after, loop)

    def count_active(self) -> int:
        return self.store.count_active()

    def uses_dataset(self, name: str) -> bool:
        return self.store.uses_dataset(name)

    # ---- what the backend reports (RunSink), on its worker threads --------------------------------
    def started(self, run_id: str) -> bool:
        row = self.store.get(run_id)
        if row is not None and row["owner"] == self.me and row["status"] in (RunStatus.RUNNING, RunStatus.PAUSED):
            return True  # said again to a server that adopted the run (its first owner had it already)
        if row is None or not self.store.move(
            run_id, RunStatus.RUNNING, self.me, started=row["started"] or time.time()
        ):
            return False
        self.bus.channel(run_id).publish({"type": "status", "status": "running", "step": row["steps"]})
        self._save(run_id)
        return True

    def event(self, run_id: str, event: dict) -> None:
        channel = self.bus.channel(run_id)
        if event["type"] == "status":
            status, steps = RunStatus(event["status"]), event.get("step", 0)
            moved = self.store.move(run_id, status, self.me, steps=steps)
            if not moved:
                self.backend.stop(run_id)  # another server has taken the run over
        channel.publish(event)
        if event["type"] != "batch" or time.monotonic() - self._saved.get(run_id, 0) > SAVE_EVERY:
            self._save(run_id)

    def checkpoint(self, run_id: str, data: bytes, epoch_event: dict) -> None:
        self.files.write("checkpoints", run_id, data)
        self._save(
            run_id,
            checkpoint=run_id,
            epoch=epoch_event["epoch"],
            steps=epoch_event["step"],
            metrics=clean(epoch_metrics(epoch_event)),
        )

    def weights(self, run_id: str, net: engine.Network) -> None:
        network_id = self._network_of.get(run_id)
        if network_id is not None:
            self.networks.show_training(network_id, net.copy())

    def ended(self, run_id: str, final: dict, weights: bytes | None) -> None:
        try:
            status = RunStatus(final.get("status", "failed"))
            row = self.store.get(run_id)
            if row is None:
                return
            if status is RunStatus.INTERRUPTED:
                self._interrupt(row, final.get("reason") or "the server was stopped during this run", owner=self.me)
                return
            metrics = final.get("metrics") or row["metrics"]
            fields = {
                "message": final.get("message"),
                "metrics": clean(metrics),
                "evaluation": clean(final.get("evaluation")),
            }
            if "steps" in final:
                fields["steps"] = final["steps"]
            event = {**final, "type": "error" if status is RunStatus.FAILED else "done", "status": status.value}

            def keep_weights(c, row):
                if weights is not None:
                    self.networks.write_weights(c, row["network_id"], weights)

            self._end(row, status, event, keep_weights, owner=self.me, **fields)
        finally:
            self._forget(run_id)

    # ---- ends ---------------------------------------------------------------------------------
    def _end(self, row: dict, status: RunStatus, event: dict, inside, owner: str | None, **fields) -> bool:
        """Publish the final event and end the run in one transaction with its weights."""
        run_id = row["id"]
        channel = self.bus.channel(run_id)
        if channel is not None:
            channel.publish(event)
            events = channel.take_unsaved()
        else:
            events = [{**clean(event), "seq": self.store.last_seq(run_id) + 1}]
        ok = self.store.end(run_id, status, owner, events, inside, **fields)
        self.networks.training_ended(row["network_id"])
        self.bus.close(run_id)
        return ok

    def _interrupt(self, row: dict, why: str, owner: str | None) -> bool:
        """End an active run as interrupted: its network gets the weights of its last checkpoint."""
        metrics = row["metrics"]
        if metrics is None:  # written before runs kept their metrics as they went
            last = self.store.last_event(row["id"], "epoch")
            metrics = epoch_metrics(last) if last else None
        epochs = row["config"].get("epochs")
        path = self.files.path("checkpoints", row["checkpoint"]) if row["checkpoint"] else None
        saved = None
        if path is not None and path.exists():
            try:
                saved = read_checkpoint(path)
            except engine.CheckpointError as e:
                log.warning("run %s: its checkpoint cannot be read (%s); the network keeps its weights", row["id"], e)
        if saved is not None:
            done = saved.meta.get("trainer", {}).get("epoch", row["epoch"])
            then = f"the network has the weights of its last checkpoint, after epoch {done} of {epochs}; " + (
                "resume to go on from there"
                if "trainer" in saved.meta
                else "this run cannot be resumed (an older version made its checkpoint): start a new run"
            )
        else:
            then = "it had not finished an epoch, so the network keeps the weights it had; resume starts it again"
        message = f"{why}; {then}"

        def restore(c, row):
            if saved is not None:
                self.networks.write_weights(c, row["network_id"], to_bytes(saved.net))

        event = {
            "type": "done",
            "status": RunStatus.INTERRUPTED.value,
            "message": message,
            "metrics": metrics,
            "steps": row["steps"],
        }
        return self._end(
            row, RunStatus.INTERRUPTED, event, restore, owner=owner, message=message, metrics=clean(metrics)
        )

    def _save(self, run_id: str, **fields) -> None:
        channel = self.bus.channel(run_id)
        events = channel.take_unsaved() if channel else []
        if channel is not None and channel.last_batch and "steps" not in fields:
            fields["steps"] = channel.last_batch["step"]
        self._saved[run_id] = time.monotonic()
        if not self.store.progress(run_id, self.me, events, **fields):
            self.backend.stop(run_id)  # another server interrupted it (it thought this one was gone)

    def _forget(self, run_id: str) -> None:
        self._network_of.pop(run_id, None)
        self._saved.pop(run_id, None)

    # ---- keeping watch ----------------------------------------------------------------------------
    def reap(self) -> int:
        """Interrupt the active runs whose server is gone; never a live server's. Returns how many."""
        now, n = time.time(), 0
        for row in self.store.active_elsewhere(self.me):
            alive = self.instance.alive(row["owner"])
            expired = row["heartbeat"] is None or row["heartbeat"] < now - LEASE_SECONDS
            if alive is False or (alive is None and expired):
                if self._adopt(row):
                    continue
                n += self._interrupt(
                    row, "the server running this run stopped (it was killed or crashed)", owner=row["owner"]
                )
        return n

    def _adopt(self, row: dict) -> bool:
        """Follow a run whose server is gone but whose worker goes on (a Ray actor): it is this
        server's from now on. False when the backend cannot (in-process runs die with their server)."""
        has = getattr(self.backend, "has", None)
        if has is None or not has(row["id"]):
            return False
        run_id = row["id"]
        if not self.store.take_over(run_id, row["owner"], self.me):
            return True  # another server adopted it first
        last = self.store.last_event(run_id, "batch")
        total = (last or {}).get("batches", 1000) * (row["config"].get("epochs") or 1)
        self._network_of[run_id] = row["network_id"]
        self.bus.open(run_id, total)
        if not self.backend.adopt(run_id, self):  # its actor ended meanwhile
            self._interrupt(
                self.store.get(run_id), "its Ray worker ended while another server took it over", owner=self.me
            )
        log.info("run %s: adopted from server %s", run_id, row["owner"])
        return True

    def _keep(self) -> None:
        renewed = 0.0
        while not self._stopping.wait(1.0):
            try:
                for run_id, what in self.store.requests_for(self.me):
                    getattr(self.backend, what)(run_id)
                    self.store.clear_request(run_id, what)
                if time.monotonic() - renewed >= RENEW_SECONDS:
                    renewed = time.monotonic()
                    self.store.renew(self.me)
                    self.reap()
                    self._fail_lost()
            except Exception:  # a locked or unwritable database: try again in a second
                log.exception("keeping watch over runs")

    def _fail_lost(self) -> None:
        """Our active runs that no worker here has (a worker that died without reporting) fail."""
        for row in self.store.active_owned_by(self.me):
            # launching first: a run leaves that set only once the backend has it
            if row["id"] not in self._launching and not self.backend.running_here(row["id"]):
                message = "the worker running this run stopped without reporting; the network keeps its weights"
                self._end(
                    row,
                    RunStatus.FAILED,
                    {"type": "error", "status": "failed", "message": message},
                    None,
                    owner=self.me,
                    message=message,
                )

    # ---- stopping -----------------------------------------------------------------------------------
    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every run here between batches; each ends interrupted, resumable from its checkpoint."""
        self.closed = True
        self._stopping.set()
        if self._keeper.is_alive():
            self._keeper.join(timeout)
        self.backend.shutdown(timeout)
        for row in self.store.active_owned_by(self.me):  # a worker that did not stop in time
            self._interrupt(row, "the server was stopped during this run", owner=self.me)
