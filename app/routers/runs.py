"""Training runs: start, follow (REST and WebSocket), pause, resume, stop; their weights."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Literal

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..deps import ServicesDep
from ..errors import AppError, Invalid, NotFound
from ..files import check_id
from ..problems import problem_response
from ..run_schemas import MetricRow, RunPublic, RunWeights
from ..runs.events import FellBehind, Stream
from ..schemas import RunCreate, RunOptions, options
from .paging import TOTAL, PageDep, listed
from .responses import attachment, errors

LAST_SEQ = 2**62  # past every run's last event, within what the databases' integers hold

router = APIRouter(tags=["runs"])


def _id(value: str, what: str = "run") -> str:
    try:
        return check_id(value)
    except ValueError:
        raise NotFound(f"no {what} with id {value[:50]!r}") from None


@router.post(
    "/networks/{network_id}/runs",
    response_model=RunPublic,
    status_code=201,
    responses=errors(400, 404, 409, 413, 422, 429),
)
def create_run(network_id: str, body: RunCreate, services: ServicesDep):
    """Start training a network; the run waits in the queue when all workers are busy."""
    return services.runs.start(_id(network_id, "network"), body.dataset, body.config())


@router.get("/train/options", response_model=RunOptions, response_model_exclude_unset=True)
def read_train_options():
    """The options a run takes, with their defaults and limits (the page builds its form from them)."""
    return {"options": options(RunCreate)}


@router.get("/runs", response_model=list[RunPublic], responses={**listed(), **errors(404, 422)})
def read_runs(services: ServicesDep, page: PageDep, network_id: str | None = Query(None, max_length=40)):
    """Every run (or one network's, as GET /api/networks/{id}/runs), oldest first, without their histories."""
    if network_id is not None:
        return read_network_runs(network_id, services, page)
    return page(services.runs.list(None))


@router.get("/networks/{network_id}/runs", response_model=list[RunPublic], responses={**listed(), **errors(404, 422)})
def read_network_runs(network_id: str, services: ServicesDep, page: PageDep):
    """One network's runs, oldest first, without their histories."""
    network_id = _id(network_id, "network")
    services.networks.get(network_id)  # an unknown network (or another student's) is a 404
    return page(services.runs.list(network_id))


@router.get("/runs/{run_id}", response_model=RunPublic, responses=errors(404))
def read_run(run_id: str, services: ServicesDep):
    """One run: config, status, its whole metric history and the final evaluation."""
    return services.runs.describe(_id(run_id), history=True)


@router.get("/runs/{run_id}/weights", response_model=RunWeights, responses=errors(404))
def read_run_weights(run_id: str, services: ServicesDep):
    """Histograms of the run's weights, per layer and all together, at its start and after each
    epoch."""
    return services.runs.weight_snapshots(_id(run_id))


@router.delete("/runs/{run_id}", status_code=204, responses=errors(404, 409))
def delete_run(run_id: str, services: ServicesDep):
    """Delete a run that has ended, its events and its checkpoint (the network keeps its weights)."""
    services.runs.delete(_id(run_id))
    return Response(status_code=204)


@router.get(
    "/runs/{run_id}/metrics",
    response_model=list[MetricRow],
    response_model_exclude_unset=True,  # a batch row has no epoch columns: none are added, as in CSV
    responses={
        200: {
            "description": "one row per epoch (or batch): JSON, CSV with a header line, or JSON lines",
            "headers": TOTAL,
            "content": {
                "application/json": {},
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        },
        **errors(404, 422),
    },
)
def read_run_metrics(
    run_id: str,
    services: ServicesDep,
    page: PageDep,
    format: Literal["json", "csv", "jsonl"] = Query("json"),
    kind: Literal["epoch", "batch"] = Query("epoch", description="a row per epoch or per batch"),
):
    """The run's metrics as rows a DataFrame takes: JSON, CSV or JSON lines."""
    rows = page(services.runs.metric_rows(_id(run_id), kind))
    if format == "json":
        return rows
    if format == "jsonl":
        return Response(
            "".join(json.dumps(r) + "\n" for r in rows), media_type="application/x-ndjson", headers=page.headers
        )
    out = io.StringIO()
    columns = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(out.getvalue(), media_type="text/csv", headers=page.headers)


@router.get(
    "/runs/{run_id}/checkpoint",
    response_class=Response,
    responses={
        200: {
            "description": "the run's last checkpoint, a network .npz that import takes",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        },
        **errors(404, 409),
    },
)
def download_checkpoint(run_id: str, services: ServicesDep):
    """Download the run's last checkpoint (the weights after its last saved epoch, with the optimizer)."""
    data, name = services.runs.checkpoint_file(_id(run_id))
    return Response(data, media_type="application/octet-stream", headers=attachment(name, ".npz"))


@router.post("/runs/{run_id}/pause", response_model=RunPublic, responses=errors(404, 409))
def pause_run(run_id: str, services: ServicesDep):
    """Pause between batches; the answer shows the run paused (or, after 5 s, the run as it is)."""
    return services.runs.pause(_id(run_id))


@router.post("/runs/{run_id}/resume", response_model=RunPublic, responses=errors(404, 409, 422))
def resume_run(run_id: str, services: ServicesDep):
    """Resume a paused run, or an interrupted one from its last checkpoint (the same run goes on); the
    answer shows it going on."""
    return services.runs.resume(_id(run_id))


@router.post("/runs/{run_id}/stop", response_model=RunPublic, responses=errors(404, 409))
def stop_run(run_id: str, services: ServicesDep):
    """Stop between batches; the weights so far are kept. The answer shows the run stopped (or, after
    5 s, the run as it is)."""
    return services.runs.stop(_id(run_id))


@router.websocket("/runs/{run_id}/events")
async def follow_run(websocket: WebSocket, run_id: str, after: str = "0"):
    """The run's events as JSON, those with seq > `after`: its history first, then live ones, then the
    connection closes (1000) after the run's last event. Refused before the handshake with an HTTP
    answer and a JSON detail: 404 for an unknown run, 422 for an `after` that is not a whole number,
    429 when too many clients follow it."""
    runs = websocket.app.state.services.runs
    try:
        seq = _seq(after)
        stream = await run_in_threadpool(runs.follow, _id(run_id), seq, asyncio.get_running_loop())
    except AppError as e:
        await websocket.send_denial_response(problem_response(e.status, e.detail))
        return
    await websocket.accept()
    try:
        await _pump(websocket, stream)
    finally:
        stream.close()


def _seq(after: str) -> int:
    """`after` as the seq to follow from: a whole number (below 0 is 0; past any run's end is its end)."""
    try:
        seq = int(after)
    except ValueError:
        raise Invalid(
            f"after must be a whole number, the seq of the last event you have (0 for all), got {after!r:.40}"
        ) from None
    return min(max(0, seq), LAST_SEQ)


async def _pump(websocket: WebSocket, stream: Stream) -> None:
    reader = asyncio.create_task(_drain(websocket))
    behind = asyncio.create_task(stream.behind.wait())
    try:
        while True:
            getting = asyncio.create_task(stream.next())
            await asyncio.wait({getting, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not getting.done():
                getting.cancel()
                return  # the client left
            try:
                event = getting.result()
            except FellBehind as e:
                await websocket.close(code=1013, reason=str(e))
                return
            if event is None:
                await websocket.close(code=1000)
                return
            # a client that stops reading blocks this send once the socket buffers are full; its queue
            # then fills and it is dropped (`behind`), which ends the send: the handler never waits forever
            sending = asyncio.create_task(websocket.send_json(event))
            await asyncio.wait({sending, reader, behind}, return_when=asyncio.FIRST_COMPLETED)
            if not sending.done():
                sending.cancel()
                return
            sending.result()
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        reader.cancel()
        behind.cancel()


async def _drain(websocket: WebSocket) -> None:
    """Read and ignore what the client sends (frames are size-limited by the server); ends on disconnect."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return
