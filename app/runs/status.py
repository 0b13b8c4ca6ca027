"""A run's status and the moves between statuses: the one place that knows them.

    queued ──> running <──> paused
      │           │            │
      └───────────┴────────────┴──> completed | stopped | diverged | failed | interrupted
                                                                               │
    queued <── (resume from the last checkpoint) ─────────────────────────────┘

A run is *active* while a worker has it or will have it (queued, running, paused);
at most one run per network is active. Of the final statuses only `interrupted`
(the server stopped or crashed while the run was active) can move again.
"""

from __future__ import annotations

from enum import Enum


class RunStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return self.value

    @property
    def active(self) -> bool:
        return self in ACTIVE

    @property
    def resumable(self) -> bool:
        """Whether `resume` applies: a paused run goes on, an interrupted one restarts from its checkpoint."""
        return self in (RunStatus.PAUSED, RunStatus.INTERRUPTED)

    def can_become(self, new: RunStatus) -> bool:
        return new in TRANSITIONS[self]

    def check(self, new: RunStatus, run_id: str = "") -> RunStatus:
        """`new` if the move is allowed; otherwise InvalidTransition naming both ends."""
        if not self.can_become(new):
            raise InvalidTransition(self, new, run_id)
        return new


ACTIVE = frozenset({RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED})
ENDED = (RunStatus.COMPLETED, RunStatus.STOPPED, RunStatus.DIVERGED, RunStatus.FAILED, RunStatus.INTERRUPTED)

TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.STOPPED, RunStatus.FAILED, RunStatus.INTERRUPTED}),
    RunStatus.RUNNING: frozenset({RunStatus.PAUSED, *ENDED}),
    RunStatus.PAUSED: frozenset({RunStatus.RUNNING, RunStatus.STOPPED, RunStatus.FAILED, RunStatus.INTERRUPTED}),
    RunStatus.INTERRUPTED: frozenset({RunStatus.QUEUED}),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.STOPPED: frozenset(),
    RunStatus.DIVERGED: frozenset(),
    RunStatus.FAILED: frozenset(),
}

ACTIVE_VALUES = tuple(sorted(s.value for s in ACTIVE))  # for SQL: status IN (...)


class InvalidTransition(Exception):
    """A move the table does not allow, e.g. a completed run asked to run again."""

    def __init__(self, old: RunStatus, new: RunStatus, run_id: str = ""):
        self.old, self.new = old, new
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[old])) or "nothing: it has ended"
        who = f"run {run_id}" if run_id else "a run"
        super().__init__(f"{who} cannot go from {old.value} to {new.value}; from {old.value} it can become {allowed}")
