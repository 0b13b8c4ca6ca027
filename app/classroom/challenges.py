"""A class challenge: e.g. the best accuracy on `shapes` under 20,000 parameters in 3 epochs.

Students train as usual and submit a network; the server checks the rules (its parameters, and
the epochs it was trained since its weights were last drawn) and scores it on a held-back set
that no student sees: images of the same built-in dataset generated from a seed drawn for the
challenge (never the seeds the playground serves), normalized as the dataset is. The best score
per student makes the leaderboard; the teacher ends the challenge and shows it.
"""

from __future__ import annotations

import secrets
import time

import numpy as np

from engine.data.builtin import GENERATORS, generate

from .. import access
from ..db import Database
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..files import new_id
from .service import ClassroomService

HOLDOUT = 1000


class Challenges:
    def __init__(self, db: Database, classroom: ClassroomService, networks, datasets):
        self.db, self.classroom, self.networks, self.datasets = db, classroom, networks, datasets
        self._holdouts: dict[str, tuple] = {}

    # ---- the teacher ------------------------------------------------------------------------
    def create(self, class_id: str, name: str, dataset: str, max_params: int, max_epochs: int) -> dict:
        self.classroom.get_class(class_id)
        if dataset not in GENERATORS:
            raise Invalid(
                [
                    {
                        "loc": ["body", "dataset"],
                        "type": "value_error",
                        "msg": f"a challenge needs a built-in generated dataset, so that its held-back "
                        f"images can be drawn unseen: one of {', '.join(GENERATORS)}",
                    }
                ]
            )
        challenge_id = new_id()
        with self.db.tx() as c:
            c.execute(
                "INSERT INTO challenges (id, class_id, name, dataset, max_params, max_epochs, holdout_seed, "
                "holdout_size, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    challenge_id,
                    class_id,
                    name.strip()[:80] or f"Best accuracy on {dataset}",
                    dataset,
                    max_params,
                    max_epochs,
                    1_000_000 + secrets.randbelow(2**31),
                    HOLDOUT,
                    time.time(),
                ),
            )
        return self.get(challenge_id)

    def end(self, challenge_id: str) -> dict:
        ch = self._row(challenge_id)
        self.classroom.get_class(ch["class_id"])
        with self.db.tx() as c:
            c.execute("UPDATE challenges SET ended = coalesce(ended, ?) WHERE id = ?", (time.time(), challenge_id))
        return self.get(challenge_id)

    def of_class(self, class_id: str) -> list[dict]:
        return [
            self._public(r)
            for r in self.db.query("SELECT * FROM challenges WHERE class_id = ? ORDER BY created", (class_id,))
        ]

    # ---- everyone in the class ------------------------------------------------------------------
    def _row(self, challenge_id: str):
        rows = self.db.query("SELECT * FROM challenges WHERE id = ?", (challenge_id,))
        p = access.current()
        if not rows or (p.is_student and rows[0]["class_id"] != p.class_id):
            raise NotFound(f"no challenge with id {challenge_id!r}")
        return rows[0]

    def get(self, challenge_id: str) -> dict:
        return self._public(self._row(challenge_id))

    @staticmethod
    def _public(r) -> dict:
        return {
            "id": r["id"],
            "class_id": r["class_id"],
            "name": r["name"],
            "dataset": r["dataset"],
            "max_params": r["max_params"],
            "max_epochs": r["max_epochs"],
            "holdout_size": r["holdout_size"],
            "created": r["created"],
            "ended": r["ended"],
        }

    def mine(self) -> list[dict]:
        """The challenges of the student's class, open ones first."""
        p = access.current()
        if not p.is_student:
            return []
        return sorted(self.of_class(p.class_id), key=lambda c: (c["ended"] is not None, -c["created"]))

    def leaderboard(self, challenge_id: str) -> dict:
        ch = self._public(self._row(challenge_id))
        rows = self.db.query(
            "SELECT e.student_id, s.name, max(e.accuracy) AS accuracy, count(*) AS submissions, "
            "min(e.submitted) AS first FROM entries e JOIN students s ON e.student_id = s.id "
            "WHERE e.challenge_id = ? GROUP BY e.student_id, s.name ORDER BY accuracy DESC, first",
            (challenge_id,),
        )
        entries = [
            {
                "rank": i + 1,
                "student_id": r["student_id"],
                "name": r["name"],
                "accuracy": r["accuracy"],
                "submissions": r["submissions"],
            }
            for i, r in enumerate(rows)
        ]
        return {"challenge": ch, "entries": entries}

    # ---- a student submits ----------------------------------------------------------------------
    def submit(self, challenge_id: str, network_id: str) -> dict:
        p = access.current()
        if not p.is_student:
            raise Forbidden("only a student can enter a challenge; the teacher sees the leaderboard")
        ch = self._row(challenge_id)
        if ch["ended"] is not None:
            raise Conflict("this challenge has ended; the teacher is showing the results")
        row = self.networks.get(network_id)  # the student's own, or 404
        if row["params"] > ch["max_params"]:
            raise Invalid(
                f"the network has {row['params']:,} parameters; this challenge allows at most "
                f"{ch['max_params']:,}: make it smaller (fewer filters or units)"
            )
        if row["initialized"] is None:
            raise Invalid(
                "a network imported from a file cannot enter: how long it was trained is not known; "
                "build it here and train it"
            )
        epochs = self.db.query(
            "SELECT coalesce(sum(epoch), 0) AS n FROM runs WHERE network_id = ? AND created >= ?",
            (network_id, row["initialized"]),
        )[0]["n"]
        if epochs > ch["max_epochs"]:
            raise Invalid(
                f"the network was trained for {epochs} epochs since its weights were drawn; this "
                f"challenge allows {ch['max_epochs']}: draw fresh weights and train again"
            )
        training = self.networks.runs.active_run_of(network_id)
        if training:
            raise Conflict(f"the network is training (run {training}); submit it when the run has ended")
        accuracy = self._score(ch, network_id)
        with self.db.tx() as c:
            c.execute(
                "INSERT INTO entries (challenge_id, student_id, network_id, params, epochs, accuracy, submitted) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (challenge_id, p.student_id, network_id, row["params"], epochs, accuracy, time.time()),
            )
        board = self.leaderboard(challenge_id)
        rank = next(e["rank"] for e in board["entries"] if e["student_id"] == p.student_id)
        return {
            "challenge_id": challenge_id,
            "network_id": network_id,
            "accuracy": accuracy,
            "epochs": epochs,
            "params": row["params"],
            "rank": rank,
            "of": len(board["entries"]),
        }

    def _holdout(self, ch) -> tuple[np.ndarray, np.ndarray]:
        key = ch["id"]
        if key not in self._holdouts:
            self._holdouts[key] = generate(ch["dataset"], ch["holdout_size"], ch["holdout_seed"], "test")
            while len(self._holdouts) > 8:
                self._holdouts.pop(next(iter(self._holdouts)))
        return self._holdouts[key]

    def _score(self, ch, network_id: str) -> float:
        x, y = self._holdout(ch)
        ds = self.datasets.load(ch["dataset"])  # normalized as the network was trained
        with self.networks.entry(network_id).reading() as net:
            if tuple(net.input_shape) != tuple(ds.shape) or net.output_shape != (ds.num_classes,):
                raise Invalid(
                    f"the network takes {tuple(net.input_shape)} and gives {net.output_shape} outputs; "
                    f"{ch['dataset']} has {tuple(ds.shape)} images in {ds.num_classes} classes"
                )
            correct = 0
            for start in range(0, len(x), 250):
                logits = net.logits(ds.normalize(x[start : start + 250]))
                correct += int((logits.argmax(axis=1) == y[start : start + 250]).sum())
        return correct / len(x)
