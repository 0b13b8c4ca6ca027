"""Who may talk to the server: an ASGI middleware in front of everything.

- Host: requests whose Host header is not one of the server's own names are
  refused with 403 (DNS rebinding: a hostile page resolving its own name to
  127.0.0.1 must not reach the API).
- Origin: a browser request from another origin that changes something
  (POST, PATCH, DELETE, and every WebSocket handshake) is refused with 403.
  Multipart and plain-text posts skip the CORS preflight, so this check
  is on the server.
- Token: bound off loopback (a classroom), every request needs the token,
  as `?token=`, an `Authorization: Bearer` header or the cookie that the page
  sets when it is opened with `?token=`; without it, 401.
- Body size: a request body larger than the limit is cut off with 413 while
  it streams, so memory stays bounded whatever the client sends.
"""

from __future__ import annotations

import hmac
import json
from urllib.parse import parse_qs, urlsplit

from .settings import Settings

SAFE = ("GET", "HEAD", "OPTIONS")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")


def _headers(scope) -> dict[str, str]:
    out = {}
    for k, v in scope.get("headers", []):
        out.setdefault(k.decode("latin-1").lower(), v.decode("latin-1"))
    return out


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    def __init__(self, app, settings: Settings):
        self.app = app
        self.settings = settings

    def allowed_hosts(self) -> set[str]:
        names = set(LOOPBACK_NAMES) | {"testserver"}
        if self.settings.host not in ("0.0.0.0", "::"):
            names.add(self.settings.host)
        names.update(self.settings_extra_hosts())
        return names

    def settings_extra_hosts(self) -> set[str]:
        return set(getattr(self.settings, "allowed_hosts", []) or [])

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        h = _headers(scope)
        hosts = sum(1 for k, _ in scope.get("headers", []) if k.lower() == b"host")
        if hosts > 1:  # which one counts is ambiguous, and a proxy may have checked the other one
            return await self._deny(scope, receive, send, 400,
                                    f"the request has {hosts} Host headers; send exactly one")
        host = _host_name(h.get("host", ""))
        wildcard = self.settings.host in ("0.0.0.0", "::")
        if not wildcard and host not in self.allowed_hosts():
            return await self._deny(scope, receive, send, 403,
                                    f"Host {host!r} is not this server's; open it as http://{self.settings.host}:{self.settings.port}/")
        origin = h.get("origin")
        method = scope.get("method", "GET")
        if origin and (scope["type"] == "websocket" or method not in SAFE):
            o = urlsplit(origin)
            if o.netloc != h.get("host", "") or o.scheme not in ("http", "https"):
                return await self._deny(scope, receive, send, 403,
                                        f"requests from the page at {origin} are not allowed; use this server's own page")
        if self.settings.token:
            if not self._token_ok(scope, h):
                return await self._deny(scope, receive, send, 401,
                                        "this server needs its token: open the URL it printed at start "
                                        "(it ends in ?token=...) or send Authorization: Bearer <token>")
        if scope["type"] == "http":
            limit = self.settings.max_upload_bytes if "multipart/form-data" in h.get("content-type", "") \
                else self.settings.max_body_bytes
            length = h.get("content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                return await self._too_large(send, limit)
            return await self._limited(scope, receive, send, limit)
        return await self.app(scope, receive, send)

    def _token_ok(self, scope, h) -> bool:
        token = self.settings.token
        given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [None])[0]
        auth = h.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = given or auth[7:].strip()
        for part in h.get("cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "cnn_playground_token":
                given = given or v
        return given is not None and hmac.compare_digest(given.encode(), token.encode())

    async def _limited(self, scope, receive, send, limit):
        """Run the app, cutting the body off past `limit`: the client then gets 413, whatever the app made of it."""
        seen = 0
        exceeded = False

        async def counting_receive():
            nonlocal seen, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not exceeded:
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded:
            await self._too_large(send, limit)

    @staticmethod
    async def _too_large(send, limit):
        body = json.dumps({"detail": f"the request body is larger than the limit of {limit / 2**20:g} MiB"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def _deny(self, scope, receive, send, status, detail):
        if scope["type"] == "websocket":
            await receive()  # the websocket.connect message
            if "websocket.http.response" not in scope.get("extensions", {}):
                await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
                return
            await send({"type": "websocket.http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "websocket.http.response.body", "body": json.dumps({"detail": detail}).encode()})
            return
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
