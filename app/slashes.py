"""A trailing slash on an API path is the same path: /api/networks/ answers as /api/networks does,
instead of a 307 redirect that some clients do not follow with the body (POST) or the token."""

from __future__ import annotations


class NoTrailingSlash:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            path = scope["path"]
            if path.startswith("/api/") and path.endswith("/") and path.rstrip("/") != "/api":
                trimmed = path.rstrip("/")
                raw = scope.get("raw_path")
                scope = {**scope, "path": trimmed, "raw_path": raw.rstrip(b"/") if isinstance(raw, bytes) else raw}
        await self.app(scope, receive, send)
