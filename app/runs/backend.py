"""What a runner backend is: it executes runs and reports on them, and owns nothing else.

The run service hands a backend a RunJob, plain data that could cross to another
process or machine, and the backend reports what happens through the RunSink
the service gives it: the run started, an event, a checkpoint, the weights so
far (for readers while it trains), the end. Pause, resume and stop are
requests the backend carries out between batches. The database, the events'
numbering and fan-out, the network's weights and the status transitions all
stay with the service, so a backend that runs jobs elsewhere (a cluster)
implements these few methods and nothing in the routers changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

import engine


@dataclass(frozen=True)
class RunJob:
    run_id: str
    network_id: str
    dataset: str  # a dataset name the backend can load
    config: dict  # TrainConfig fields
    weights: str  # path of the .npz to start from: the network's weights, or the run's checkpoint
    resume: bool = False  # weights is a checkpoint to go on from (Trainer.from_checkpoint)

    def to_dict(self) -> dict:
        return asdict(self)


class RunSink(Protocol):
    """Called by a backend from its worker, in this order: started, then events, checkpoints and
    weights as they come, then ended exactly once (also for a run stopped before it started)."""

    def started(self, run_id: str) -> bool:
        """The worker begins; False means the service no longer wants the run (do not train)."""

    def event(self, run_id: str, event: dict) -> None:
        """A batch, epoch, status or weights event (not the final one)."""

    def checkpoint(self, run_id: str, data: bytes, epoch_event: dict) -> None:
        """At an epoch end: a file from which the run can go on (Trainer.checkpoint_bytes)."""

    def weights(self, run_id: str, net: engine.Network) -> None:
        """The weights so far, a few times a second, for readers; the service copies what it keeps."""

    def ended(self, run_id: str, final: dict, weights: bytes | None) -> None:
        """The final event (status completed, stopped, diverged, failed or interrupted) and the
        weights to keep (None: the network keeps what it had, or what its last checkpoint holds)."""


class RunnerBackend(Protocol):
    def submit(self, job: RunJob, sink: RunSink) -> None:
        """Queue the job; it starts when a worker is free."""

    def pause(self, run_id: str) -> bool:
        """False if the run is not executing here."""

    def resume(self, run_id: str) -> bool: ...

    def stop(self, run_id: str) -> bool: ...

    def running_here(self, run_id: str) -> bool: ...

    def shutdown(self, timeout: float) -> None:
        """Stop taking jobs; every job still here ends, reported as interrupted, within `timeout`."""
