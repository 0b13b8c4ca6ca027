"""A run's events: numbered, kept for late joiners, fanned out to whoever follows the run.

Publishing happens on a worker thread and never waits for a client. Each event
gets the run's next sequence number. Batch events are thinned twice: to about
1,000 kept in the run's history (what a late joiner gets, and what is saved in
the database) and to at most `batch_events_per_second` sent live; epoch, status
and end events always go through.

Following a run (`follow(run_id, after)`) gives its events with seq > after,
history first, then live ones, and ends after the run's last event:
- while this server runs the run, from its channel here (live, at once);
- once the run has ended, from the database;
- while another server runs it, from the database, polled by sequence number.
A client that falls too far behind is dropped (its queue is bounded), so a
client that stops reading never slows training.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time

from ..errors import Busy
from .status import RunStatus
from .store import RunStore

POLL_SECONDS = 0.5  # how often a follower of a run on another server looks for new events


def clean(value):
    """JSON-safe: NaN and infinity become None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


class FellBehind(Exception):
    """The client did not read fast enough and was dropped."""


class _Subscriber:
    """One client's bounded queue on the event loop, fed from any thread without blocking."""

    END = object()
    DROPPED = object()

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=size)
        self.dropped = False
        self.behind = asyncio.Event()  # set on the drop: wakes a handler stuck sending to a client that stopped reading

    def offer(self, item) -> None:
        try:
            self.loop.call_soon_threadsafe(self._put, item)
        except RuntimeError:  # the loop is closed
            self.dropped = True

    def _put(self, item) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped = True
            self.queue = asyncio.Queue(maxsize=1)
            self.queue.put_nowait(self.DROPPED)
            self.behind.set()


class Channel:
    """The events of one run that this server runs."""

    def __init__(self, run_id: str, history: list[dict], total_steps: int, live_interval: float):
        self.run_id = run_id
        self.lock = threading.Lock()
        self.history = list(history)  # kept events: for late joiners, and saved to the database
        self.unsaved: list[dict] = []
        self.seq = history[-1]["seq"] if history else 0
        self.keep_every = max(1, total_steps // 1000)
        self.live_interval = live_interval
        self.last_sent = 0.0
        self.last_batch: dict | None = None
        self.subscribers: set[_Subscriber] = set()

    def publish(self, event: dict) -> dict:
        event = clean(event)
        with self.lock:
            self.seq += 1
            event["seq"] = self.seq
            if event["type"] != "batch" or event["step"] % self.keep_every == 0:
                self.history.append(event)
                self.unsaved.append(event)
            if event["type"] == "batch":
                self.last_batch = event
                now = time.monotonic()
                if now - self.last_sent < self.live_interval and event.get("batch") != event.get("batches"):
                    return event
                self.last_sent = now
            targets = list(self.subscribers)
        for s in targets:
            s.offer(event)
        return event

    def take_unsaved(self) -> list[dict]:
        with self.lock:
            out, self.unsaved = self.unsaved, []
        return out


class Stream:
    """What a follower reads: `await next()` gives the next event, None once the run's events have ended."""

    def __init__(self, after: int, first: list[dict], subscriber: _Subscriber | None = None, poll=None, release=None):
        self._first = list(first)
        self._sub = subscriber
        self._poll = poll  # async () -> (events, ended) for a run on another server
        self._release = release
        self.last = after  # the seq of the last event given
        self.behind = subscriber.behind if subscriber else asyncio.Event()

    async def next(self) -> dict | None:
        while True:
            if self._first:
                event = self._first.pop(0)
            elif self._sub is not None:
                event = await self._sub.queue.get()
                if event is _Subscriber.END:
                    return None
                if event is _Subscriber.DROPPED:
                    raise FellBehind("this client fell too far behind the run")
            elif self._poll is not None:
                events, ended = await self._poll(self.last)
                if not events:
                    if ended:
                        return None
                    await asyncio.sleep(POLL_SECONDS)
                    continue
                self._first = events
                continue
            else:
                return None
            if event["seq"] <= self.last:
                continue  # already given (history and live overlap by a few events)
            self.last = event["seq"]
            return event

    def close(self) -> None:
        if self._release is not None:
            self._release()
            self._release = None


class EventBus:
    def __init__(self, store: RunStore, batch_events_per_second: float, queue_size: int, max_followers: int):
        self.store = store
        self.live_interval = 1.0 / batch_events_per_second
        self.queue_size = queue_size
        self.max_followers = max_followers
        self.channels: dict[str, Channel] = {}
        self.lock = threading.Lock()
        self.followers: dict[str, int] = {}  # per run, of every kind

    # ---- the producer side (a worker thread) --------------------------------------------
    def open(self, run_id: str, total_steps: int) -> Channel:
        """Start carrying a run's events here; its earlier events (a resumed run's) come from the database."""
        channel = Channel(run_id, self.store.events(run_id), total_steps, self.live_interval)
        with self.lock:
            self.channels[run_id] = channel
        return channel

    def channel(self, run_id: str) -> Channel | None:
        return self.channels.get(run_id)

    def close(self, run_id: str) -> None:
        """The run's last event is published and saved: followers end after what they have queued."""
        with self.lock:
            channel = self.channels.pop(run_id, None)
        if channel is None:
            return
        with channel.lock:
            subscribers, channel.subscribers = list(channel.subscribers), set()
        for s in subscribers:
            s.offer(_Subscriber.END)

    # ---- the follower side (the event loop) -------------------------------------------------
    def follow(self, run_id: str, after: int, loop: asyncio.AbstractEventLoop) -> Stream:
        """A Stream of the run's events with seq > after. NotFound for an unknown run, Busy when too
        many clients follow it. Call from a worker thread (it may read the database)."""
        row = self.store.require(run_id)
        sub = None
        with self.lock:
            if self.followers.get(run_id, 0) >= self.max_followers:
                raise Busy(f"too many clients ({self.max_followers}) are following run {run_id}; try again later")
            self.followers[run_id] = self.followers.get(run_id, 0) + 1
            channel = self.channels.get(run_id)
            if channel is not None:
                sub = _Subscriber(loop, self.queue_size)
                with channel.lock:
                    history = [e for e in channel.history if e["seq"] > after]
                    channel.subscribers.add(sub)

        def release():
            self._unfollow(run_id, channel, sub)

        if channel is not None:
            return Stream(after, history, subscriber=sub, release=release)
        try:
            events = self.store.events(run_id, after)
        except BaseException:
            release()
            raise
        if not RunStatus(row["status"]).active:
            return Stream(after, events, release=release)

        async def poll(last: int):  # the run is active on another server (or not yet opened here)
            return await asyncio.to_thread(self._poll, run_id, last)

        return Stream(after, events, poll=poll, release=release)

    def _poll(self, run_id: str, last: int) -> tuple[list[dict], bool]:
        row = self.store.get(run_id)
        ended = row is None or not row["status"].active
        return self.store.events(run_id, last), ended

    def _unfollow(self, run_id: str, channel: Channel | None, sub: _Subscriber | None) -> None:
        with self.lock:
            n = self.followers.get(run_id, 1) - 1
            if n > 0:
                self.followers[run_id] = n
            else:
                self.followers.pop(run_id, None)
        if channel is not None and sub is not None:
            with channel.lock:
                channel.subscribers.discard(sub)

    def subscriber_count(self, run_id: str) -> int:
        """Clients following the run live from this server."""
        channel = self.channels.get(run_id)
        if channel is None:
            return 0
        with channel.lock:
            return len(channel.subscribers)
