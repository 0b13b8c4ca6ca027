"""Classes: the teacher's routes (opening classes, the dashboard, pushes, locks, challenges, the
results), joining, and what a student's page asks and reports."""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Depends, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

import engine

from .. import access
from ..classroom.schemas import (
    Activity,
    Ask,
    ChallengeCreate,
    ChallengePublic,
    ClassCreate,
    ClassPublic,
    Dashboard,
    JoinBody,
    Joined,
    Leaderboard,
    Locks,
    Me,
    Push,
    Pushed,
    Setup,
    StudentDetail,
    StudentPublic,
    StudentRename,
    Submit,
    Submitted,
)
from ..deps import ServicesDep
from ..errors import AppError, NotFound
from ..files import check_id
from ..lessons.content import LESSONS
from ..problems import problem_response
from ..security import STUDENT_COOKIE
from .paging import PageDep, listed
from .responses import errors


def teacher_only() -> None:
    """Every route of the teacher's router: 403 for a student, whatever the route."""
    access.require_teacher("do this: it is the teacher's")


teacher = APIRouter(tags=["classroom: the teacher"], dependencies=[Depends(teacher_only)])
everyone = APIRouter(tags=["classroom: students"])


def _id(value: str, what: str) -> str:
    try:
        return check_id(value)
    except ValueError:
        raise NotFound(f"no {what} with id {value[:50]!r}") from None


# ---- classes ---------------------------------------------------------------------------------
@teacher.post("/classes", response_model=ClassPublic, status_code=201, responses=errors(400, 403, 422))
def create_class(body: ClassCreate, services: ServicesDep):
    """Open a class: students join it with the code in the answer."""
    return services.classroom.open_class(body.name)


@teacher.get("/classes", response_model=list[ClassPublic], responses={**listed(), **errors(403, 422)})
def read_classes(services: ServicesDep, page: PageDep):
    """Every class, open or closed, with its code and its number of students."""
    return page(services.classroom.classes())


@teacher.get("/classes/{class_id}", response_model=ClassPublic, responses=errors(403, 404))
def read_class(class_id: str, services: ServicesDep):
    """One class: its code, locks and the setup pushed last."""
    return services.classroom.get_class(_id(class_id, "class"))


@teacher.post("/classes/{class_id}/close", response_model=ClassPublic, responses=errors(403, 404))
def close_class(class_id: str, services: ServicesDep):
    """No one can join any more; the students keep their work and the teacher the results."""
    return services.classroom.close_class(_id(class_id, "class"))


@teacher.delete("/classes/{class_id}", status_code=204, responses=errors(403, 404, 409))
def delete_class(class_id: str, services: ServicesDep):
    """The class and all of it: students, their networks, runs, datasets and answers."""
    services.classroom.delete_class(_id(class_id, "class"))
    return Response(status_code=204)


# ---- students ----------------------------------------------------------------------------------
@teacher.get(
    "/classes/{class_id}/students",
    response_model=list[StudentPublic],
    responses={**listed("by name"), **errors(403, 404, 422)},
)
def read_students(class_id: str, services: ServicesDep, page: PageDep):
    """The class's students, by name."""
    return page(services.classroom.students(_id(class_id, "class")))


@teacher.get("/classes/{class_id}/students/{student_id}", response_model=StudentDetail, responses=errors(403, 404))
def read_student(class_id: str, student_id: str, services: ServicesDep):
    """One student in detail: their networks, their runs with curves, their answers."""
    return services.dashboard.student(_id(class_id, "class"), _id(student_id, "student"))


@teacher.patch(
    "/classes/{class_id}/students/{student_id}", response_model=StudentPublic, responses=errors(400, 403, 404, 409, 422)
)
def rename_student(class_id: str, student_id: str, body: StudentRename, services: ServicesDep):
    """Give a student another display name."""
    return services.classroom.rename_student(_id(class_id, "class"), _id(student_id, "student"), body.name)


