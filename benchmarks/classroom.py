"""A class at once: simulated students and their teacher against a live server on loopback.

    python benchmarks/classroom.py [--students 40] [--epochs 1] [--max-train N] [--json out.json]

Starts `cnn-playground serve --token <random>` on a free loopback port with a fresh data
directory. The teacher (the server's token as Bearer) opens a class and follows its dashboard
over the WebSocket /api/classes/{id}/dashboard/live. Each student joins with the class code and a
name from an address of its own (127.0.1.k, as a room of machines: the join limit is per address)
and from then on sends the token the join gave, as `Authorization: Bearer st_...`.

A student is two threads with their own HTTP clients. The work thread builds a LeNet-5, starts
one run on `strokes` (past the server's queue it is answered 429: the student does an exercise
and tries again), answers 10 exercises (right or wrong on purpose, the right answer worked out
from the exercise's `given`; the grade must agree) and waits for the run's end. The page thread
polls as the page does: GET /api/me every 3 s, POST /api/me/activity every 5 s (and the work
thread on each change of view, network or exercise), GET the run every second while it trains.
Every loop is bounded in count and time.

Dashboard staleness: for each thing a student did that the dashboard shows (an activity report,
an answer, a run queued, running, each finished epoch but the last, its end), the time from the
action to the first message on the teacher's WebSocket that shows it or something newer. The
action's time is the request's start; a run's start and end are the server's `started` and
`finished` stamps (one clock: the same machine), an epoch's is `started` plus the epoch
event's `elapsed` (an early estimate, so its staleness is if anything overstated).

Reports the count of 5xx (must be 0), whether every request was answered and every run
completed, staleness p50/p95/max per kind of event (target p95 < 2 s), p50/p95/max latency per
kind of request (target for students: p95 < 200 ms), and the total time, as a table and as
JSON. Exits 1 when a request got no answer or a 5xx, a run did not complete, an event never
reached the dashboard, a grade or the final dashboard disagrees with what the students did, or
the server logged a traceback. The targets are printed, not enforced.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
from serverproc import free_port
from websockets.sync.client import connect

STUDENT_KINDS = (
    "join",
    "me",
    "activity",
    "create_network",
    "start_run",
    "read_run",
    "new_exercise",
    "answer",
)
TEACHER_KINDS = ("create_class", "dashboard_live", "dashboard")
EVENT_KINDS = ("activity", "answer", "run_queued", "run_running", "run_epoch", "run_ended")
ACTIVE = ("queued", "running", "paused")
STALENESS_TARGET_S, LATENCY_TARGET_MS = 2.0, 200.0

# the right answer of each kind of exercise, from the numbers the exercise gives
RIGHT = {
    "image_values": lambda g: g["channels"] * g["height"] * g["width"],
    "filter_weights": lambda g: g["kernel_size"] ** 2 * g["channels"],
    "output_size": lambda g: (g["n_in"] + 2 * g["padding"] - g["kernel_size"]) // g["stride"] + 1,
    "conv_params": lambda g: g["filters"] * (g["kernel_size"] ** 2 * g["channels"] + (1 if g["bias"] else 0)),
}


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def spread(values, scale=1.0) -> dict:
    values = [v * scale for v in values]
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 3),
        "p95": round(percentile(values, 95), 3),
        "max": round(max(values), 3),
    }


def address_of(k: int) -> str:
    """Student k's own loopback address: 127.0.1.1, 127.0.1.2, ... (Linux answers all of 127/8)."""
    return f"127.0.{1 + k // 254}.{1 + k % 254}"


