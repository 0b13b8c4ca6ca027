"""The network spec: `{"input": [C, H, W], "layers": [...]}` -> built layers.

parse_spec checks the whole spec and builds layers without weights, so both
the summary and the network share one description of every shape.
"""

from __future__ import annotations

import json

from .errors import SpecError, SpecErrors
from .layers import Sequence, build_sequence
from .layers.shape import MAX_SIZE

TOP_FIELDS = ("input", "layers", "name", "description", "seed")
MAX_CHANNELS = 4096
MAX_NAME = 100
MAX_DESCRIPTION = 10_000


def parse_input(value) -> tuple:
    """Check the 'input' field: [C, H, W] for images, or [features]."""
    if not isinstance(value, (list, tuple)) or len(value) not in (1, 3):
        raise SpecError(
            "input",
            "expected [channels, height, width] (or [features]), "
            f"got {json.dumps(value)[:40] if _jsonable(value) else type(value).__name__}",
        )
    out = []
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            else:
                raise SpecError(
                    f"input[{i}]", f"expected a positive integer, got {json.dumps(v) if _jsonable(v) else v!r}"
                )
        if v < 1:
            raise SpecError(f"input[{i}]", f"must be at least 1, got {v}")
        limit = MAX_CHANNELS if i == 0 and len(value) == 3 else MAX_SIZE
        if len(value) == 1:
            limit = MAX_SIZE * MAX_SIZE
        if v > limit:
            raise SpecError(f"input[{i}]", f"must be at most {limit}, got {v}")
        out.append(v)
    return tuple(out)


def parse_spec(spec) -> tuple[tuple, Sequence]:
    """Validate `spec`; return (input shape, layers without weights).

    Raises SpecErrors listing every problem found, each with its path.
    """
    if not isinstance(spec, dict):
        raise SpecErrors(
            [SpecError("", f"a network spec is an object with 'input' and 'layers', got {type(spec).__name__}")]
        )
    bad = _not_text(spec)
    if bad is not None:  # stored, it would break every response that shows the spec
        raise SpecErrors(
            [
                SpecError(
                    bad,
                    "holds a string that is not valid Unicode text (a lone surrogate such as \\ud800); use plain text",
                )
            ]
        )
    errors = []
    for key in spec:
        if key not in TOP_FIELDS:
            errors.append(SpecError(str(key)[:40], f"unknown field; a spec has: {', '.join(TOP_FIELDS)}"))
    if "input" not in spec:
        errors.append(SpecError("input", "missing: give the input shape as [channels, height, width]"))
    if "layers" not in spec:
        errors.append(SpecError("layers", "missing: give a list of layers"))
    for key, limit in (("name", MAX_NAME), ("description", MAX_DESCRIPTION)):
        if key in spec and not isinstance(spec[key], str):
            errors.append(SpecError(key, f"expected text, got {type(spec[key]).__name__}"))
        elif key in spec and len(spec[key]) > limit:
            errors.append(SpecError(key, f"at most {limit} characters, got {len(spec[key])}"))
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        errors.append(
            SpecError("seed", f"the seed its weights are drawn with: an integer 0 <= seed < 2**32, got {seed!r:.40}")
        )
    if errors:
        raise SpecErrors(errors)
    try:
        in_shape = parse_input(spec["input"])
    except SpecError as e:
        raise SpecErrors([e]) from None
    return in_shape, build_sequence(spec["layers"], in_shape)


def _not_text(spec) -> str | None:
    """The path of the first key or string value that cannot be encoded as UTF-8, or None."""
    stack = [("", spec)]
    while stack:  # iterative: the spec may be nested as deep as the JSON parser allowed
        path, v = stack.pop()
        if isinstance(v, str) and not _is_text(v):
            return path
        if isinstance(v, dict):
            for k, item in v.items():
                if isinstance(k, str) and not _is_text(k):
                    return path
                stack.append((f"{path}.{k}" if path else str(k), item))
        elif isinstance(v, (list, tuple)):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(v))
    return None


def _is_text(s: str) -> bool:
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _jsonable(v) -> bool:
    try:
        json.dumps(v)
        return True
    except (TypeError, ValueError):
        return False
