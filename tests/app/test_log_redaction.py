"""The token's value never reaches the log; the rest of each line is kept (the server process
itself is tested in tests/e2e/test_serve.py)."""

import pytest

from app.log_redaction import redact_token


@pytest.mark.parametrize(
    "path, logged",
    [
        ("/?token=abc", "/?token=***"),
        ("/api/health?a=1&token=abc&b=2", "/api/health?a=1&token=***&b=2"),
        ("/api/health?%74oken=abc", "/api/health?%74oken=***"),  # the token check decodes the name
        ("/api/health?token=a;b&c=d", "/api/health?token=***&c=d"),
        ("/api/health?tokens=1&mytoken=2", "/api/health?tokens=1&mytoken=2"),
        ("/api/runs/0123456789abcdef/events", "/api/runs/0123456789abcdef/events"),
    ],
)
def test_only_the_token_value_is_hidden(path, logged):
    assert redact_token(path) == logged
