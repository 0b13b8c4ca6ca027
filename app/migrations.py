"""The database's schema as numbered migrations, each applied once and recorded in the database.

A migration is a version number, a sentence, and what it does. `migrate(conn)` applies the
ones a database has not had, in order, each in its own transaction, and records each in the
`schema_migrations` table (a table rather than SQLite's user_version, so the record reads
the same on any SQL database). Two servers starting at once on one file take turns: the
check of what is applied happens inside the write transaction.

Version 1 is the schema from before migrations existed; it is written with IF NOT EXISTS,
so a database made then is simply recorded as being at version 1 and upgraded from there.
Never edit a migration that has shipped: add the next one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from .runs.status import ACTIVE_VALUES, RunStatus

_ACTIVE_SQL = "(" + ", ".join(f"'{s}'" for s in ACTIVE_VALUES) + ")"
_STATUS_SQL = "(" + ", ".join(f"'{s.value}'" for s in RunStatus) + ")"


class SchemaTooNew(Exception):
    """The database was written by a newer version of the server."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sqlite3.Connection], None]
    # the same change where PostgreSQL needs another way (app/pg.py translates the rest)
    apply_postgresql: Callable | None = None


def _v1(c: sqlite3.Connection) -> None:
    _run_script(
        c,
        """
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
    """,
    )


def _run_script(c: sqlite3.Connection, script: str) -> None:
    """Statements one by one: executescript() would commit the migration's transaction first."""
    for statement in script.split(";"):
        if statement.strip():
            c.execute(statement)


def _interrupt_all_but_newest_active(c) -> None:
    c.execute(f"""
        UPDATE runs SET status = 'interrupted', finished = COALESCE(finished, created),
               message = 'the server stopped while this run was active'
         WHERE status IN {_ACTIVE_SQL} AND EXISTS (
               SELECT 1 FROM runs AS newer WHERE newer.network_id = runs.network_id
                  AND newer.status IN {_ACTIVE_SQL}
                  AND (newer.created > runs.created OR (newer.created = runs.created AND newer.id > runs.id)))
    """)  # at most one active run per network may remain for the unique index of migration 2


def _v2(c: sqlite3.Connection) -> None:
    # SQLite cannot add a foreign key to a table: runs and run_events are made again and
    # copied over (its documented twelve-step way, with foreign keys off meanwhile).
    # Rows that point at nothing (a crash between deletes, before cascades) are left behind.
    _interrupt_all_but_newest_active(c)
    c.execute(f"""
        CREATE TABLE runs_v2 (
            id TEXT PRIMARY KEY,
            network_id TEXT NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
            dataset TEXT NOT NULL, config TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN {_STATUS_SQL}),
            message TEXT, created REAL NOT NULL, started REAL, finished REAL,
            steps INTEGER NOT NULL DEFAULT 0,
            epoch INTEGER NOT NULL DEFAULT 0,   -- epochs finished (the checkpoint's, once there is one)
            metrics TEXT, evaluation TEXT, checkpoint TEXT,
            owner TEXT,                         -- the server instance running it, while it is active
            heartbeat REAL,                     -- when the owner last said it is alive: its lease
            request TEXT CHECK (request IN ('pause', 'resume', 'stop'))  -- for the owner to carry out
        )""")
    c.execute("""
        INSERT INTO runs_v2 (id, network_id, dataset, config, status, message, created, started, finished,
                             steps, epoch, metrics, evaluation, checkpoint)
        SELECT id, network_id, dataset, config, status, message, created, started, finished, steps,
               (SELECT count(*) FROM run_events AS e WHERE e.run_id = runs.id AND e.type = 'epoch'),
               metrics, evaluation, checkpoint
          FROM runs WHERE network_id IN (SELECT id FROM networks)""")
    c.execute("""
        CREATE TABLE run_events_v2 (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)
        )""")
    c.execute("INSERT INTO run_events_v2 SELECT * FROM run_events WHERE run_id IN (SELECT id FROM runs_v2)")
    c.execute("DROP TABLE run_events")
    c.execute("DROP TABLE runs")
    c.execute("ALTER TABLE runs_v2 RENAME TO runs")
    c.execute("ALTER TABLE run_events_v2 RENAME TO run_events")
    c.execute("CREATE INDEX runs_by_network ON runs (network_id)")
    c.execute(f"CREATE UNIQUE INDEX one_active_run_per_network ON runs (network_id) WHERE status IN {_ACTIVE_SQL}")
    c.execute(f"CREATE INDEX active_runs_by_owner ON runs (owner) WHERE status IN {_ACTIVE_SQL}")
    broken = c.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken after migration 2: {broken[:5]}")


