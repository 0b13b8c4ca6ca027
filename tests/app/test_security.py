"""Who may use the server: Host, Origin and token checks, and body limits."""

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from app.main import create_app
from app.settings import Settings


def test_dns_rebinding_host_is_refused(client):
    r = client.get("/api/health", headers={"Host": "evil.example"})
    assert r.status_code == 403 and "evil.example" in r.json()["detail"]
    assert client.get("/api/health", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/api/health", headers={"Host": "localhost:8000"}).status_code == 200


def test_cross_origin_writes_are_refused(client):
    r = client.post("/api/networks", json={"preset": "lenet5"}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "evil.example" in r.json()["detail"]
    # a multipart post skips the CORS preflight in a browser: still refused on the server
    r = client.post(
        "/api/networks/import", files={"file": ("x.json", b"{}")}, headers={"Origin": "http://evil.example"}
    )
    assert r.status_code == 403
    r = client.post("/api/networks", json={"preset": "lenet5"}, headers={"Origin": "http://testserver"})
    assert r.status_code == 201
    # reading is harmless (and the browser's same-origin policy keeps the answer from the other page)
    assert client.get("/api/presets", headers={"Origin": "http://evil.example"}).status_code == 200


def test_cross_origin_websocket_is_refused(client, lenet):
    with pytest.raises(WebSocketDenialResponse) as info:
        with client.websocket_connect(
            "/api/runs/0123456789abcdef/events", headers={"Origin": "http://evil.example"}
        ) as ws:
            ws.receive_json()
    assert info.value.status_code == 403 and "evil.example" in info.value.json()["detail"]


@pytest.fixture
def classroom(tmp_path):
    settings = Settings(data_dir=tmp_path / "d", host="0.0.0.0", token="s3cret-token")
    with TestClient(create_app(settings)) as c:
        yield c


def test_off_loopback_every_route_but_the_page_and_joining_needs_the_token(classroom):
    for method, url in (
        ("get", "/api/networks"),
        ("post", "/api/networks"),
        ("get", "/api/runs"),
        ("get", "/api/datasets"),
        ("get", "/docs"),
        ("get", "/openapi.json"),
        ("get", "/api/classes"),
        ("get", "/api/lessons"),
    ):
        r = getattr(classroom, method)(url)
        assert r.status_code == 401, url
        assert "token" in r.json()["detail"] and "class" in r.json()["detail"]
    # what a student needs to join: the page, its files, who-am-I and joining itself
    for method, url in (("get", "/"), ("get", "/static/main.js"), ("get", "/api/health"), ("get", "/api/me")):
        assert getattr(classroom, method)(url).status_code == 200, url
    assert classroom.get("/api/me").json() == {"kind": "anonymous", "classes_open": False}
    assert classroom.get("/api/networks?token=wrong").status_code == 401
    assert classroom.get("/api/networks?token=s3cret-token").status_code == 200
    assert classroom.get("/api/networks", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_the_page_opened_with_the_token_sets_a_cookie(classroom):
    r = classroom.get("/?token=s3cret-token")
    assert r.status_code == 200 and "cnn_playground_token" in r.headers["set-cookie"]
    assert classroom.get("/api/networks").status_code == 200  # the cookie now carries it


def test_off_loopback_websocket_needs_the_token(classroom):
    with pytest.raises(WebSocketDenialResponse) as info:
        with classroom.websocket_connect("/api/runs/0123456789abcdef/events") as ws:
            ws.receive_json()
    assert info.value.status_code == 401


def test_a_body_over_the_limit_is_413(tmp_path):
    settings = Settings(data_dir=tmp_path / "d", max_body_bytes=10_000, max_upload_bytes=50_000)
    with TestClient(create_app(settings)) as c:
        r = c.post(
            "/api/networks/validate", content=b"{" + b" " * 20_000 + b"}", headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 413 and "limit" in r.json()["detail"]

        def chunks():  # no Content-Length: the limit is enforced while the body streams
            for _ in range(100):
                yield b" " * 1000

        r = c.post("/api/networks/validate", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        r = c.post("/api/networks/import", files={"file": ("x.npz", b"0" * 100_000)})
        assert r.status_code == 413


def test_only_the_servers_own_pages_may_frame_the_page(client):
    r = client.get("/")
    assert r.headers["content-security-policy"] == "frame-ancestors 'self'"
    assert r.headers["x-frame-options"] == "SAMEORIGIN"
