"""Migration 3 and the attempt store: learners, their answers and the solutions they saw."""

import sqlite3
import time

import pytest

from app.db import Database
from app.lessons.store import AttemptStore, Tally
from app.migrations import MIGRATIONS


def database_at_version_2(path):
    """A database as the server left it before lessons existed, with a network in it."""
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied REAL NOT NULL)")
    for m in MIGRATIONS[:2]:
        m.apply(c)
        c.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (m.version, m.name, time.time()))
    c.execute(
        "INSERT INTO networks (id, name, spec, seed, params, created, updated) VALUES ('n1', 'kept', '{}', 0, 1, 0, 0)"
    )
    c.close()


def test_a_database_at_version_2_gains_the_lesson_tables_and_keeps_its_networks(tmp_path):
    path = tmp_path / "db.sqlite3"
    database_at_version_2(path)
    db = Database(path)
    assert db.migrated[0] == 3  # and the later ones
    assert [r["name"] for r in db.query("SELECT name FROM networks")] == ["kept"]
    store = AttemptStore(db)
    store.record_answer("learner-1", "output_size", 0, 15, True)
    assert store.tallies("learner-1")["output_size"] == Tally(attempts=1, correct=1, exercises=1, solved=1)


def test_a_learners_answers_and_solutions_go_with_the_learner(tmp_path):
    db = Database(tmp_path / "db.sqlite3")
    store = AttemptStore(db)
    store.record_answer("learner-1", "output_size", 0, 16, False)
    store.record_solution("learner-1", "output_size", 0)
    with db.tx() as c:
        c.execute("DELETE FROM learners WHERE id = 'learner-1'")
    assert db.query("SELECT count(*) AS n FROM attempts")[0]["n"] == 0
    assert db.query("SELECT count(*) AS n FROM solutions_shown")[0]["n"] == 0
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), db.tx() as c:
        c.execute(
            "INSERT INTO attempts (learner, kind, seed, answer, correct, after_solution, "
            "created) VALUES ('nobody', 'output_size', 0, '15', 1, 0, 0)"
        )


def test_an_exercise_answered_after_its_solution_is_not_counted_as_solved(tmp_path):
    store = AttemptStore(Database(tmp_path / "db.sqlite3"))
    assert store.record_answer("a-learner", "macs", 1, 10, False) is False
    store.record_solution("a-learner", "macs", 1)
    store.record_solution("a-learner", "macs", 1)  # seen twice: one solution
    assert store.record_answer("a-learner", "macs", 1, 12, True) is True
    assert store.record_answer("a-learner", "macs", 2, 7, True) is False
    store.record_answer("a-learner", "macs", 2, 7, True)
    assert store.tallies("a-learner") == {"macs": Tally(attempts=4, correct=3, exercises=2, solved=1, solutions=1)}
    store.record_solution("a-learner", "output_size", 5)
    assert store.tallies("a-learner")["output_size"] == Tally(solutions=1)
    assert store.tallies("someone-else") == {}
