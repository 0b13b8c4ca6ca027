"""Training runs: start, follow (REST and WebSocket), pause, resume, stop."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from ..deps import ServicesDep
from ..errors import AppError, NotFound
from ..files import check_id
from ..schemas import RunCreate, RunPublic
from .responses import errors

router = APIRouter(tags=["runs"])


def _id(value: str, what: str = "run") -> str:
    try:
        return check_id(value)
    except ValueError:
        raise NotFound(f"no {what} with id {value[:50]!r}") from None


@router.post("/networks/{network_id}/runs", response_model=RunPublic, status_code=201,
             responses=errors(400, 404, 409, 413, 422, 429))
def create_run(network_id: str, body: RunCreate, services: ServicesDep):
    """Start training a network; the run waits in the queue when all workers are busy."""
    config = body.model_dump()
    dataset = config.pop("dataset")
    return services.runner.start(_id(network_id, "network"), dataset, config)


@router.get("/runs", response_model=list[RunPublic], responses=errors(422))
def read_runs(services: ServicesDep, network_id: str | None = Query(None, max_length=40)):
    """Every run (or one network's), oldest first, without their histories."""
    return [services.runner.describe(r["id"]) for r in services.db.runs(network_id)]


@router.get("/runs/{run_id}", response_model=RunPublic, responses=errors(404))
def read_run(run_id: str, services: ServicesDep):
    """One run: config, status, its whole metric history and the final evaluation."""
    return services.runner.describe(_id(run_id), history=True)


@router.post("/runs/{run_id}/pause", response_model=RunPublic, responses=errors(404, 409))
def pause_run(run_id: str, services: ServicesDep):
    """Pause between batches."""
    return services.runner.pause(_id(run_id))


@router.post("/runs/{run_id}/resume", response_model=RunPublic, responses=errors(404, 409))
def resume_run(run_id: str, services: ServicesDep):
    """Resume a paused run."""
    return services.runner.resume(_id(run_id))


@router.post("/runs/{run_id}/stop", response_model=RunPublic, responses=errors(404, 409))
def stop_run(run_id: str, services: ServicesDep):
    """Stop between batches; the weights so far are kept."""
    return services.runner.stop(_id(run_id))


@router.websocket("/runs/{run_id}/events")
async def follow_run(websocket: WebSocket, run_id: str):
    """The run's events as JSON: its history first, then live events until the final one."""
    services = websocket.app.state.services
    runner = services.runner
    try:
        sub, history = await run_in_threadpool(runner.subscribe, _id(run_id), asyncio.get_running_loop())
    except AppError as e:
        await websocket.close(code=4404 if e.status == 404 else 4429, reason=str(e.detail)[:120])
        return
    await websocket.accept()
    reader = asyncio.create_task(_drain(websocket))
    behind = asyncio.create_task(sub.behind.wait()) if sub is not None else None
    stops = {t for t in (reader, behind) if t is not None}

    async def send(event) -> bool:
        """Send one event; False when the client left or fell too far behind while it was being sent.

        A client that stops reading blocks the send once the socket buffers are full; its queue then
        fills and the subscriber is dropped, which ends the send here, so the handler never waits forever."""
        sending = asyncio.create_task(websocket.send_json(event))
        await asyncio.wait({sending, *stops}, return_when=asyncio.FIRST_COMPLETED)
        if sending.done():
            sending.result()
            return True
        sending.cancel()
        return False

    try:
        last = 0
        for event in history:
            if not await send(event):
                return
            last = event.get("seq", last)
        if sub is None:
            await websocket.close(code=1000)
            return
        while True:
            get = asyncio.create_task(sub.queue.get())
            done, _ = await asyncio.wait({get, reader}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                get.cancel()
                return
            event = get.result()
            if event["type"] == "dropped":
                await websocket.close(code=1013, reason="this client fell too far behind the run")
                return
            if event.get("seq", 0) <= last:
                continue  # already sent with the history
            last = event["seq"]
            if not await send(event):
                return
            if event["type"] in ("done", "error"):
                await websocket.close(code=1000)
                return
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        reader.cancel()
        if behind is not None:
            behind.cancel()
        if sub is not None:
            runner.unsubscribe(run_id, sub)


async def _drain(websocket: WebSocket) -> None:
    """Read and ignore what the client sends (frames are size-limited by the server); ends on disconnect."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return
