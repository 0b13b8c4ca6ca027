"""How run events reach clients: thinned batch events, nothing final dropped, slow clients cut off."""

import asyncio
import time

from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.main import create_app
from app.runs.events import Channel, FellBehind, Stream, _Subscriber, clean
from app.settings import Settings


def test_batch_events_are_thinned_but_epochs_and_the_end_always_arrive(tmp_path):
    settings = Settings(data_dir=tmp_path / "d", batch_events_per_second=10)
    with TestClient(create_app(settings)) as client:
        nid = client.post("/api/networks", json={"preset": "lenet5"}).json()["id"]
        body = {"dataset": "strokes", "epochs": 3, "batch_size": 4, "max_train": 1200, "validation": 0.1}
        rid = client.post(f"/api/networks/{nid}/runs", json=body).json()["id"]
        got = []
        t = time.monotonic()
        with client.websocket_connect(f"/api/runs/{rid}/events") as ws:
            try:
                while True:
                    got.append(ws.receive_json())
            except WebSocketDisconnect:
                pass
        seconds = time.monotonic() - t
    batches = [e for e in got if e["type"] == "batch"]
    steps = 3 * 270
    assert [e["type"] for e in got].count("epoch") == 3 and got[-1]["type"] == "done"
    # at most 10 a second, plus each epoch's last batch and what the history already held
    assert len(batches) <= 10 * seconds + 3 + 30, (len(batches), seconds)
    assert len(batches) < steps


def test_history_keeps_about_a_thousand_batch_points():
    channel = Channel("r", [], total_steps=10_000, live_interval=0)
    for step in range(1, 10_001):
        channel.publish({"type": "batch", "step": step, "batch": step, "batches": 10_000, "loss": 1.0})
    channel.publish({"type": "epoch", "epoch": 1, "train_loss": float("nan")})
    assert 900 <= len(channel.history) <= 1100
    assert channel.history[-1]["train_loss"] is None  # never NaN in what is sent
    assert channel.history[-1]["seq"] == 10_001 and channel.take_unsaved() == channel.history


def test_a_follower_that_falls_behind_is_dropped_without_blocking():
    async def scenario():
        sub = _Subscriber(asyncio.get_running_loop(), size=5)
        for i in range(50):
            sub.offer({"type": "batch", "seq": i + 1})  # returns at once, whatever the client does
        await asyncio.sleep(0.05)
        stream = Stream(0, [], subscriber=sub)
        try:
            await stream.next()
        except FellBehind:
            return sub, True
        return sub, False

    sub, raised = asyncio.run(scenario())
    assert sub.dropped and sub.behind.is_set() and raised


def test_a_stream_gives_each_event_once_in_order_from_history_then_live():
    async def scenario():
        sub = _Subscriber(asyncio.get_running_loop(), size=10)
        for seq in (3, 4, 5):  # live events overlap what the history already held
            sub.offer({"type": "batch", "seq": seq})
        sub.offer(_Subscriber.END)
        stream = Stream(1, [{"type": "status", "seq": 2}, {"type": "batch", "seq": 3}], subscriber=sub)
        got = []
        while (event := await stream.next()) is not None:
            got.append(event["seq"])
        return got

    assert asyncio.run(scenario()) == [2, 3, 4, 5]


def test_clean_replaces_non_finite_numbers():
    assert clean({"a": [1.0, float("inf"), {"b": float("-inf")}], "c": float("nan")}) == {
        "a": [1.0, None, {"b": None}],
        "c": None,
    }
