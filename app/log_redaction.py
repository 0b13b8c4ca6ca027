"""Keep the token out of the server's log.

The page is opened as `/?token=...` and API clients may send it the same way; uvicorn writes each
request's path with its query string to its access log (and a WebSocket handshake's to its error
log). A log is read, copied and kept by more people than the token is meant for, so the value of
every `token` query parameter is written as `***`; the rest of the line stays as uvicorn wrote it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote_plus

# uvicorn's loggers that write request paths: HTTP requests, and WebSocket handshakes
LOGGERS = ("uvicorn.access", "uvicorn.error")
_PARAM = re.compile(r"(?<=[?&])([^&=\s\"]*)=[^&\s\"]*")


def redact_token(text: str) -> str:
    """text with the value of each `token` query parameter replaced by ***. The name is compared
    decoded, as the server's token check reads it (`%74oken=` is `token=` too)."""
    if "?" not in text:
        return text
    return _PARAM.sub(lambda m: f"{m[1]}=***" if unquote_plus(m[1]) == "token" else m[0], text)


class RedactToken(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_token(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_token(a) if isinstance(a, str) else a for a in record.args)
        return True


@contextmanager
def token_redacted() -> Iterator[None]:
    """While the server runs: no token in what uvicorn logs about requests."""
    redact = RedactToken()
    for name in LOGGERS:
        logging.getLogger(name).addFilter(redact)
    try:
        yield
    finally:
        for name in LOGGERS:
            logging.getLogger(name).removeFilter(redact)
