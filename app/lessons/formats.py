"""Answer formats: what an answer looks like, how it is read from JSON, and how it is graded.

Four formats, all the page can render as one input:
    integer  a whole number, graded exactly (any number is read, so 15.5 is a wrong answer,
             not a malformed one: not flooring an output size is the mistake being taught)
    number   graded with the tolerance the exercise states: |answer - expected| must be at
             most max(absolute, relative * |expected|)
    cell     [row, column] of a matrix, counted from 0
    choice   the id of one of the listed options

An answer that is not in its exercise's format is refused with Malformed, whose message
names the format expected (the router answers 422).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

Value = int | float | tuple[int, int] | str


class Malformed(ValueError):
    """The answer is not in its exercise's format; the message says what is expected."""


def _number(value: Any) -> float | None:
    """A JSON number (not a boolean, which Python counts as an int), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


@dataclass(frozen=True)
class Tolerance:
    absolute: float = 0.0
    relative: float = 0.0

    def allows(self, given: float, expected: float) -> bool:
        return abs(given - expected) <= max(self.absolute, self.relative * abs(expected))

    def describe(self) -> str:
        parts = ([f"within {self.absolute:g}"] if self.absolute else []) + (
            [f"within {self.relative:.0%}"] if self.relative else []
        )
        return " or ".join(parts) + " of the exact value" if parts else "exactly"

    def public(self) -> dict:
        return {"absolute": self.absolute, "relative": self.relative, "text": self.describe()}


EXACT = Tolerance()


class Format:
    type: ClassVar[str]
    tolerance: Tolerance = EXACT

    def describe(self) -> str:
        raise NotImplementedError

    def read(self, value: Any) -> Value:
        """The answer as a Value, or Malformed naming this format."""
        raise NotImplementedError

    def grade(self, given: Value, expected: Value) -> bool:
        return given == expected

    def public(self) -> dict:
        return {"type": self.type, "description": self.describe(), "tolerance": self.tolerance.public()}


@dataclass(frozen=True)
class Integer(Format):
    type: ClassVar[str] = "integer"
    example: int = 15

    def describe(self) -> str:
        return f"a whole number, e.g. {self.example}; graded exactly"

    def read(self, value):
        n = _number(value)
        if n is None or not math.isfinite(n):
            raise Malformed(f'expected a JSON number, e.g. {{"answer": {self.example}}}; got {_shown(value)}')
        return int(n) if n == int(n) else n

    def grade(self, given, expected):
        return given == expected


@dataclass(frozen=True)
class Number(Format):
    type: ClassVar[str] = "number"
    tolerance: Tolerance = EXACT
    example: float = 0.25

    def describe(self) -> str:
        return f"a number, e.g. {self.example:g}; correct when {self.tolerance.describe()}"

    def read(self, value):
        n = _number(value)
        if n is None or not math.isfinite(n):
            raise Malformed(f'expected a finite JSON number, e.g. {{"answer": {self.example:g}}}; got {_shown(value)}')
        return float(n)

    def grade(self, given, expected):
        return self.tolerance.allows(given, expected)


@dataclass(frozen=True)
class Cell(Format):
    """A position in a matrix of `shape` (rows, columns)."""

    type: ClassVar[str] = "cell"
    shape: tuple[int, int] = (1, 1)
    of: str = "the input"

    def describe(self) -> str:
        rows, cols = self.shape
        return f"[row, column] of {self.of}, counted from 0: row 0 to {rows - 1}, column 0 to {cols - 1}"

    def read(self, value):
        ok = (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        )
        if not ok:
            raise Malformed(f'expected [row, column] as two integers, e.g. {{"answer": [0, 1]}}; got {_shown(value)}')
        (r, c), (rows, cols) = value, self.shape
        if not (0 <= r < rows and 0 <= c < cols):
            raise Malformed(f"[{r}, {c}] is outside {self.of}: {self.describe()}")
        return (r, c)

    def public(self) -> dict:
        return {**super().public(), "shape": list(self.shape), "of": self.of}


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Choice(Format):
    type: ClassVar[str] = "choice"
    options: tuple[Option, ...] = ()

    def describe(self) -> str:
        return "the id of one option: " + ", ".join(repr(o.id) for o in self.options)

    def read(self, value):
        ids = [o.id for o in self.options]
        if not isinstance(value, str) or value not in ids:
            raise Malformed(f"expected one of the options' ids ({', '.join(map(repr, ids))}); got {_shown(value)}")
        return value

    def public(self) -> dict:
        options = [{"id": o.id, "label": o.label} for o in self.options]
        return {**super().public(), "options": options}


def _shown(value: Any) -> str:
    """The answer as the client sent it, cut short (it may be large)."""
    text = "null" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
