"""The SQLite database: networks, datasets, runs and each run's metric history.

One connection per thread (sqlite3 objects are not shared across threads),
WAL so readers never wait for the writer, a busy timeout, and one lock that
serializes writes inside this process so no user ever sees "database is
locked".
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, spec TEXT NOT NULL, seed INTEGER NOT NULL,
    params INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 1,
    created REAL NOT NULL, updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS datasets (
    name TEXT PRIMARY KEY, file_id TEXT NOT NULL, info TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, network_id TEXT NOT NULL, dataset TEXT NOT NULL, config TEXT NOT NULL,
    status TEXT NOT NULL, message TEXT, created REAL NOT NULL, started REAL, finished REAL,
    steps INTEGER NOT NULL DEFAULT 0, metrics TEXT, evaluation TEXT, checkpoint TEXT
);
CREATE TABLE IF NOT EXISTS run_events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS runs_by_network ON runs (network_id);
"""

ACTIVE = ("queued", "running", "paused")


def _loads(text):
    return json.loads(text) if text else None


class Database:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._write = threading.Lock()
        with self._write:
            self._conn().executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def tx(self):
        """A write transaction, one at a time in this process."""
        conn = self._conn()
        with self._write:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def query(self, sql: str, args=()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, args).fetchall()

    # ---- networks ---------------------------------------------------------------
    def insert_network(self, id, name, spec, seed, params):
        now = time.time()
        with self.tx() as c:
            c.execute("INSERT INTO networks (id, name, spec, seed, params, created, updated) VALUES (?,?,?,?,?,?,?)",
                      (id, name, json.dumps(spec), seed, params, now, now))

    def update_network(self, id, **fields):
        fields = {k: json.dumps(v) if k == "spec" else v for k, v in fields.items()}
        sets = "".join(f"{k} = ?, " for k in fields)
        with self.tx() as c:
            c.execute(f"UPDATE networks SET {sets}updated = ?, version = version + 1 WHERE id = ?",
                      (*fields.values(), time.time(), id))

    def network(self, id) -> dict | None:
        rows = self.query("SELECT * FROM networks WHERE id = ?", (id,))
        return self._network(rows[0]) if rows else None

    def networks(self) -> list[dict]:
        return [self._network(r) for r in self.query("SELECT * FROM networks ORDER BY created")]

    def delete_network(self, id):
        with self.tx() as c:
            c.execute("DELETE FROM run_events WHERE run_id IN (SELECT id FROM runs WHERE network_id = ?)", (id,))
            c.execute("DELETE FROM runs WHERE network_id = ?", (id,))
            c.execute("DELETE FROM networks WHERE id = ?", (id,))

    @staticmethod
    def _network(r) -> dict:
        d = dict(r)
        d["spec"] = json.loads(d["spec"])
        return d

    # ---- datasets ---------------------------------------------------------------
    def insert_dataset(self, name, file_id, info):
        with self.tx() as c:
            c.execute("INSERT INTO datasets (name, file_id, info, created) VALUES (?,?,?,?)",
                      (name, file_id, json.dumps(info), time.time()))

    def dataset(self, name) -> dict | None:
        rows = self.query("SELECT * FROM datasets WHERE name = ?", (name,))
        return {**dict(rows[0]), "info": json.loads(rows[0]["info"])} if rows else None

    def datasets(self) -> list[dict]:
        return [{**dict(r), "info": json.loads(r["info"])} for r in self.query("SELECT * FROM datasets ORDER BY created")]

    def delete_dataset(self, name):
        with self.tx() as c:
            c.execute("DELETE FROM datasets WHERE name = ?", (name,))

    # ---- runs ---------------------------------------------------------------------
    def insert_run(self, id, network_id, dataset, config, status="queued"):
        with self.tx() as c:
            c.execute("INSERT INTO runs (id, network_id, dataset, config, status, created) VALUES (?,?,?,?,?,?)",
                      (id, network_id, dataset, json.dumps(config), status, time.time()))

    def update_run(self, id, **fields):
        for k in ("metrics", "evaluation"):
            if k in fields and fields[k] is not None:
                fields[k] = json.dumps(fields[k])
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.tx() as c:
            c.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*fields.values(), id))

    def run(self, id) -> dict | None:
        rows = self.query("SELECT * FROM runs WHERE id = ?", (id,))
        return self._run(rows[0]) if rows else None

    def runs(self, network_id: str | None = None) -> list[dict]:
        if network_id:
            rows = self.query("SELECT * FROM runs WHERE network_id = ? ORDER BY created", (network_id,))
        else:
            rows = self.query("SELECT * FROM runs ORDER BY created")
        return [self._run(r) for r in rows]

    @staticmethod
    def _run(r) -> dict:
        d = dict(r)
        d["config"] = json.loads(d["config"])
        d["metrics"] = _loads(d["metrics"])
        d["evaluation"] = _loads(d["evaluation"])
        return d

    def add_events(self, run_id, events: list[dict]):
        """Events numbered by their own 'seq'."""
        with self.tx() as c:
            c.executemany("INSERT OR REPLACE INTO run_events (run_id, seq, type, data) VALUES (?,?,?,?)",
                          [(run_id, e["seq"], e["type"], json.dumps(e)) for e in events])

    def events(self, run_id) -> list[dict]:
        return [json.loads(r["data"]) for r in
                self.query("SELECT data FROM run_events WHERE run_id = ? ORDER BY seq", (run_id,))]

    def file_ids(self) -> dict[str, set[str]]:
        """The ids of the files each table refers to, by file kind."""
        return {"networks": {r["id"] for r in self.query("SELECT id FROM networks")},
                "checkpoints": {r["checkpoint"] for r in self.query("SELECT checkpoint FROM runs WHERE checkpoint IS NOT NULL")},
                "datasets": {r["file_id"] for r in self.query("SELECT file_id FROM datasets")}}

    def mark_interrupted(self) -> int:
        """Runs that were active when the server last stopped: they are interrupted now."""
        with self.tx() as c:
            cur = c.execute("UPDATE runs SET status = 'interrupted', message = 'the server stopped while this run "
                            "was active; its last checkpoint is kept', finished = ? WHERE status IN (?,?,?)",
                            (time.time(), *ACTIVE))
            return cur.rowcount
