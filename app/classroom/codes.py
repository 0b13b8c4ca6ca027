"""Class codes students type, and the tokens that make them a student.

A code is read aloud and typed on a phone: six characters from an alphabet without the
look-alikes (0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V), about 10^8 of them, and joining is rate-limited
per address, so guessing one is hopeless. Tokens are 32 random bytes; only their sha256 is
stored, and a token is found by its hash (nothing secret is ever compared by hand).
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
CODE_LENGTH = 6
STUDENT_TOKEN_PREFIX = "st_"  # a bearer token that starts so is a student's, not the server's


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """What a student typed, as stored: capitals, without spaces or dashes."""
    return "".join(ch for ch in str(text).upper() if ch.isalnum())[:32]


def new_student_token() -> str:
    return STUDENT_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