class Tally:
    """What every thread saw: request times and statuses, and the events the dashboard must show."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)  # kind -> seconds
        self.statuses = defaultdict(lambda: defaultdict(int))
        self.unanswered = []  # (kind, error)
        self.problems = []  # grades or dashboards that disagree with what happened
        self.events = []  # (kind, student id, time of the action, shown(row, received))
        self.retries_429 = defaultdict(int)
        self.outcomes = defaultdict(int)  # final run status

    def add(self, kind, seconds, status):
        with self.lock:
            self.times[kind].append(seconds)
            self.statuses[kind][status] += 1

    def lost(self, kind, error):
        with self.lock:
            self.unanswered.append((kind, f"{type(error).__name__}: {error}"[:200]))

    def wrong(self, text):
        with self.lock:
            self.problems.append(text[:300])

    def expect(self, kind, student_id, at, shown):
        with self.lock:
            self.events.append((kind, student_id, at, shown))


def timed(tally, kind, fn):
    t = time.perf_counter()
    try:
        r = fn()
    except Exception as e:  # a request that got no answer is what we count
        tally.lost(kind, e)
        return None
    tally.add(kind, time.perf_counter() - t, r.status_code)
    return r


class Teacher:
    """Follows the dashboard's WebSocket and keeps every message with the time it arrived."""

    def __init__(self, port, token, class_id, tally):
        self.url = f"ws://127.0.0.1:{port}/api/classes/{class_id}/dashboard/live"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.tally = tally
        self.seen = []  # (time received, {student id: row})
        self.messages, self.bytes, self.reconnects = 0, 0, 0
        self.stop = threading.Event()
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self.follow, daemon=True)

    def follow(self):
        for _ in range(5):  # a dropped connection is reconnected, a few times at most
            t = time.perf_counter()
            try:
                with connect(
                    self.url,
                    additional_headers=self.headers,
                    open_timeout=30,
                    close_timeout=5,
                    max_size=1 << 24,
                ) as ws:
                    self.tally.add("dashboard_live", time.perf_counter() - t, 101)
                    self.opened.set()
                    while not self.stop.is_set():
                        try:
                            message = ws.recv(timeout=0.5)
                        except TimeoutError:
                            continue
                        received = time.time()
                        snapshot = json.loads(message)
                        self.messages += 1
                        self.bytes += len(message)
                        self.seen.append((received, {row["id"]: row for row in snapshot["students"]}))
                    return
            except Exception as e:
                status = getattr(getattr(e, "response", None), "status_code", None)
                if status is not None:
                    self.tally.add("dashboard_live", time.perf_counter() - t, status)
                else:
                    self.tally.lost("dashboard_live", e)
                self.reconnects += 1
                self.opened.set()
                if self.stop.wait(1.0):
                    return


