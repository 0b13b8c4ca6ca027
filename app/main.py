"""The FastAPI application: services built in the lifespan, routers, the page."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__
from .classroom.challenges import Challenges
from .classroom.dashboard import Dashboard
from .classroom.policy import ClassPolicy
from .classroom.service import ClassroomService
from .db import open_database
from .deps import Services
from .errors import AppError
from .files import FileStore
from .instance import Instance
from .internal_errors import InternalErrors
from .lessons.service import LessonService
from .lessons.store import AttemptStore
from .log_redaction import token_redacted
from .problems import document_problems, problem_response
from .resources import page_files
from .routers import (
    classroom,
    conv,
    datasets,
    init_lab,
    inspect,
    lessons,
    meta,
    networks,
    page,
    runs,
)
from .runs.events import clean
from .runs.inprocess import InProcessRunner
from .runs.service import RunService
from .runs.store import RunStore
from .security import Guard
from .services.datasets import DatasetService
from .services.networks import NetworkService
from .settings import Settings
from .slashes import NoTrailingSlash
from .threads import use_threads
from .validation import body_model, explained

UNPARSED = "There was an error parsing the body"


def runner_backend(settings: Settings, data: DatasetService):
    """Where runs execute: this process's worker threads, or a Ray cluster (`--runner ray`)."""
    if settings.runner == "ray":
        from .runs.raycluster import RayRunner  # ray is only needed (and installed) for a cluster

        return RayRunner(settings.threads, data.load, settings.ray_address)
    return InProcessRunner(settings.max_concurrent_runs, data.load)


def build_services(settings: Settings) -> Services:
    use_threads(settings.threads)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    files = FileStore(settings.data_dir)
    db = open_database(settings.database_target)
    instance = Instance(settings.data_dir)
    store = RunStore(db)
    nets = NetworkService(settings, db, files, store)
    data = DatasetService(settings, db, files)
    runs = RunService(settings, files, store, nets, data, instance, runner_backend(settings, data))
    data.is_in_use = runs.uses_dataset
    classroom = ClassroomService(db, files)
    policy = ClassPolicy(classroom)
    nets.policy = runs.policy = data.policy = policy  # the services ask it before a student's action
    runs.open()  # runs whose server is gone are interrupted first, their networks given their checkpoints
    if not instance.others_alive():  # another server's files may be half-written: only sweep alone
        files.sweep(keep=db.file_ids())
    return Services(
        settings=settings,
        db=db,
        files=files,
        instance=instance,
        networks=nets,
        datasets=data,
        runs=runs,
        lessons=LessonService(AttemptStore(db)),
        classroom=classroom,
        challenges=Challenges(db, classroom, nets, data),
        dashboard=Dashboard(db, classroom, runs),
        policy=policy,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.services = build_services(settings)
        with token_redacted():  # installed once uvicorn has configured its loggers
            yield
        app.state.services.runs.shutdown(timeout=5.0)
        app.state.services.instance.close()
        app.state.services.db.close()

    app = FastAPI(
        title="CNN Playground",
        version=__version__,
        lifespan=lifespan,
        description=(
            "Build, train and look inside convolutional networks. The WebSocket streams (a run's events, "
            "the class dashboard) are described in docs/api-events.md of the project's repository."
        ),
    )

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError):
        return problem_response(exc.status, clean(exc.detail))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and exc.detail == UNPARSED:  # FastAPI's words for a body it cannot read
            if isinstance(exc.__cause__, RecursionError):
                wanted = "JSON nested less deeply"
            elif "multipart/" in request.headers.get("content-type", ""):
                wanted = "multipart/form-data with the file in the form field 'file'"
            else:
                wanted = "one JSON document in UTF-8 with Content-Type: application/json"
            return problem_response(400, f"the request body cannot be read: send {wanted}")
        return problem_response(exc.status_code, exc.detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        body = body_model(request.scope.get("route"))
        errors = [
            {"loc": list(e.get("loc", [])), "msg": explained(e, body), "type": e.get("type")} for e in exc.errors()
        ]
        return problem_response(422, clean(errors))

    for router in (
        meta.router,
        networks.router,
        datasets.router,
        runs.router,
        inspect.router,
        conv.router,
        lessons.router,
        init_lab.router,
        classroom.everyone,
        classroom.teacher,
    ):
        app.include_router(router, prefix="/api")
    app.include_router(page.router)

    @app.websocket("/{path:path}")
    async def no_such_websocket(websocket: WebSocket, path: str):
        """A WebSocket no route takes: refused with an HTTP 404 that says where the streams are."""
        await websocket.send_denial_response(
            problem_response(404, f"no WebSocket at /{path[:80]}; a run's events stream at /api/runs/{{run_id}}/events")
        )

    document_problems(app)
    app.mount("/static", StaticFiles(directory=page_files("static")), name="static")
    app.router.redirect_slashes = False  # NoTrailingSlash serves /api/x/ as /api/x
    app.add_middleware(NoTrailingSlash)
    app.add_middleware(Guard, settings=settings)
    app.add_middleware(InternalErrors)  # added last, so outermost: it answers for Guard too
    return app