@teacher.delete("/classes/{class_id}/students/{student_id}", status_code=204, responses=errors(403, 404, 409))
def remove_student(class_id: str, student_id: str, services: ServicesDep):
    """Remove a student and all they made; their token stops working."""
    services.classroom.remove_student(_id(class_id, "class"), _id(student_id, "student"))
    return Response(status_code=204)


# ---- the dashboard ------------------------------------------------------------------------------
@teacher.get("/classes/{class_id}/dashboard", response_model=Dashboard, responses=errors(403, 404))
def read_dashboard(class_id: str, services: ServicesDep):
    """A row per student (view, network, run, lesson, exercises, idle), and the exercises the class
    gets wrong most, with the commonest wrong answer."""
    return services.dashboard.snapshot(_id(class_id, "class"))


@teacher.websocket("/classes/{class_id}/dashboard/live")
async def follow_dashboard(websocket: WebSocket, class_id: str):
    """The dashboard, sent again whenever it changes (looked at every second)."""
    services = websocket.app.state.services
    try:
        first = await run_in_threadpool(services.dashboard.snapshot, _id(class_id, "class"))
    except AppError as e:
        await websocket.send_denial_response(problem_response(e.status, e.detail))
        return
    await websocket.accept()
    last = None
    snapshot = first
    try:
        while True:
            key = json.dumps({k: v for k, v in snapshot.items() if k != "time"}, sort_keys=True, default=str)
            if key != last:
                await websocket.send_json(snapshot)
                last = key
            try:
                message = await asyncio.wait_for(websocket.receive(), timeout=1.0)
                if message["type"] == "websocket.disconnect":
                    return
            except asyncio.TimeoutError:
                pass
            snapshot = await run_in_threadpool(services.dashboard.snapshot, class_id)
    except (WebSocketDisconnect, RuntimeError, AppError):
        return


@teacher.get(
    "/classes/{class_id}/results.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per student"}, **errors(403, 404)},
)
def read_results(class_id: str, services: ServicesDep):
    """The class's results as CSV: exercises, best validation accuracy, each challenge's score."""
    class_id = _id(class_id, "class")
    name = services.classroom.get_class(class_id)["name"]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "class"
    return Response(
        services.dashboard.results_csv(class_id, services.challenges),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{safe}-results.csv"'},
    )


# ---- pushes and locks ------------------------------------------------------------------------------
def _checked(services, setup: Setup) -> dict:
    """The setup, once what it names exists and works."""
    out = setup.model_dump(exclude_none=True)
    if setup.spec is not None:
        services.networks.check_spec(setup.spec)
    if setup.preset is not None and setup.preset not in engine.PRESETS:
        raise NotFound(f"no preset {setup.preset!r}; presets: {', '.join(engine.PRESETS)}")
    if setup.dataset is not None:
        services.datasets.get(setup.dataset)
    if setup.lesson is not None and setup.lesson not in {lesson.id for lesson in LESSONS}:
        raise NotFound(f"no lesson {setup.lesson!r}; lessons: {', '.join(lesson.id for lesson in LESSONS)}")
    return out


@teacher.post("/classes/{class_id}/push", response_model=Pushed, responses=errors(400, 403, 404, 422))
def push_setup(class_id: str, body: Push, services: ServicesDep):
    """Send a setup (network, dataset, run settings, view, lesson) to every student, to those who
    asked, or to the students listed; their pages take it within a few seconds."""
    return services.classroom.push(_id(class_id, "class"), _checked(services, body.setup), body.to)


@teacher.put("/classes/{class_id}/locks", response_model=ClassPublic, responses=errors(400, 403, 404, 422))
def set_locks(class_id: str, body: Locks, services: ServicesDep):
    """Fix what students may change: the architecture, the run settings but some, views closed (until
    an exercise is solved). The server refuses a locked change with 403 naming the lock."""
    return services.classroom.set_locks(_id(class_id, "class"), body.model_dump(exclude_none=True))


