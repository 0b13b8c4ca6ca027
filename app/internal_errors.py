"""The answer to a bug: an exception no handler took becomes a JSON 500 on a connection that stays
open, and its traceback goes to the server's log.

Starlette's ServerErrorMiddleware answers such an exception too (with any handler registered for
Exception), but then raises it again for the server to log; uvicorn logs it and closes the
connection, although the response did not say `Connection: close`. A keep-alive client (a
browser, httpx, requests) then sends its next request on a dead connection and gets a reset.
So this middleware, outside every other, ends the exception with the response.
"""

from __future__ import annotations

import logging
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import problem_response

# uvicorn's logger for server errors: the traceback lands where uvicorn's own would, at its level
log = logging.getLogger("uvicorn.error")

READ_ONLY = ("GET", "HEAD", "OPTIONS")


def internal_error_detail(method: str, reference: str) -> str:
    saved = (
        "The request only reads, so nothing was changed."
        if method in READ_ONLY
        else "Part of the change may have been saved: read it back (GET) before trying again."
    )
    return (
        "internal error: the server failed on this request, which is a bug in the server, "
        f"not a mistake in the request. It was logged with its traceback as error {reference}; "
        f"quote that when you report it. {saved}"
    )


class InternalErrors:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception:
            if started:
                raise  # the response is already cut short: the server rightly closes the connection
            reference = secrets.token_hex(4)
            # the path without its query string, which may hold the token
            log.exception("error %s in %s %s", reference, scope["method"], scope["path"])
            response = problem_response(500, internal_error_detail(scope["method"], reference))
            await response(scope, receive, send)
