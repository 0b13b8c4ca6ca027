"""Classes and their students: opening and closing a class, joining it, what the teacher pushes
and locks, and what each student's page reports.

The teacher is the server's owner (the token it printed, or this machine on loopback); a
student is whoever joined a class with its code and a display name and holds the token the
join gave (an HttpOnly cookie for the page, a bearer token for the API). Re-joining from the
same browser is the same student. Locks are kept with the class and enforced here, for every
route that could break them (ClassPolicy): the page only greys out what the server refuses.
"""

from __future__ import annotations

import json
import time
import unicodedata

from .. import access
from ..db import Database, IntegrityError
from ..errors import Busy, Conflict, Forbidden, Invalid, NotFound
from ..files import FileStore, new_id
from .codes import new_code, new_student_token, normalize_code, token_hash
from .ratelimit import RateLimit

VIEWS = ("learn", "build", "data", "train", "inspect", "conv", "init")
IDLE_SECONDS = 300  # no activity for 5 minutes: the dashboard says so
NAME_MAX = 40


def _loads(text, default=None):
    return json.loads(text) if text else default


def check_display_name(name: str) -> str:
    """A student's display name: 1-40 printable characters in any script, no control or invisible ones."""
    if not isinstance(name, str) or not name.strip():
        raise Invalid(
            [{"loc": ["body", "name"], "msg": "give a display name, e.g. your first name", "type": "value_error"}]
        )
    name = " ".join(name.split())
    if len(name) > NAME_MAX:
        raise Invalid(
            [
                {
                    "loc": ["body", "name"],
                    "msg": f"a display name has at most {NAME_MAX} characters",
                    "type": "value_error",
                }
            ]
        )
    for ch in name:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in "\u200c\u200d":
            raise Invalid(
                [
                    {
                        "loc": ["body", "name"],
                        "msg": f"the name holds U+{ord(ch):04X}, which cannot be "
                        "shown; use letters, digits, spaces and punctuation",
                        "type": "value_error",
                    }
                ]
            )
    return name