# ---- challenges --------------------------------------------------------------------------------------
@teacher.post(
    "/classes/{class_id}/challenges",
    response_model=ChallengePublic,
    status_code=201,
    responses=errors(400, 403, 404, 422),
)
def create_challenge(class_id: str, body: ChallengeCreate, services: ServicesDep):
    """A challenge: the best accuracy on a built-in dataset under a parameter and epoch budget,
    scored on held-back images no student sees."""
    return services.challenges.create(_id(class_id, "class"), body.name, body.dataset, body.max_params, body.max_epochs)


@teacher.get(
    "/classes/{class_id}/challenges",
    response_model=list[ChallengePublic],
    responses={**listed(), **errors(403, 404, 422)},
)
def read_challenges(class_id: str, services: ServicesDep, page: PageDep):
    """The class's challenges, oldest first."""
    class_id = _id(class_id, "class")
    services.classroom.get_class(class_id)
    return page(services.challenges.of_class(class_id))


@teacher.post("/challenges/{challenge_id}/end", response_model=ChallengePublic, responses=errors(403, 404))
def end_challenge(challenge_id: str, services: ServicesDep):
    """End a challenge: no more entries; its leaderboard is final."""
    return services.challenges.end(_id(challenge_id, "challenge"))


# ---- students (and everyone) ----------------------------------------------------------------------------
@everyone.post("/classes/join", response_model=Joined, responses=errors(400, 404, 409, 422, 429))
def join_class(body: JoinBody, request: Request, response: Response, services: ServicesDep):
    """Join an open class with its code and a display name; the answer sets the student's cookie
    and gives the same token for the API. The same browser joining again is the same student."""
    address = request.client.host if request.client else "?"
    student, token = services.classroom.join(body.code, body.name, request.cookies.get(STUDENT_COOKIE), address)
    response.set_cookie(STUDENT_COOKIE, token, max_age=365 * 24 * 3600, path="/", httponly=True, samesite="lax")
    klass = next(c for c in services.classroom.open_classes() if c["id"] == student["class_id"])
    return {"student": student, "token": token, "class_name": klass["name"]}


@everyone.get("/me", response_model=Me)
def read_me(services: ServicesDep):
    """Who the page is for (anonymous, teacher or student) and, for a student, their class, its
    locks, the setup pushed to them last and the class's challenges; for the teacher, whether the
    page shows its Class view (a class is open, or others can reach this server)."""
    me = services.classroom.me()
    if me["kind"] == "student":
        me["challenges"] = services.challenges.mine()
    if me["kind"] == "teacher":
        # a page only its own user can reach has no class to teach: its Class view stays out of the way
        settings = services.settings
        me["teaching"] = bool(me["classes_open"] or settings.token or not settings.loopback)
    return me


@everyone.post("/me/leave", status_code=204)
def leave():
    """Forget this browser's student (its cookie): the page is the teacher's, or joins again."""
    response = Response(status_code=204)
    response.delete_cookie(STUDENT_COOKIE, path="/")
    return response


@everyone.post("/me/activity", status_code=204, responses=errors(400, 422))
def report_activity(body: Activity, services: ServicesDep):
    """The page says where the student is (view, network, lesson, exercise): the dashboard shows it."""
    services.classroom.report(body.view, body.network_id, body.lesson, body.exercise)
    return Response(status_code=204)


@everyone.post("/me/ask", status_code=204, responses=errors(400, 403))
def ask_for_setup(body: Ask, services: ServicesDep):
    """Raise (or lower) a hand: the teacher can push the setup to those who asked."""
    services.classroom.ask(body.asking)
    return Response(status_code=204)


@everyone.get("/challenges/{challenge_id}/leaderboard", response_model=Leaderboard, responses=errors(404))
def read_leaderboard(challenge_id: str, services: ServicesDep):
    """The best score of each student who entered, best first."""
    return services.challenges.leaderboard(_id(challenge_id, "challenge"))


@everyone.post("/challenges/{challenge_id}/submit", response_model=Submitted, responses=errors(400, 403, 404, 409, 422))
def submit_entry(challenge_id: str, body: Submit, services: ServicesDep):
    """Enter a trained network: the rules are checked and it is scored on the held-back images."""
    return services.challenges.submit(_id(challenge_id, "challenge"), _id(body.network_id, "network"))
