"""What learners did, in the database: their answers and the solutions they were shown.

An exercise is never stored (its kind and seed make it again); a learner's row is made with
their first answer or solution, so reading progress writes nothing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

from ..db import Database


@dataclass(frozen=True)
class Tally:
    attempts: int = 0  # answers sent
    correct: int = 0  # of those, correct
    exercises: int = 0  # different exercises answered
    solved: int = 0  # different exercises answered correctly before seeing their solution
    solutions: int = 0  # different exercises whose solution was shown

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def astuple(self) -> tuple[int, ...]:
        return (self.attempts, self.correct, self.exercises, self.solved, self.solutions)


class AttemptStore:
    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    def _learner(c: sqlite3.Connection, learner: str) -> None:
        c.execute("INSERT INTO learners (id, created) VALUES (?, ?) ON CONFLICT DO NOTHING", (learner, time.time()))

    def record_answer(self, learner: str, kind: str, seed: int, answer, correct: bool) -> bool:
        """Store one answer; returns whether the solution had been shown before it."""
        with self.db.tx() as c:
            self._learner(c, learner)
            after = self._shown(c, learner, kind, seed)
            c.execute(
                "INSERT INTO attempts (learner, kind, seed, answer, correct, after_solution, "
                "created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (learner, kind, seed, json.dumps(answer), int(correct), int(after), time.time()),
            )
        return after

    def record_solution(self, learner: str, kind: str, seed: int) -> None:
        with self.db.tx() as c:
            self._learner(c, learner)
            c.execute(
                "INSERT INTO solutions_shown (learner, kind, seed, shown) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (learner, kind, seed, time.time()),
            )

    def solution_shown(self, learner: str, kind: str, seed: int) -> bool:
        return bool(
            self.db.query(
                "SELECT 1 FROM solutions_shown WHERE learner = ? AND kind = ? AND seed = ?", (learner, kind, seed)
            )
        )

    @staticmethod
    def _shown(c: sqlite3.Connection, learner: str, kind: str, seed: int) -> bool:
        return (
            c.execute(
                "SELECT 1 FROM solutions_shown WHERE learner = ? AND kind = ? AND seed = ?", (learner, kind, seed)
            ).fetchone()
            is not None
        )

    def tallies(self, learner: str) -> dict[str, Tally]:
        """kind -> what this learner did with exercises of that kind (absent: not tried)."""
        answered = self.db.query(
            """
            SELECT kind, count(*) AS attempts, sum(correct) AS correct,
                   count(DISTINCT seed) AS exercises,
                   count(DISTINCT CASE WHEN correct = 1 AND after_solution = 0 THEN seed END) AS solved
              FROM attempts WHERE learner = ? GROUP BY kind""",
            (learner,),
        )
        shown = {
            r["kind"]: r["n"]
            for r in self.db.query(
                "SELECT kind, count(*) AS n FROM solutions_shown WHERE learner = ? GROUP BY kind", (learner,)
            )
        }
        out = {
            r["kind"]: Tally(r["attempts"], r["correct"], r["exercises"], r["solved"], shown.get(r["kind"], 0))
            for r in answered
        }
        for kind, n in shown.items():
            out.setdefault(kind, Tally(solutions=n))
        return out