class ClassroomService:
    def __init__(self, db: Database, files: FileStore, join_limit: RateLimit | None = None):
        self.db, self.files = db, files
        self.join_limit = join_limit or RateLimit(attempts=20, seconds=60)

    # ---- classes (the teacher) -------------------------------------------------------------
    def open_class(self, name: str | None = None) -> dict:
        access.require_teacher("open a class")
        name = (name or "").strip()[:80] or time.strftime("Class of %d %b %Y, %H:%M")
        for _ in range(20):  # codes are random: on the rare collision, draw again
            class_id, code = new_id(), new_code()
            try:
                with self.db.tx() as c:
                    c.execute(
                        "INSERT INTO classes (id, name, code, created) VALUES (?, ?, ?, ?)",
                        (class_id, name, code, time.time()),
                    )
                return self.get_class(class_id)
            except IntegrityError:
                continue
        raise Conflict("could not draw a free class code; try again")

    def classes(self) -> list[dict]:
        access.require_teacher("see the classes")
        return [
            self._class(r)
            for r in self.db.query(
                "SELECT c.*, (SELECT count(*) FROM students s WHERE s.class_id = c.id) AS students "
                "FROM classes c ORDER BY created"
            )
        ]

    def get_class(self, class_id: str) -> dict:
        access.require_teacher("see a class")
        rows = self.db.query(
            "SELECT c.*, (SELECT count(*) FROM students s WHERE s.class_id = c.id) AS students "
            "FROM classes c WHERE id = ?",
            (class_id,),
        )
        if not rows:
            raise NotFound(f"no class with id {class_id!r}")
        return self._class(rows[0])

    def open_classes(self) -> list[dict]:
        """The classes taking students now (for the page's join screen and serve's banner)."""
        return [
            self._class(r, teacher=False)
            for r in self.db.query("SELECT *, 0 AS students FROM classes WHERE closed IS NULL ORDER BY created")
        ]

    @staticmethod
    def _class(r, teacher: bool = True) -> dict:
        out = {"id": r["id"], "name": r["name"], "created": r["created"], "closed": r["closed"]}
        if teacher:
            out.update(code=r["code"], students=r["students"], locks=_loads(r["locks"], {}), setup=_loads(r["setup"]))
        return out

    def close_class(self, class_id: str) -> dict:
        """No one can join any more; students keep their work and the teacher the results."""
        self.get_class(class_id)
        with self.db.tx() as c:
            c.execute("UPDATE classes SET closed = coalesce(closed, ?) WHERE id = ?", (time.time(), class_id))
        return self.get_class(class_id)

    def delete_class(self, class_id: str) -> None:
        """The class and everything in it: students, their networks, runs, datasets and answers."""
        self.get_class(class_id)
        with self.db.tx() as c:
            networks = [
                r["id"]
                for r in c.execute(
                    "SELECT n.id FROM networks n JOIN students s ON n.student_id = s.id WHERE s.class_id = ?",
                    (class_id,),
                )
            ]
            active = c.execute(
                "SELECT r.id FROM runs r JOIN networks n ON r.network_id = n.id JOIN students s ON "
                "n.student_id = s.id WHERE s.class_id = ? AND r.status IN ('queued', 'running', 'paused')",
                (class_id,),
            ).fetchall()
            if active:
                raise Conflict(
                    f"{len(active)} runs of this class are still training; stop them first "
                    "(or close the class instead, which keeps everything)"
                )
            checkpoints = [
                r["checkpoint"]
                for r in c.execute(
                    "SELECT r.checkpoint FROM runs r JOIN networks n ON r.network_id = n.id JOIN students s ON "
                    "n.student_id = s.id WHERE s.class_id = ? AND r.checkpoint IS NOT NULL",
                    (class_id,),
                )
            ]
            datasets = [
                r["file_id"]
                for r in c.execute(
                    "SELECT d.file_id FROM datasets d JOIN students s ON d.student_id = s.id WHERE s.class_id = ?",
                    (class_id,),
                )
            ]
            c.execute("DELETE FROM classes WHERE id = ?", (class_id,))  # cascades to all of it
        for file_id in networks:
            self.files.delete("networks", file_id)
        for file_id in checkpoints:
            self.files.delete("checkpoints", file_id)
        for file_id in datasets:
            self.files.delete("datasets", file_id)

    # ---- students ------------------------------------------------------------------------------
    def join(self, code: str, name: str, token: str | None, address: str) -> tuple[dict, str]:
        """The student `name` in the open class with `code`, and their token. The same browser (its
        token) joining again is the same student; a taken name in the class is refused."""
        wait = self.join_limit.wait(address)
        if wait:
            raise Busy(f"too many wrong codes from this address; try again in {wait:.0f} s")
        name = check_display_name(name)
        rows = self.db.query("SELECT * FROM classes WHERE code = ? AND closed IS NULL", (normalize_code(code),))
        if not rows:
            self.join_limit.count(address)
            raise NotFound(
                "no open class has this code; check it with your teacher (it has 6 letters and digits, e.g. 7KQ4XR)"
            )
        klass = rows[0]
        if token:
            known = self.db.query(
                "SELECT * FROM students WHERE token_hash = ? AND class_id = ?", (token_hash(token), klass["id"])
            )
            if known:  # the same browser: the same student, under the name given now
                self._rename(known[0]["id"], name, klass["id"])
                return self._student(self._row(known[0]["id"])), token
        token = new_student_token()
        student_id, now = new_id(), time.time()
        try:
            with self.db.tx() as c:
                c.execute(
                    "INSERT INTO students (id, class_id, name, token_hash, created, seen) VALUES (?, ?, ?, ?, ?, ?)",
                    (student_id, klass["id"], name, token_hash(token), now, now),
                )
                # the student answers exercises as themselves: progress goes with them
                c.execute(
                    "INSERT INTO learners (id, created, student_id) VALUES (?, ?, ?)", (student_id, now, student_id)
                )
        except IntegrityError:
            raise Conflict(f"someone in this class already goes by {name!r}; add an initial or a number") from None
        return self._student(self._row(student_id)), token

    def principal_for(self, token: str) -> access.Principal | None:
        """The student a token belongs to, in a class that still exists; None otherwise."""
        rows = self.db.query("SELECT id, class_id, name FROM students WHERE token_hash = ?", (token_hash(token),))
        if not rows:
            return None
        r = rows[0]
        return access.Principal("student", student_id=r["id"], class_id=r["class_id"], name=r["name"])

    def _row(self, student_id: str):
        rows = self.db.query("SELECT * FROM students WHERE id = ?", (student_id,))
        if not rows:
            raise NotFound(f"no student with id {student_id!r}")
        return rows[0]

    @staticmethod
    def _student(r) -> dict:
        now = time.time()
        return {
            "id": r["id"],
            "class_id": r["class_id"],
            "name": r["name"],
            "joined": r["created"],
            "seen": r["seen"],
            "idle": now - r["seen"] > IDLE_SECONDS,
            "view": r["view"],
            "network_id": r["network_id"],
            "lesson": r["lesson"],
            "exercise": r["exercise"],
            "asking": r["asking"],
        }

    def student_of(self, class_id: str, student_id: str) -> dict:
        self.get_class(class_id)
        r = self._row(student_id)
        if r["class_id"] != class_id:
            raise NotFound(f"no student with id {student_id!r} in this class")
        return self._student(r)

    def rename_student(self, class_id: str, student_id: str, name: str) -> dict:
        self.student_of(class_id, student_id)
        self._rename(student_id, check_display_name(name), class_id)
        return self._student(self._row(student_id))

    def _rename(self, student_id: str, name: str, class_id: str) -> None:
        try:
            with self.db.tx() as c:
                c.execute("UPDATE students SET name = ? WHERE id = ?", (name, student_id))
        except IntegrityError:
            raise Conflict(f"someone in this class already goes by {name!r}; add an initial or a number") from None

    def remove_student(self, class_id: str, student_id: str) -> None:
        """The student and all they made (networks, runs, datasets, answers); their token stops working."""
        self.student_of(class_id, student_id)
        with self.db.tx() as c:
            active = c.execute(
                "SELECT r.id FROM runs r JOIN networks n ON r.network_id = n.id WHERE "
                "n.student_id = ? AND r.status IN ('queued', 'running', 'paused')",
                (student_id,),
            ).fetchall()
            if active:
                raise Conflict(f"this student's run {active[0]['id']} is still training; stop it first")
            networks = [r["id"] for r in c.execute("SELECT id FROM networks WHERE student_id = ?", (student_id,))]
            checkpoints = [
                r["checkpoint"]
                for r in c.execute(
                    "SELECT r.checkpoint FROM runs r JOIN networks n ON r.network_id = n.id "
                    "WHERE n.student_id = ? AND r.checkpoint IS NOT NULL",
                    (student_id,),
                )
            ]
            datasets = [
                r["file_id"] for r in c.execute("SELECT file_id FROM datasets WHERE student_id = ?", (student_id,))
            ]
            c.execute("DELETE FROM students WHERE id = ?", (student_id,))
        for kind, ids in (("networks", networks), ("checkpoints", checkpoints), ("datasets", datasets)):
            for file_id in ids:
                self.files.delete(kind, file_id)

    def students(self, class_id: str) -> list[dict]:
        self.get_class(class_id)
        return [
            self._student(r)
            for r in self.db.query("SELECT * FROM students WHERE class_id = ? ORDER BY lower(name), name", (class_id,))
        ]

    # ---- what a student's page says and asks -----------------------------------------------------
    def report(self, view: str | None, network_id: str | None, lesson: str | None, exercise: str | None) -> None:
        """A student's page says where the student is (every few seconds, and on each change)."""
        p = access.current()
        if not p.is_student:
            return  # the teacher's own page has nothing to report
        if view is not None and view not in VIEWS:
            raise Invalid([{"loc": ["body", "view"], "msg": f"one of {', '.join(VIEWS)}", "type": "value_error"}])
        with self.db.tx() as c:
            c.execute(
                "UPDATE students SET seen = ?, view = coalesce(?, view), network_id = coalesce(?, network_id), "
                "lesson = coalesce(?, lesson), exercise = coalesce(?, exercise) WHERE id = ?",
                (time.time(), view, network_id, lesson, exercise, p.student_id),
            )

    def ask(self, asking: bool) -> None:
        """A student raises (or lowers) a hand for the teacher's setup."""
        p = self._me()
        with self.db.tx() as c:
            c.execute(
                "UPDATE students SET asking = ?, seen = ? WHERE id = ?",
                (time.time() if asking else None, time.time(), p.student_id),
            )

    def _me(self) -> access.Principal:
        p = access.current()
        if not p.is_student:
            raise Forbidden("only a student who joined a class can do this")
        return p

    def me(self) -> dict:
        """Who the page is for, and what it must follow: the class's locks and the setup pushed last."""
        p = access.current()
        if p.kind == "anonymous":
            return {"kind": "anonymous", "classes_open": bool(self.open_classes())}
        if p.is_owner:
            return {"kind": "teacher", "classes_open": bool(self.open_classes())}
        r = self._row(p.student_id)
        klass = self.db.query("SELECT * FROM classes WHERE id = ?", (r["class_id"],))[0]
        push = self.db.query(
            "SELECT * FROM pushes WHERE class_id = ? AND (student_id IS NULL OR student_id = ?) "
            "ORDER BY id DESC LIMIT 1",
            (r["class_id"], p.student_id),
        )
        return {
            "kind": "student",
            "student": self._student(r),
            "class": {"id": klass["id"], "name": klass["name"], "closed": klass["closed"]},
            "locks": self.locks_for_me(),
            "setup": (
                {"id": push[0]["id"], "setup": json.loads(push[0]["setup"]), "pushed": push[0]["created"]}
                if push
                else None
            ),
        }

    # ---- pushes and locks (the teacher) ------------------------------------------------------------
    def push(self, class_id: str, setup: dict, to) -> dict:
        """Send a setup (network, dataset, hyperparameters, view, lesson) to every student ("all"), to
        those with a hand up ("askers"), or to the students listed; their pages take it within seconds."""
        self.get_class(class_id)
        now = time.time()
        with self.db.tx() as c:
            if to == "all":
                c.execute(
                    "INSERT INTO pushes (class_id, student_id, setup, created) VALUES (?, NULL, ?, ?)",
                    (class_id, json.dumps(setup), now),
                )
                c.execute("UPDATE classes SET setup = ? WHERE id = ?", (json.dumps(setup), class_id))
                targets = [r["id"] for r in c.execute("SELECT id FROM students WHERE class_id = ?", (class_id,))]
            else:
                if to == "askers":
                    targets = [
                        r["id"]
                        for r in c.execute(
                            "SELECT id FROM students WHERE class_id = ? AND asking IS NOT NULL", (class_id,)
                        )
                    ]
                else:
                    targets = list(dict.fromkeys(to))
                    known = {r["id"] for r in c.execute("SELECT id FROM students WHERE class_id = ?", (class_id,))}
                    missing = [t for t in targets if t not in known]
                    if missing:
                        raise NotFound(f"no student with id {missing[0]!r} in this class")
                c.executemany(
                    "INSERT INTO pushes (class_id, student_id, setup, created) VALUES (?, ?, ?, ?)",
                    [(class_id, t, json.dumps(setup), now) for t in targets],
                )
            c.executemany("UPDATE students SET asking = NULL WHERE id = ?", [(t,) for t in targets])
        return {"class_id": class_id, "to": len(targets), "setup": setup, "pushed": now}

    def set_locks(self, class_id: str, locks: dict) -> dict:
        self.get_class(class_id)
        with self.db.tx() as c:
            c.execute("UPDATE classes SET locks = ? WHERE id = ?", (json.dumps(locks), class_id))
        return self.get_class(class_id)

    def _class_of_me(self):
        p = access.current()
        if not p.is_student:
            return None
        rows = self.db.query("SELECT locks, setup FROM classes WHERE id = ?", (p.class_id,))
        return rows[0] if rows else None

    def locks_for_me(self) -> dict:
        """The class's locks as they apply to this student now (a view hidden until an exercise is
        solved opens once it is)."""
        row = self._class_of_me()
        if row is None:
            return {}
        locks = _loads(row["locks"], {})
        hidden = {}
        for view, rule in (locks.get("hidden_views") or {}).items():
            until = (rule or {}).get("until_solved")
            if until and self._solved(until):
                continue
            hidden[view] = rule or {}
        return {**locks, "hidden_views": hidden}

    def _solved(self, kind: str) -> bool:
        return bool(
            self.db.query(
                "SELECT 1 FROM attempts WHERE learner = ? AND kind = ? AND correct = 1 LIMIT 1",
                (access.current().student_id, kind),
            )
        )

    def class_setup(self) -> dict:
        row = self._class_of_me()
        return _loads(row["setup"], {}) if row is not None else {}
