"""An exercise and the kind that makes it.

An exercise is fixed by its kind and a seed: `Kind.generate(seed)` draws its numbers from a
generator seeded by both, so its id "<kind>-<seed>" is all there is to remember about it.
A kind also knows its answer (computed by the engine, or by the definition written out where
the engine has no such concept), a hint (the formula with the exercise's numbers filled in,
left for the student to work out) and a worked solution (the same, carried to the end).

Some seeds are particular exercises: the lecture's own examples (seed 0 and up), so a
student meets the numbers of the lecture first.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .formats import Format, Value

SEEDS = 2**32  # seeds are 0 <= seed < SEEDS


@dataclass(frozen=True)
class Exercise:
    kind: str
    seed: int
    prompt: str
    given: dict[str, Any]  # the numbers and matrices of the prompt, as JSON data
    format: Format

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.seed}"


class Kind:
    """One kind of exercise. Subclasses set the class attributes and the four methods."""

    name: ClassVar[str]
    title: ClassVar[str]
    lesson: ClassVar[str]
    format_type: ClassVar[str]  # the Format.type of its exercises

    def generate(self, seed: int) -> Exercise:
        return self.make(seed, rng_for(self.name, seed))

    def make(self, seed: int, rng: np.random.Generator) -> Exercise:
        raise NotImplementedError

    def answer(self, ex: Exercise) -> Value:
        raise NotImplementedError

    def hint(self, ex: Exercise, given: Value) -> str:
        """What to look at again after the answer `given` was wrong: the formula, with this
        exercise's numbers in it, not worked out."""
        raise NotImplementedError

    def solution(self, ex: Exercise) -> list[str]:
        """The worked steps, ending with the answer."""
        raise NotImplementedError


def rng_for(kind: str, seed: int) -> np.random.Generator:
    """The generator of one exercise: the kind's name is mixed in, so two kinds with one
    seed draw unrelated numbers."""
    return np.random.default_rng([seed, zlib.crc32(kind.encode())])


def ints(rng: np.random.Generator, low: int, high: int, shape) -> list:
    """Integers low..high (inclusive) as nested lists, ready for JSON."""
    return rng.integers(low, high + 1, size=shape).tolist()


def pick(rng: np.random.Generator, values):
    """One of `values`, as a plain Python value."""
    return values[int(rng.integers(len(values)))]


def signed(v: float) -> str:
    """A number as it is written inside a sum: 0.5, 3, and a negative one in brackets, (-1.2)."""
    return f"{v:g}" if v >= 0 else f"({v:g})"