def _v2_postgresql(c) -> None:
    # PostgreSQL adds constraints to a table in place: the same result as SQLite's rebuild above
    _interrupt_all_but_newest_active(c)
    c.execute("DELETE FROM run_events WHERE run_id NOT IN (SELECT id FROM runs)")
    c.execute("DELETE FROM runs WHERE network_id NOT IN (SELECT id FROM networks)")
    c.execute("ALTER TABLE runs ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0")
    c.execute("ALTER TABLE runs ADD COLUMN owner TEXT")
    c.execute("ALTER TABLE runs ADD COLUMN heartbeat REAL")
    c.execute("ALTER TABLE runs ADD COLUMN request TEXT CHECK (request IN ('pause', 'resume', 'stop'))")
    c.execute(f"ALTER TABLE runs ADD CHECK (status IN {_STATUS_SQL})")
    c.execute("ALTER TABLE runs ADD FOREIGN KEY (network_id) REFERENCES networks (id) ON DELETE CASCADE")
    c.execute("ALTER TABLE run_events ADD FOREIGN KEY (run_id) REFERENCES runs (id) ON DELETE CASCADE")
    c.execute(f"CREATE UNIQUE INDEX one_active_run_per_network ON runs (network_id) WHERE status IN {_ACTIVE_SQL}")
    c.execute(f"CREATE INDEX active_runs_by_owner ON runs (owner) WHERE status IN {_ACTIVE_SQL}")


def _v3(c: sqlite3.Connection) -> None:
    # A learner is whoever answers exercises: for now an anonymous id the server gave a browser
    # (or an API client chose); once classes exist, a student's id takes the same place, so the
    # attempts need no change.
    c.execute("CREATE TABLE learners (id TEXT PRIMARY KEY, created REAL NOT NULL)")
    c.execute("""
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            learner TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
            kind TEXT NOT NULL, seed INTEGER NOT NULL,   -- the exercise: it is made again from these
            answer TEXT NOT NULL,                        -- as the learner sent it, JSON
            correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
            after_solution INTEGER NOT NULL CHECK (after_solution IN (0, 1)),
            created REAL NOT NULL
        )""")
    c.execute("CREATE INDEX attempts_by_learner ON attempts (learner, kind, seed)")
    c.execute("""
        CREATE TABLE solutions_shown (
            learner TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
            kind TEXT NOT NULL, seed INTEGER NOT NULL, shown REAL NOT NULL,
            PRIMARY KEY (learner, kind, seed)
        )""")


