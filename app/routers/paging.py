"""limit/offset on every list, with the total in the X-Total-Count header: the body stays the
plain list it always was, so a client that reads it whole keeps working."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Response

MAX_LIMIT = 1000
TOTAL = {
    "X-Total-Count": {
        "description": "how many items the whole list holds (before limit and offset)",
        "schema": {"type": "integer"},
    }
}


class Page:
    def __init__(
        self,
        response: Response,
        limit: Annotated[
            int | None, Query(ge=1, le=MAX_LIMIT, description="at most this many items (default: all)")
        ] = None,
        offset: Annotated[int, Query(ge=0, description="skip this many items first")] = 0,
    ):
        self.response, self.limit, self.offset = response, limit, offset
        self.headers: dict[str, str] = {}

    def __call__(self, items: list[Any]) -> list[Any]:
        """The requested slice of `items`; the header says how many there are in all."""
        self.headers = {"X-Total-Count": str(len(items))}  # for a route that returns its own Response
        self.response.headers.update(self.headers)
        end = None if self.limit is None else self.offset + self.limit
        return items[self.offset : end]


PageDep = Annotated[Page, Depends()]


def listed(description: str = "the items, oldest first") -> dict[int | str, dict[str, Any]]:
    """`responses=` for a list route: its 200 carries X-Total-Count."""
    return {200: {"description": description, "headers": TOTAL}}
