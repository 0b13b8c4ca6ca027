"""The teacher's view of a class: a row per student, the exercises the class gets wrong, one
student in detail, and the results as CSV. All read from the database in a few queries, so the
dashboard can be sent every second to a teacher whose page follows it."""

from __future__ import annotations

import csv
import io
import json
import time

from ..db import Database
from .service import IDLE_SECONDS, ClassroomService

ACTIVE = ("queued", "running", "paused")


class Dashboard:
    def __init__(self, db: Database, classroom: ClassroomService, runs):
        self.db, self.classroom, self.runs = db, classroom, runs

    def snapshot(self, class_id: str) -> dict:
        klass = self.classroom.get_class(class_id)  # the teacher's, or 403/404
        now = time.time()
        students = self.db.query("SELECT * FROM students WHERE class_id = ? ORDER BY lower(name), name", (class_id,))
        nets = {
            r["id"]: r
            for r in self.db.query(
                "SELECT n.id, n.name, n.params, n.student_id FROM networks n JOIN students s ON n.student_id = s.id "
                "WHERE s.class_id = ?",
                (class_id,),
            )
        }
        active = {}
        for r in self.db.query(
            "SELECT r.id, r.status, r.epoch, r.config, r.metrics, r.steps, n.student_id FROM runs r "
            "JOIN networks n ON r.network_id = n.id JOIN students s ON n.student_id = s.id "
            "WHERE s.class_id = ? AND r.status IN (?, ?, ?)",
            (class_id, *ACTIVE),
        ):
            metrics = json.loads(r["metrics"]) if r["metrics"] else {}
            active[r["student_id"]] = {
                "id": r["id"],
                "status": r["status"],
                "epoch": r["epoch"],
                "epochs": json.loads(r["config"]).get("epochs"),
                "val_accuracy": metrics.get("val_accuracy"),
                "steps": r["steps"],
            }
        tallies = {
            r["learner"]: (r["correct"], r["attempts"])
            for r in self.db.query(
                "SELECT a.learner, sum(a.correct) AS correct, count(*) AS attempts FROM attempts a "
                "JOIN students s ON a.learner = s.id WHERE s.class_id = ? GROUP BY a.learner",
                (class_id,),
            )
        }
        rows = []
        for s in students:
            net = nets.get(s["network_id"])
            correct, attempts = tallies.get(s["id"], (0, 0))
            rows.append(
                {
                    "id": s["id"],
                    "name": s["name"],
                    "view": s["view"],
                    "lesson": s["lesson"],
                    "exercise": s["exercise"],
                    "seen": s["seen"],
                    "idle": now - s["seen"] > IDLE_SECONDS,
                    "asking": s["asking"] is not None,
                    "network": {"id": net["id"], "name": net["name"], "params": net["params"]} if net else None,
                    "run": active.get(s["id"]),
                    "exercises": {"correct": correct or 0, "attempted": attempts},
                }
            )
        return {"class": klass, "students": rows, "exercises": self.exercise_stats(class_id), "time": now}

    def exercise_stats(self, class_id: str) -> list[dict]:
        """Per exercise kind: how many tried, how many were wrong, and the commonest wrong answer."""
        kinds = self.db.query(
            "SELECT a.kind, count(*) AS attempts, sum(1 - a.correct) AS wrong, count(DISTINCT a.learner) AS students "
            "FROM attempts a JOIN students s ON a.learner = s.id WHERE s.class_id = ? GROUP BY a.kind",
            (class_id,),
        )
        commonest = {}
        for r in self.db.query(
            "SELECT a.kind, a.answer, count(*) AS n FROM attempts a JOIN students s ON a.learner = s.id "
            "WHERE s.class_id = ? AND a.correct = 0 GROUP BY a.kind, a.answer ORDER BY n DESC",
            (class_id,),
        ):
            commonest.setdefault(r["kind"], {"answer": json.loads(r["answer"]), "count": r["n"]})
        out = [
            {
                "kind": r["kind"],
                "attempts": r["attempts"],
                "wrong": r["wrong"],
                "students": r["students"],
                "wrong_share": r["wrong"] / r["attempts"],
                "commonest_wrong": commonest.get(r["kind"]),
            }
            for r in kinds
        ]
        return sorted(out, key=lambda k: (-k["wrong_share"], -k["attempts"]))

    def student(self, class_id: str, student_id: str) -> dict:
        """One student in detail: their networks, their runs with curves, their answers."""
        student = self.classroom.student_of(class_id, student_id)
        networks = [
            {"id": r["id"], "name": r["name"], "params": r["params"], "spec": json.loads(r["spec"])}
            for r in self.db.query("SELECT * FROM networks WHERE student_id = ? ORDER BY created", (student_id,))
        ]
        runs = []
        for net in networks:
            for run in self.runs.list(net["id"]):
                described = self.runs.describe(run["id"], history=True)
                described["curve"] = [
                    {k: e.get(k) for k in ("epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy")}
                    for e in described.pop("history") or []
                    if e["type"] == "epoch"
                ]
                runs.append(described)
        answers = [
            {
                "kind": r["kind"],
                "seed": r["seed"],
                "answer": json.loads(r["answer"]),
                "correct": bool(r["correct"]),
                "after_solution": bool(r["after_solution"]),
                "created": r["created"],
            }
            for r in self.db.query("SELECT * FROM attempts WHERE learner = ? ORDER BY created", (student_id,))
        ]
        return {"student": student, "networks": networks, "runs": runs, "answers": answers}

    def results_csv(self, class_id: str, challenges) -> str:
        """One row per student: exercises, their best run, and each challenge's score."""
        snapshot = self.snapshot(class_id)
        best_runs = {
            r["student_id"]: r["best"]
            for r in self.db.query(
                "SELECT n.student_id, max(CAST(json_extract(r.metrics, '$.val_accuracy') AS DOUBLE PRECISION)) AS best FROM runs r "
                "JOIN networks n ON r.network_id = n.id JOIN students s ON n.student_id = s.id "
                "WHERE s.class_id = ? GROUP BY n.student_id",
                (class_id,),
            )
        }
        boards = [
            (c, {e["student_id"]: e["accuracy"] for e in challenges.leaderboard(c["id"])["entries"]})
            for c in challenges.of_class(class_id)
        ]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "student",
                "exercises correct",
                "exercises attempted",
                "best validation accuracy",
                *[_cell(f"challenge: {c['name']}") for c, _ in boards],
            ]
        )
        for s in snapshot["students"]:
            best = best_runs.get(s["id"])
            writer.writerow(
                [
                    _cell(s["name"]),
                    s["exercises"]["correct"],
                    s["exercises"]["attempted"],
                    "" if best is None else f"{best:.4f}",
                    *["" if board.get(s["id"]) is None else f"{board[s['id']]:.4f}" for _, board in boards],
                ]
            )
        return out.getvalue()


def _cell(text: str) -> str:
    """A name as a spreadsheet shows it, never as a formula (a name may start with '=')."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