class Student:
    """One student: a work thread (build, train, exercises) and a page thread (polling)."""

    def __init__(self, k, url, code, args, tally, deadline):
        self.k, self.url, self.code = k, url, code
        self.args, self.tally, self.deadline = args, tally, deadline
        self.rng = random.Random(k)
        self.address = "127.0.0.1" if args.one_address else address_of(k)
        self.lock = threading.Lock()
        self.place = {"view": "learn"}  # what the page reports: view, network_id, lesson, exercise
        self.id = self.token = self.run_id = self.final = None
        self.started_run_at = None  # time.time() when the run was asked for
        self.answered = self.right = 0
        self.done = threading.Event()

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(
            base_url=self.url,
            timeout=120,
            headers=headers,
            transport=httpx.HTTPTransport(local_address=self.address),
        )

    def report(self, api, **changes):
        """POST /api/me/activity with where the student is; the dashboard must show it."""
        with self.lock:
            self.place.update({k: v for k, v in changes.items() if v is not None})
            body = dict(self.place)
        at = time.time()
        r = timed(self.tally, "activity", lambda: api.post("/api/me/activity", json=body))
        if r is not None and r.status_code == 204:
            self.tally.expect("activity", self.id, at, lambda row, received: row["seen"] >= at)

    # ---- the work thread ------------------------------------------------------------------------
    def work(self):
        try:
            if self.join():
                page = threading.Thread(target=self.page, daemon=True)
                page.start()
                try:
                    self.build_train_and_answer()
                finally:
                    self.done.set()
                    page.join(10)
        finally:
            self.done.set()

    def join(self) -> bool:
        with self.client() as api:
            for _ in range(20):
                r = timed(
                    self.tally,
                    "join",
                    lambda: api.post(
                        "/api/classes/join",
                        json={"code": self.code, "name": f"Student {self.k + 1}"},
                    ),
                )
                if r is None:
                    return False
                if r.status_code == 200:
                    self.id, self.token = r.json()["student"]["id"], r.json()["token"]
                    return True
                if r.status_code != 429 or time.monotonic() > self.deadline:
                    self.tally.wrong(f"student {self.k}: join answered {r.status_code} {r.text[:120]}")
                    return False
                with self.tally.lock:
                    self.tally.retries_429["join"] += 1
                time.sleep(self.rng.uniform(3.0, 6.0))  # the limit is per minute
        return False

    def build_train_and_answer(self):
        args = self.args
        with self.client() as api:
            self.report(api, view="build")
            r = timed(
                self.tally,
                "create_network",
                lambda: api.post("/api/networks", json={"preset": "lenet5", "name": f"lenet5 of {self.k + 1}"}),
            )
            if r is None or r.status_code != 201:
                self.tally.wrong(f"student {self.k}: creating the network answered {getattr(r, 'status_code', None)}")
                return
            network_id = r.json()["id"]
            self.report(api, network_id=network_id, view="train")
            body = {"dataset": "strokes", "epochs": args.epochs}
            if args.max_train:
                body["max_train"] = args.max_train
            tries, next_try = 0, 0.0
            while time.monotonic() < self.deadline:
                if self.run_id is None and time.monotonic() >= next_try:
                    tries += 1
                    at = time.time()
                    r = timed(
                        self.tally,
                        "start_run",
                        lambda: api.post(f"/api/networks/{network_id}/runs", json=body),
                    )
                    if r is not None and r.status_code == 201:
                        with self.lock:
                            self.run_id, self.started_run_at = r.json()["id"], at
                    elif r is not None and r.status_code == 429 and tries <= args.max_retries:
                        with self.tally.lock:
                            self.tally.retries_429["start_run"] += 1
                        next_try = time.monotonic() + self.rng.uniform(1.0, 3.0)
                    else:
                        self.tally.wrong(
                            f"student {self.k}: starting the run answered "
                            f"{getattr(r, 'status_code', None)} after {tries} tries"
                        )
                        return
                if self.answered < args.exercises:
                    self.exercise(api)
                elif self.run_id is not None:
                    break
                else:
                    time.sleep(0.2)
            # the run trains on: wait for the page thread to see its end
            while self.final is None and time.monotonic() < self.deadline:
                time.sleep(0.2)
            if self.final is not None:
                self.expect_run(self.final)

    def exercise(self, api):
        kind = self.rng.choice(sorted(RIGHT))
        r = timed(self.tally, "new_exercise", lambda: api.post("/api/exercises", json={"kind": kind}))
        if r is None or r.status_code != 200:
            self.tally.wrong(f"student {self.k}: a new {kind} exercise answered {getattr(r, 'status_code', None)}")
            self.answered += 1  # counted, so a broken route cannot keep the loop going
            return
        ex = r.json()
        self.report(api, view="learn", lesson=ex["lesson"], exercise=ex["id"])
        time.sleep(self.args.think * self.rng.uniform(0.5, 1.5))
        meant_right = self.rng.random() < self.args.right
        answer = RIGHT[kind](ex["given"]) + (0 if meant_right else self.rng.choice((1, -1)))
        at = time.time()
        r = timed(
            self.tally,
            "answer",
            lambda: api.post(f"/api/exercises/{kind}/{ex['seed']}/answer", json={"answer": answer}),
        )
        self.answered += 1
        if r is None or r.status_code != 200:
            self.tally.wrong(f"student {self.k}: answering {ex['id']} answered {getattr(r, 'status_code', None)}")
            return
        if r.json()["correct"] != meant_right:
            self.tally.wrong(f"{ex['id']}: {answer} graded correct={r.json()['correct']}, meant {meant_right}")
        self.right += r.json()["correct"]
        attempts = self.answered
        self.tally.expect("answer", self.id, at, lambda row, received: row["exercises"]["attempted"] >= attempts)

    def expect_run(self, run):
        """What the dashboard must have shown of the run: queued, running, each epoch, its end."""
        rid, finished = run["id"], run["finished"]

        def ended(row, received):
            return received >= finished and (row["run"] is None or row["run"]["id"] != rid)

        def mine(row):
            return row["run"] is not None and row["run"]["id"] == rid

        self.tally.expect("run_queued", self.id, self.started_run_at, lambda row, t: mine(row) or ended(row, t))
        if run["started"] is not None:
            self.tally.expect(
                "run_running",
                self.id,
                run["started"],
                lambda row, t: (mine(row) and row["run"]["status"] != "queued") or ended(row, t),
            )
            for event in run.get("history") or []:
                k = event.get("epoch")
                # the last epoch ends the run: its end stands for it
                if event.get("type") == "epoch" and k < run["epochs"]:
                    self.tally.expect(
                        "run_epoch",
                        self.id,
                        run["started"] + event["elapsed"],
                        lambda row, t, k=k: (mine(row) and row["run"]["epoch"] >= k) or ended(row, t),
                    )
        if finished is not None:
            self.tally.expect("run_ended", self.id, finished, ended)

    # ---- the page thread ----------------------------------------------------------------------------
    def page(self):
        """GET /api/me every 3 s, activity every 5 s, the run every second while it trains."""
        args = self.args
        now = time.monotonic()
        next_me, next_activity, next_run = now, now + 5.0, now
        with self.client() as api:
            while not self.done.is_set() and time.monotonic() < self.deadline:
                now = time.monotonic()
                if now >= next_me:
                    next_me = now + args.me_every
                    timed(self.tally, "me", lambda: api.get("/api/me"))
                if now >= next_activity:
                    next_activity = now + args.activity_every
                    self.report(api)
                if self.run_id is not None and self.final is None and now >= next_run:
                    next_run = now + args.run_every
                    r = timed(self.tally, "read_run", lambda: api.get(f"/api/runs/{self.run_id}"))
                    if r is not None and r.status_code == 200 and r.json()["status"] not in ACTIVE:
                        with self.tally.lock:
                            self.tally.outcomes[r.json()["status"]] += 1
                        self.final = r.json()
                self.done.wait(0.1)