def _v4(c: sqlite3.Connection) -> None:
    # A class: a teacher's group of students, joined with a short code. Everything a student makes
    # (networks and through them runs, uploaded datasets, answers through the learner) carries the
    # student's id and goes with the student, and students go with their class. NULL is the
    # teacher's (or the single user's) own.
    c.execute("""
        CREATE TABLE classes (
            id TEXT PRIMARY KEY, name TEXT NOT NULL,
            code TEXT NOT NULL UNIQUE,            -- what students type to join: short, no look-alikes
            created REAL NOT NULL, closed REAL,    -- a closed class takes no one and keeps its results
            locks TEXT NOT NULL DEFAULT '{}',      -- JSON: what the teacher has fixed for the class
            setup TEXT                             -- JSON: the setup last pushed to every student
        )""")
    c.execute("""
        CREATE TABLE students (
            id TEXT PRIMARY KEY,
            class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,       -- sha256 of the student's token, never the token
            created REAL NOT NULL, seen REAL NOT NULL,
            view TEXT, network_id TEXT, lesson TEXT, exercise TEXT,  -- what the page last said
            asking REAL                             -- raised a hand for the teacher's setup
        )""")
    c.execute("CREATE UNIQUE INDEX students_by_class_name ON students (class_id, name)")
    c.execute("""
        CREATE TABLE pushes (
            id INTEGER PRIMARY KEY,
            class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
            student_id TEXT REFERENCES students (id) ON DELETE CASCADE,  -- NULL: every student
            setup TEXT NOT NULL, created REAL NOT NULL
        )""")
    c.execute("""
        CREATE TABLE challenges (
            id TEXT PRIMARY KEY,
            class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
            name TEXT NOT NULL, dataset TEXT NOT NULL,
            max_params INTEGER NOT NULL, max_epochs INTEGER NOT NULL,
            holdout_seed INTEGER NOT NULL, holdout_size INTEGER NOT NULL,
            created REAL NOT NULL, ended REAL
        )""")
    c.execute("""
        CREATE TABLE entries (
            id INTEGER PRIMARY KEY,
            challenge_id TEXT NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
            student_id TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
            network_id TEXT,                       -- no foreign key: a score outlives its network
            params INTEGER NOT NULL, epochs INTEGER NOT NULL, accuracy REAL NOT NULL,
            submitted REAL NOT NULL
        )""")
    for table in ("networks", "datasets", "learners"):
        c.execute(f"ALTER TABLE {table} ADD COLUMN student_id TEXT REFERENCES students (id) ON DELETE CASCADE")
    c.execute("ALTER TABLE networks ADD COLUMN initialized REAL")  # when its weights were last drawn
    c.execute("UPDATE networks SET initialized = created")
    c.execute("CREATE INDEX networks_by_student ON networks (student_id)")


MIGRATIONS = [
    Migration(1, "networks, datasets, runs and their events", _v1),
    Migration(
        2,
        "foreign keys that cascade; a run's epoch, owner, lease and requests; one active run per network",
        _v2,
        _v2_postgresql,
    ),
    Migration(3, "learners, their answers to exercises, and the solutions they were shown", _v3),
    Migration(4, "classes, their students, pushed setups and challenges; what each student owns", _v4),
]
LATEST = MIGRATIONS[-1].version


def applied(c: sqlite3.Connection) -> set[int]:
    c.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied REAL NOT NULL)"
    )
    return {r[0] for r in c.execute("SELECT version FROM schema_migrations")}


def migrate(c: sqlite3.Connection, path: str = "the database", dialect: str = "sqlite") -> list[int]:
    """Apply what is missing, in order; returns the versions applied now.

    `c` is a connection in autocommit mode (isolation_level=None), or app/pg.py's Connection
    (dialect "postgresql")."""
    done_now = []
    for m in MIGRATIONS:
        c.execute("PRAGMA foreign_keys=OFF")  # only outside a transaction; on again below
        c.execute("BEGIN IMMEDIATE")
        try:
            have = applied(c)
            newest = max(have, default=0)
            if newest > LATEST:
                raise SchemaTooNew(
                    f"{path} was written by a newer CNN Playground (schema version {newest}; "
                    f"this one knows up to {LATEST}): upgrade cnn-playground, or start it "
                    "with another --data-dir"
                )
            if m.version not in have:
                (m.apply_postgresql if dialect == "postgresql" and m.apply_postgresql else m.apply)(c)
                c.execute(
                    "INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
                    (m.version, m.name, time.time()),
                )
                done_now.append(m.version)
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        finally:
            c.execute("PRAGMA foreign_keys=ON")
    return done_now
