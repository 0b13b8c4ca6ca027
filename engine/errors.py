"""Errors the engine raises, each naming where in a spec the problem is."""

from __future__ import annotations


class SpecError(ValueError):
    """A network spec that cannot work.

    `path` locates the layer (``layers[4].body[1]``), `field` the offending
    field (``kernel_size``) if any; the message says what was wrong and, where
    it can, how to fix it.
    """

    def __init__(self, path: str, message: str, field: str | None = None):
        self.path = path
        self.field = field
        self.message = message
        where = path + (f".{field}" if field else "")
        super().__init__(f"{where}: {message}" if where else message)

    def to_dict(self) -> dict:
        return {"path": self.path, "field": self.field, "message": self.message}


class SpecErrors(ValueError):
    """Several SpecErrors found in one spec (validation reports them all)."""

    def __init__(self, errors: list[SpecError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


class CheckpointError(ValueError):
    """A saved network file that cannot be loaded."""
