"""A bug in a handler over a real connection: a JSON 500, the traceback in the log, and a
keep-alive connection that still serves the next request."""

import logging

import httpx
import pytest
from fastapi import Request

from app.settings import Settings

from .live import Live


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def live(tmp_path):
    server = Live(Settings(data_dir=tmp_path / "data"))
    server.peers = []  # the client address of each request to the routes below

    async def fail(request: Request):
        server.peers.append(request.client)
        raise RuntimeError("a bug in a handler")

    async def peer(request: Request):
        server.peers.append(request.client)
        return {"peer": list(request.client)}

    server.app.add_api_route("/api/test/fail", fail, methods=["GET", "POST"])
    server.app.add_api_route("/api/test/peer", peer)
    yield server
    server.close()


@pytest.fixture
def errors():
    """What the server logs at ERROR, where uvicorn logs its own errors."""
    handler, logger = Records(), logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def test_a_500_is_json_and_the_same_connection_serves_the_next_request(live, errors):
    with httpx.Client(base_url=live.url, timeout=10) as client:
        r = client.get("/api/test/fail")
        assert r.status_code == 500
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers.get("connection", "keep-alive").lower() != "close"
        detail = r.json()["detail"]
        assert "internal error" in detail and "log" in detail and "nothing was changed" in detail
        after = client.get("/api/test/peer")
        assert after.status_code == 200, after.text
    first, second = live.peers
    assert first == second, "the second request came on a new connection"

    (logged,) = [e for e in errors if e.exc_info]
    assert logged.exc_info[0] is RuntimeError and str(logged.exc_info[1]) == "a bug in a handler"
    reference = logged.getMessage().split()[1]
    assert f"error {reference}" in detail and "/api/test/fail" in logged.getMessage()


def test_a_500_on_a_change_does_not_claim_nothing_was_saved(live, errors):
    with httpx.Client(base_url=live.url, timeout=10) as client:
        r = client.post("/api/test/fail", json={})
        assert r.status_code == 500
        detail = r.json()["detail"]
        assert "nothing was changed" not in detail and "GET" in detail
        assert client.get("/api/test/peer").status_code == 200
    assert live.peers[0] == live.peers[1]
