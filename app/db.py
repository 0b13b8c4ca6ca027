"""The database: networks and datasets here; runs and their events in app/runs/store.py.

SQLite by default (embedded, one file in the data directory); PostgreSQL when
several servers share the metadata (app/pg.py, `serve --database postgresql://...`).
Both run the same queries and migrations: they are written in SQLite's dialect
with the forms both understand (ON CONFLICT, IS NOT DISTINCT FROM, CAST), and
app/pg.py translates what remains (placeholders, json_extract, DDL types) in one place.

One connection per thread (sqlite3 objects are not shared across threads),
WAL so readers never wait for the writer, a busy timeout, and one lock that
serializes writes inside this process so no user ever sees "database is
locked". The schema is made and upgraded by numbered migrations (migrations.py)
when the database is opened. Foreign keys cascade: deleting a network deletes
its runs and their events.

Writes that must agree with a file (a network's weights) write the file inside
the transaction that writes its row: the row is committed only after the file
is whole, and two writers of one network wait for each other.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .migrations import migrate


def _loads(text):
    return json.loads(text) if text else None


class IntegrityError(sqlite3.IntegrityError):
    """A write broke a uniqueness, foreign-key or check rule, on SQLite or PostgreSQL alike (a kind of
    sqlite3.IntegrityError, so code written for SQLite alone still catches it)."""


def open_database(target: str | Path) -> Database:
    """The database at `target`: a postgresql:// URL, else the path of a SQLite file."""
    if isinstance(target, str) and target.startswith(("postgresql://", "postgres://")):
        from .pg import PostgresDatabase  # psycopg is only needed (and installed) for a cluster

        return PostgresDatabase(target)
    return Database(Path(target))


class Database:
    dialect = "sqlite"

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._write = threading.Lock()
        with self._write:
            self.migrated = migrate(self._conn(), str(self.path))

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
        """A write transaction, one at a time in this process (and, through SQLite's lock, among
        processes). Nested use on one thread joins the outer transaction."""
        conn = self._conn()
        if conn.in_transaction:
            yield conn
            return
        with self._write:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException as e:
                conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.IntegrityError):
                    raise IntegrityError(str(e)) from e
                raise
            conn.execute("COMMIT")

    def query(self, sql: str, args=()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, args).fetchall()

    def close(self) -> None:
        """Nothing to do here: each thread's SQLite connection closes with the thread."""

    # ---- networks ---------------------------------------------------------------
    def insert_network(self, id, name, spec, seed, params, student_id=None, drawn_here=True):
        """`drawn_here`: its weights were drawn here now (not imported, with a training unknown)."""
        now = time.time()
        with self.tx() as c:
            c.execute(
                "INSERT INTO networks (id, name, spec, seed, params, created, updated, student_id, initialized) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (id, name, json.dumps(spec), seed, params, now, now, student_id, now if drawn_here else None),
            )

    def update_network(self, id, **fields):
        """Change fields (none: the weights changed) and count a new version."""
        fields = {k: json.dumps(v) if k == "spec" else v for k, v in fields.items()}
        sets = "".join(f"{k} = ?, " for k in fields)
        with self.tx() as c:
            c.execute(
                f"UPDATE networks SET {sets}updated = ?, version = version + 1 WHERE id = ?",
                (*fields.values(), time.time(), id),
            )

    def network(self, id) -> dict | None:
        rows = self.query("SELECT * FROM networks WHERE id = ?", (id,))
        return self._network(rows[0]) if rows else None

    def networks(self, student_id: str | None = None) -> list[dict]:
        """One owner's networks: a student's, or (None) the teacher's or single user's own."""
        return [
            self._network(r)
            for r in self.query(
                "SELECT * FROM networks WHERE student_id IS NOT DISTINCT FROM ? ORDER BY created", (student_id,)
            )
        ]

    def delete_network(self, id):
        """The network, and through the cascades its runs and their events."""
        with self.tx() as c:
            c.execute("DELETE FROM networks WHERE id = ?", (id,))

    @staticmethod
    def _network(r) -> dict:
        d = dict(r)
        d["spec"] = json.loads(d["spec"])
        return d

    # ---- datasets ---------------------------------------------------------------
    def insert_dataset(self, name, file_id, info, student_id=None):
        with self.tx() as c:
            c.execute(
                "INSERT INTO datasets (name, file_id, info, created, student_id) VALUES (?,?,?,?,?)",
                (name, file_id, json.dumps(info), time.time(), student_id),
            )

    def dataset(self, name) -> dict | None:
        rows = self.query("SELECT * FROM datasets WHERE name = ?", (name,))
        return {**dict(rows[0]), "info": json.loads(rows[0]["info"])} if rows else None

    def datasets(self) -> list[dict]:
        return [
            {**dict(r), "info": json.loads(r["info"])} for r in self.query("SELECT * FROM datasets ORDER BY created")
        ]

    def delete_dataset(self, name):
        with self.tx() as c:
            c.execute("DELETE FROM datasets WHERE name = ?", (name,))

    def file_ids(self) -> dict[str, set[str]]:
        """The ids of the files each table refers to, by file kind."""
        return {
            "networks": {r["id"] for r in self.query("SELECT id FROM networks")},
            "checkpoints": {
                r["checkpoint"] for r in self.query("SELECT checkpoint FROM runs WHERE checkpoint IS NOT NULL")
            },
            "datasets": {r["file_id"] for r in self.query("SELECT file_id FROM datasets")},
        }
