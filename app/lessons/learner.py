"""Who is answering: a learner id, from the X-Learner header or the browser's cookie.

A browser without the cookie is given a new anonymous id in an HttpOnly, SameSite=Lax cookie
(the page's scripts never need to read it), kept for 400 days, the most browsers allow; so
progress survives reloads and restarts of the browser. An API client may send X-Learner with
an id of its own choosing instead. Once classes exist, a student's id takes the same place.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from .. import access

COOKIE = "cnn_playground_learner"
PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
_ID = re.compile(PATTERN.strip("^$"))
MAX_AGE = 400 * 24 * 3600


def learner(
    request: Request,
    response: Response,
    x_learner: Annotated[
        str | None,
        Header(
            pattern=PATTERN,
            description="a learner id of your own (8 to 64 letters, digits, - "
            "or _); without it, the cookie "
            "cnn_playground_learner, which the "
            "server sets when it is missing",
        ),
    ] = None,
) -> str:
    principal = access.current()
    if principal.is_student:  # a student answers as themselves, whatever the cookie or header says
        return principal.student_id
    if x_learner is not None:
        return x_learner
    cookie = request.cookies.get(COOKIE, "")
    if _ID.fullmatch(cookie):
        return cookie  # one that is not ours (edited by hand) is replaced below
    new = secrets.token_urlsafe(16)  # 22 characters of the same alphabet
    response.set_cookie(COOKIE, new, max_age=MAX_AGE, path="/", httponly=True, samesite="lax")
    return new


LearnerDep = Annotated[str, Depends(learner)]