def staleness(events, seen) -> dict:
    """Per kind of event, the seconds from the action to the first dashboard message showing it."""
    out = {kind: [] for kind in EVENT_KINDS}
    never = defaultdict(int)
    for kind, student_id, at, shown in events:
        first = next(
            (received for received, rows in seen if student_id in rows and shown(rows[student_id], received)),
            None,
        )
        if first is None:
            never[kind] += 1
        else:
            out[kind].append(max(0.0, first - at))
    return {"kinds": out, "never_shown": dict(never)}


def check_dashboard(board, students, tally):
    """The final dashboard agrees with what each student did."""
    rows = {row["id"]: row for row in board["students"]}
    for s in students:
        if s.id is None:
            continue
        row = rows.get(s.id)
        if row is None:
            tally.wrong(f"student {s.k} is missing from the dashboard")
        elif row["exercises"] != {"correct": s.right, "attempted": s.answered}:
            tally.wrong(
                f"student {s.k}: the dashboard shows {row['exercises']}, "
                f"the student answered {s.answered} ({s.right} right)"
            )
        elif row["network"] is None:
            tally.wrong(f"student {s.k}: the dashboard shows no network")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=40)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--max-train", type=int, default=None, help="the first N images (default: all)")
    p.add_argument("--exercises", type=int, default=10, help="exercises each student answers")
    p.add_argument("--right", type=float, default=0.7, help="the share of answers meant right")
    p.add_argument("--think", type=float, default=2.0, help="seconds over an exercise (0.5-1.5x)")
    p.add_argument("--ramp", type=float, default=5.0, help="students arrive over this many seconds")
    p.add_argument("--me-every", type=float, default=3.0, help="seconds between GET /api/me")
    p.add_argument("--activity-every", type=float, default=5.0, help="seconds between reports")
    p.add_argument("--run-every", type=float, default=1.0, help="seconds between GETs of the run")
    p.add_argument("--max-retries", type=int, default=300, help="429 retries of a run's start")
    p.add_argument(
        "--one-address",
        action="store_true",
        help="every student from 127.0.0.1 (joins then meet the per-address limit)",
    )
    p.add_argument("--time-limit", type=float, default=900, help="seconds; students stop after it")
    p.add_argument("--json", help="also write the results to this file")
    return p.parse_args()


def start_server(port, token, data, log) -> subprocess.Popen:
    serve = ["serve", "--port", str(port), "--data-dir", data, "--token", token]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *serve, "--log-level", "warning"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc


def hold_class(args, port, token, tally):
    """The teacher opens a class and follows it while the students work; then the final dashboard."""
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}) as api:
        # strokes is generated on first use: once, before the class
        api.get("/api/datasets/strokes/samples?n=1").raise_for_status()
        body = {"name": "Benchmark class"}
        r = timed(tally, "create_class", lambda: api.post("/api/classes", json=body))
        if r is None or r.status_code != 201:
            raise RuntimeError(f"the teacher could not open a class: {getattr(r, 'text', None)}")
        klass = r.json()
        teacher = Teacher(port, token, klass["id"], tally)
        teacher.thread.start()
        teacher.opened.wait(30)
        start = time.monotonic()
        deadline = start + args.time_limit
        students = [Student(k, url, klass["code"], args, tally, deadline) for k in range(args.students)]
        arrivals = []
        for k, s in enumerate(students):
            arrival = threading.Timer(args.ramp * k / max(1, args.students), s.work)
            arrival.daemon = True
            arrival.start()
            arrivals.append(arrival)
        for arrival in arrivals:
            arrival.join(max(1.0, deadline + 60 - time.monotonic()))
        total = time.monotonic() - start
        time.sleep(3.0)  # the dashboard looks every second: time to show the last changes
        teacher.stop.set()
        teacher.thread.join(10)
        r = timed(tally, "dashboard", lambda: api.get(f"/api/classes/{klass['id']}/dashboard"))
        if r is not None and r.status_code == 200:
            check_dashboard(r.json(), students, tally)
        else:
            tally.wrong("the teacher could not read the final dashboard")
    return teacher, students, total


