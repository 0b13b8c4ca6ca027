"""Runs and their events in the database: the truth about every run, whichever server runs it.

Every change of status is a compare-and-set inside a write transaction: it
happens only if the run is still in a status the move starts from (and, for a
worker's writes, still owned by the server that writes), so two servers, or a
worker and a reaper, can never both end one run. RunStatus.check refuses a
move the transition table does not allow.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable

from .. import access
from ..db import Database
from ..errors import Busy, Conflict, NotFound
from .status import ACTIVE_VALUES, RunStatus

ACTIVE_SQL = "(" + ", ".join("?" * len(ACTIVE_VALUES)) + ")"


def _loads(text):
    return json.loads(text) if text else None


def _row(r: sqlite3.Row) -> dict:
    d = dict(r)
    d["status"] = RunStatus(d["status"])
    d["config"] = json.loads(d["config"])
    d["metrics"] = _loads(d["metrics"])
    d["evaluation"] = _loads(d["evaluation"])
    return d


class RunStore:
    def __init__(self, db: Database):
        self.db = db

    # ---- reading -------------------------------------------------------------------
    def get(self, run_id: str) -> dict | None:
        """The run's row with its network's student (whose the run is), whoever asks."""
        rows = self.db.query(
            "SELECT runs.*, networks.student_id FROM runs JOIN networks ON "
            "runs.network_id = networks.id WHERE runs.id = ?",
            (run_id,),
        )
        return _row(rows[0]) if rows else None

    def require(self, run_id: str) -> dict:
        """The run, for the principal asking (app/access.py): NotFound if it is another student's."""
        row = self.get(run_id)
        if row is None or not access.visible(row["student_id"]):
            raise NotFound(f"no run with id {run_id!r}")
        return row

    def list(self, network_id: str | None = None, limit: int = -1, offset: int = 0) -> list[dict]:
        """One network's runs, or (without one) the principal's own, oldest first."""
        if network_id:
            where, args = "runs.network_id = ?", (network_id,)
        else:
            where, args = "networks.student_id IS NOT DISTINCT FROM ?", (access.mine(),)
        page = " LIMIT ? OFFSET ?" if limit >= 0 else ""
        rows = self.db.query(
            f"SELECT runs.*, networks.student_id FROM runs JOIN networks ON runs.network_id = "
            f"networks.id WHERE {where} ORDER BY runs.created, runs.id{page}",
            (*args, limit, offset) if page else args,
        )
        return [_row(r) for r in rows if access.visible(r["student_id"])]

    def active_run_of(self, network_id: str, c: sqlite3.Connection | None = None) -> str | None:
        sql = f"SELECT id FROM runs WHERE network_id = ? AND status IN {ACTIVE_SQL}"
        rows = (
            c.execute(sql, (network_id, *ACTIVE_VALUES)).fetchall()
            if c is not None
            else self.db.query(sql, (network_id, *ACTIVE_VALUES))
        )
        return rows[0]["id"] if rows else None

    def active_by_network(self) -> dict[str, str]:
        """network id -> its active run's id, for every network that is training."""
        rows = self.db.query(f"SELECT network_id, id FROM runs WHERE status IN {ACTIVE_SQL}", ACTIVE_VALUES)
        return {r["network_id"]: r["id"] for r in rows}

    def count_active(self) -> int:
        return self.db.query(f"SELECT count(*) AS n FROM runs WHERE status IN {ACTIVE_SQL}", ACTIVE_VALUES)[0]["n"]

    def uses_dataset(self, name: str) -> bool:
        return bool(
            self.db.query(
                f"SELECT 1 FROM runs WHERE dataset = ? AND status IN {ACTIVE_SQL} LIMIT 1", (name, *ACTIVE_VALUES)
            )
        )

    def active_elsewhere(self, owner: str) -> list[dict]:
        """Active runs that some other server owns (or that no server owns)."""
        rows = self.db.query(
            f"SELECT * FROM runs WHERE status IN {ACTIVE_SQL} AND owner IS DISTINCT FROM ?", (*ACTIVE_VALUES, owner)
        )
        return [_row(r) for r in rows]

    def active_owned_by(self, owner: str) -> list[dict]:
        rows = self.db.query(f"SELECT * FROM runs WHERE status IN {ACTIVE_SQL} AND owner = ?", (*ACTIVE_VALUES, owner))
        return [_row(r) for r in rows]

    def requests_for(self, owner: str) -> list[tuple[str, str]]:
        """(run id, request) for this owner's runs that another server asked to pause, resume or stop."""
        rows = self.db.query(
            f"SELECT id, request FROM runs WHERE owner = ? AND request IS NOT NULL AND status IN {ACTIVE_SQL}",
            (owner, *ACTIVE_VALUES),
        )
        return [(r["id"], r["request"]) for r in rows]

    def events(self, run_id: str, after: int = 0) -> list[dict]:
        return [
            json.loads(r["data"])
            for r in self.db.query(
                "SELECT data FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq", (run_id, after)
            )
        ]

    def events_of_type(self, run_id: str, type: str) -> list[dict]:
        sql = "SELECT data FROM run_events WHERE run_id = ? AND type = ? ORDER BY seq"
        rows = self.db.query(sql, (run_id, type))
        return [json.loads(r["data"]) for r in rows]

    def network_facts(self, run_id: str) -> dict | None:
        """The network facts the run's log begins with (its first status event says them), or None
        for a run from before they were kept."""
        rows = self.db.query(
            "SELECT json_extract(data, '$.network') AS facts FROM run_events "
            "WHERE run_id = ? AND type = 'status' "
            "AND json_extract(data, '$.network') IS NOT NULL ORDER BY seq LIMIT 1",
            (run_id,),
        )
        return json.loads(rows[0]["facts"]) if rows else None

    def last_seq(self, run_id: str) -> int:
        return self.db.query("SELECT coalesce(max(seq), 0) AS n FROM run_events WHERE run_id = ?", (run_id,))[0]["n"]

    def last_event(self, run_id: str, type: str) -> dict | None:
        rows = self.db.query(
            "SELECT data FROM run_events WHERE run_id = ? AND type = ? ORDER BY seq DESC LIMIT 1", (run_id, type)
        )
        return json.loads(rows[0]["data"]) if rows else None

    # ---- writing ---------------------------------------------------------------------
    def insert(self, run_id: str, network_id: str, dataset: str, config: dict, owner: str, max_queued: int) -> None:
        """A queued run owned by `owner`; Conflict if the network already has an active run, Busy
        if `owner` already has max_queued runs waiting."""
        now = time.time()
        with self.db.tx() as c:
            if not c.execute("SELECT 1 FROM networks WHERE id = ?", (network_id,)).fetchone():
                raise NotFound(f"no network with id {network_id!r}")
            other = self.active_run_of(network_id, c)
            if other:
                raise Conflict(
                    f"network {network_id} is already training in run {other}; "
                    "stop that run or make a copy of the network"
                )
            queued = c.execute("SELECT count(*) FROM runs WHERE owner = ? AND status = 'queued'", (owner,)).fetchone()[
                0
            ]
            if queued >= max_queued:
                raise Busy(f"{queued} runs are already waiting; try again when one has finished")
            c.execute(
                "INSERT INTO runs (id, network_id, dataset, config, status, created, owner, heartbeat) "
                "VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
                (run_id, network_id, dataset, json.dumps(config), now, owner, now),
            )

    def move(self, run_id: str, new: RunStatus, owner: str | None = None, **fields) -> bool:
        """Move an active run to `new` (and set fields) if `owner` still has it; False if it has not
        (another server took it over, or it ended meanwhile). InvalidTransition if the table forbids it."""
        with self.db.tx() as c:
            row = c.execute("SELECT status, owner FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or (owner is not None and row["owner"] != owner):
                return False
            RunStatus(row["status"]).check(new, run_id)
            self._set(c, run_id, status=new.value, **fields)
        return True

    def progress(self, run_id: str, owner: str, events: list[dict], **fields) -> bool:
        """Events and progress fields (steps, epoch, metrics, checkpoint) of an active run of `owner`."""
        with self.db.tx() as c:
            row = c.execute("SELECT owner FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row["owner"] != owner:
                return False
            self._add_events(c, run_id, events)
            if fields:
                self._set(c, run_id, **fields)
        return True

    def end(
        self,
        run_id: str,
        new: RunStatus,
        owner: str | None,
        events: list[dict],
        inside: Callable[[sqlite3.Connection, dict], None] | None = None,
        **fields,
    ) -> bool:
        """Move an active run to the final status `new`, with its last events, in one transaction.

        `owner` None ends the run whoever owned it (a reaper, once it knows the owner is gone).
        `inside(c, row)` runs within the transaction once the move is sure to happen: it writes
        the network's weights, so weights and status agree whatever crashes when."""
        with self.db.tx() as c:
            row = c.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or not RunStatus(row["status"]).active or (owner is not None and row["owner"] != owner):
                return False
            RunStatus(row["status"]).check(new, run_id)
            if inside is not None:
                inside(c, _row(row))
            self._add_events(c, run_id, events)
            self._set(
                c, run_id, status=new.value, owner=None, request=None, heartbeat=None, finished=time.time(), **fields
            )
        return True

    def requeue(self, run_id: str, owner: str, keep_until: int, event: dict, steps: int) -> bool:
        """An interrupted run queued again by `owner`: its events after seq `keep_until` (the part of
        an epoch its checkpoint does not hold, and the interruption's end event) are removed."""
        now = time.time()
        with self.db.tx() as c:
            row = c.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                return False
            RunStatus(row["status"]).check(RunStatus.QUEUED, run_id)
            c.execute("DELETE FROM run_events WHERE run_id = ? AND seq > ?", (run_id, keep_until))
            self._add_events(c, run_id, [event])
            self._set(
                c,
                run_id,
                status=RunStatus.QUEUED.value,
                owner=owner,
                heartbeat=now,
                finished=None,
                message=None,
                evaluation=None,
                request=None,
                steps=steps,
            )
        return True

    def delete(self, run_id: str) -> bool:
        """Delete the run if it is not active (its events go with it); False if it is."""
        with self.db.tx() as c:
            gone = c.execute(f"DELETE FROM runs WHERE id = ? AND status NOT IN {ACTIVE_SQL}", (run_id, *ACTIVE_VALUES))
            return gone.rowcount == 1

    def take_over(self, run_id: str, old_owner: str | None, owner: str) -> bool:
        """`owner` takes an active run over from `old_owner` (gone); False if another server did first."""
        with self.db.tx() as c:
            row = c.execute("SELECT status, owner FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or not RunStatus(row["status"]).active or row["owner"] != old_owner:
                return False
            self._set(c, run_id, owner=owner, heartbeat=time.time())
        return True

    def request(self, run_id: str, what: str) -> None:
        """Ask the owner of an active run to pause, resume or stop it."""
        with self.db.tx() as c:
            c.execute(
                f"UPDATE runs SET request = ? WHERE id = ? AND status IN {ACTIVE_SQL}", (what, run_id, *ACTIVE_VALUES)
            )

    def clear_request(self, run_id: str, what: str) -> None:
        with self.db.tx() as c:
            c.execute("UPDATE runs SET request = NULL WHERE id = ? AND request = ?", (run_id, what))

    def renew(self, owner: str) -> None:
        """Renew the lease of every active run of `owner`."""
        with self.db.tx() as c:
            c.execute(
                f"UPDATE runs SET heartbeat = ? WHERE owner = ? AND status IN {ACTIVE_SQL}",
                (time.time(), owner, *ACTIVE_VALUES),
            )

    @staticmethod
    def _add_events(c: sqlite3.Connection, run_id: str, events: list[dict]) -> None:
        if events:
            c.executemany(
                "INSERT INTO run_events (run_id, seq, type, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run_id, seq) DO UPDATE SET type = excluded.type, data = excluded.data",
                [(run_id, e["seq"], e["type"], json.dumps(e)) for e in events],
            )

    @staticmethod
    def _set(c: sqlite3.Connection, run_id: str, **fields) -> None:
        for k in ("metrics", "evaluation"):
            if fields.get(k) is not None:
                fields[k] = json.dumps(fields[k])
        sets = ", ".join(f"{k} = ?" for k in fields)
        c.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*fields.values(), run_id))
