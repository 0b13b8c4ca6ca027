"""Who may talk to the server: an ASGI middleware in front of everything.

- Host: requests whose Host header is not one of the server's own names are
  refused with 403 (DNS rebinding: a hostile page resolving its own name to
  127.0.0.1 must not reach the API).
- Origin: a browser request from another origin that changes something
  (POST, PATCH, DELETE, and every WebSocket handshake) is refused with 403.
  Multipart and plain-text posts skip the CORS preflight, so this check
  is on the server.
- Who is asking (app/access.py): the teacher with the server's token (as
  `?token=`, an `Authorization: Bearer` header or the cookie the page sets when it
  is opened with `?token=`), a student with the token joining a class gave (its
  cookie, or a bearer token), or on loopback without a token this machine's user.
  Off loopback, anyone else reaches only the page, its files and joining; 401 for
  the rest.
- Body size: a request body larger than the limit is cut off with 413 while
  it streams, so memory stays bounded whatever the client sends.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs, urlsplit

from . import access
from .classroom.codes import STUDENT_TOKEN_PREFIX
from .problems import MEDIA_TYPE, problem_bytes
from .settings import Settings

PROBLEM = MEDIA_TYPE.encode()

SAFE = ("GET", "HEAD", "OPTIONS")
STUDENT_COOKIE = "cnn_playground_student"
# what someone with no credentials may reach off loopback: the page, its files, and joining a class
OPEN_PATHS = ("/", "/favicon.ico", "/api/health", "/api/me", "/api/me/leave", "/api/classes/join")
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
            return await self._deny(
                scope, receive, send, 400, f"the request has {hosts} Host headers; send exactly one"
            )
        host = _host_name(h.get("host", ""))
        wildcard = self.settings.host in ("0.0.0.0", "::")
        if not wildcard and host not in self.allowed_hosts():
            return await self._deny(
                scope,
                receive,
                send,
                403,
                f"Host {host!r} is not this server's; open it as http://{self.settings.host}:{self.settings.port}/",
            )
        origin = h.get("origin")
        method = scope.get("method", "GET")
        if origin and (scope["type"] == "websocket" or method not in SAFE):
            o = urlsplit(origin)
            if o.netloc != h.get("host", "") or o.scheme not in ("http", "https"):
                return await self._deny(
                    scope,
                    receive,
                    send,
                    403,
                    f"requests from the page at {origin} are not allowed; use this server's own page",
                )
        principal = self._principal(scope, h)
        if principal.kind == "anonymous" and not _open_to_anyone(scope):
            return await self._deny(
                scope,
                receive,
                send,
                401,
                "this server needs its token: open the URL it printed at start "
                "(it ends in ?token=...) or send Authorization: Bearer <token>; "
                "a student joins a class with its code on the server's page",
            )
        acting = access.acting_as(principal)  # what every service below asks (app/access.py)
        try:
            if scope["type"] == "http":
                limit = (
                    self.settings.max_upload_bytes
                    if "multipart/form-data" in h.get("content-type", "")
                    else self.settings.max_body_bytes
                )
                length = h.get("content-length")
                if length is not None and length.isdigit() and int(length) > limit:
                    return await self._too_large(send, limit)
                return await self._limited(scope, receive, send, limit)
            return await self.app(scope, receive, send)
        finally:
            access.reset(acting)

    def _principal(self, scope, h) -> access.Principal:
        """The server's token (teacher), a student's token (cookie or bearer), or this machine's
        user on loopback; anyone else is anonymous. A student's own credential wins over the
        loopback default, so students on one machine stay apart."""
        auth = h.get("authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        if bearer and self.settings.token and _same(bearer, self.settings.token):
            return access.OWNER
        query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [None])[0]
        if query and self.settings.token and _same(query, self.settings.token):
            return access.OWNER
        cookies = _cookies(h)
        student_token = bearer if bearer and bearer.startswith(STUDENT_TOKEN_PREFIX) else cookies.get(STUDENT_COOKIE)
        if student_token:
            services = getattr(scope.get("app"), "state", None)
            classroom = getattr(getattr(services, "services", None), "classroom", None)
            student = classroom.principal_for(student_token) if classroom is not None else None
            # a student's credential that no longer works (removed, class deleted) never falls back
            # to this machine's user: it is no one, who may join again
            return student or access.ANONYMOUS
        if self.settings.token:
            given = cookies.get("cnn_playground_token")
            return access.OWNER if given and _same(given, self.settings.token) else access.ANONYMOUS
        return access.OWNER  # loopback without a token: whoever uses this machine

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
        body = problem_bytes(413, f"the request body is larger than the limit of {limit / 2**20:g} MiB")
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", PROBLEM), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _deny(self, scope, receive, send, status, detail):
        if scope["type"] == "websocket":
            await receive()  # the websocket.connect message
            if "websocket.http.response" not in scope.get("extensions", {}):
                await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
                return
            await send(
                {"type": "websocket.http.response.start", "status": status, "headers": [(b"content-type", PROBLEM)]}
            )
            await send({"type": "websocket.http.response.body", "body": problem_bytes(status, detail)})
            return
        body = problem_bytes(status, detail)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", PROBLEM)]})
        await send({"type": "http.response.body", "body": body})


def _open_to_anyone(scope) -> bool:
    path = scope.get("path", "")
    return scope["type"] == "http" and (path in OPEN_PATHS or path.startswith("/static/"))


def _cookies(h) -> dict[str, str]:
    out = {}
    for part in h.get("cookie", "").split(";"):
        k, _, v = part.strip().partition("=")
        out.setdefault(k, v)
    return out


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))