def summarize(args, tally, teacher, students, total, server_errors) -> dict:
    stale = staleness(tally.events, teacher.seen)
    overall = spread([v for values in stale["kinds"].values() for v in values])
    requests = {}
    for kind in STUDENT_KINDS + TEACHER_KINDS:
        ms = spread(tally.times.get(kind, []), 1000)
        requests[kind] = {"n": ms["n"], "statuses": dict(tally.statuses.get(kind, {}))}
        requests[kind].update({f"{q}_ms": ms[q] and round(ms[q], 1) for q in ("p50", "p95", "max")})
    slow = [k for k in STUDENT_KINDS if (requests[k]["p95_ms"] or 0) >= LATENCY_TARGET_MS]
    return {
        "cores": os.cpu_count(),
        "students": args.students,
        "epochs": args.epochs,
        "max_train": args.max_train,
        "exercises": args.exercises,
        "total_s": round(total, 1),
        "students_joined": sum(s.id is not None for s in students),
        "runs_completed": tally.outcomes.get("completed", 0),
        "run_outcomes": dict(tally.outcomes),
        "every_request_answered": not tally.unanswered,
        "unanswered": tally.unanswered[:10],
        "count_5xx": sum(c for k in tally.statuses.values() for s, c in k.items() if s >= 500),
        "retries_after_429": dict(tally.retries_429),
        "problems": tally.problems[:20],
        "server_log_errors": server_errors[:10],
        "dashboard": {
            "messages": teacher.messages,
            "bytes": teacher.bytes,
            "reconnects": teacher.reconnects,
            "staleness_s": overall,
            "never_shown": stale["never_shown"],
            "events": {kind: spread(values) for kind, values in stale["kinds"].items()},
        },
        "requests": requests,
        "targets": {
            "staleness_p95_under_2s": (overall["p95"] or 0) < STALENESS_TARGET_S and overall["n"] > 0,
            "student_p95_under_200ms": not slow,
            "student_kinds_over": slow,
        },
    }


def show(results) -> None:
    r, board = results, results["dashboard"]
    print(
        f"{r['students']} students, {r['cores']} cores, total {r['total_s']} s, "
        f"{r['runs_completed']}/{r['students']} runs completed, 5xx: {r['count_5xx']}, "
        f"unanswered: {len(r['unanswered'])}, 429 retries: {r['retries_after_429'] or 0}, "
        f"problems: {len(r['problems'])}"
    )
    print(
        f"\ndashboard: {board['messages']} messages, {board['bytes'] / 1e6:.1f} MB, "
        f"never shown: {board['never_shown'] or 0}"
    )
    print(f"{'staleness':<16}{'n':>6}{'p50 s':>9}{'p95 s':>9}{'max s':>9}")
    for kind, e in {**board["events"], "all": board["staleness_s"]}.items():
        print(f"{kind:<16}{e['n']:>6}" + "".join(f"{e[q] or 0:>9.2f}" for q in ("p50", "p95", "max")))
    print(f"\n{'request':<16}{'n':>6}  {'statuses':<22}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for kind, k in r["requests"].items():
        statuses = " ".join(f"{s}:{c}" for s, c in sorted(k["statuses"].items()))
        times = "".join(f"{k[q] or 0:>9}" for q in ("p50_ms", "p95_ms", "max_ms"))
        print(f"{kind:<16}{k['n']:>6}  {statuses:<22}{times}")
    t = r["targets"]
    over = ", ".join(t["student_kinds_over"])
    print(
        f"\ntargets: dashboard staleness p95 < {STALENESS_TARGET_S:g} s: "
        f"{'met' if t['staleness_p95_under_2s'] else 'NOT met'}; student requests p95 < "
        f"{LATENCY_TARGET_MS:g} ms: {'met' if not over else 'NOT met by ' + over}"
    )
    for problem in r["problems"]:
        print(f"problem: {problem}")


def main() -> int:
    args = parse_args()
    port, token = free_port(), secrets.token_urlsafe(24)
    data = tempfile.mkdtemp(prefix="cnn-playground-class-")
    log = Path(data).parent / f"{Path(data).name}.log"
    tally = Tally()
    proc = start_server(port, token, data, log)
    try:
        teacher, students, total = hold_class(args, port, token, tally)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    server_errors = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if "Traceback" in line or "locked" in line or "Exception" in line
    ]
    results = summarize(args, tally, teacher, students, total, server_errors)
    show(results)
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    ok = (
        results["every_request_answered"]
        and results["count_5xx"] == 0
        and results["runs_completed"] == args.students
        and not tally.problems
        and not results["dashboard"]["never_shown"]
        and not server_errors
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
