"""Options declared once, on a dataclass: each field's kind, default, limits and help.

The same declaration checks a value and describes the option to whoever offers it: the API's
request model and the page's form (GET /api/train/options), and the command line's flags. It
reuses the layers' Field (layers/fields.py), so a run's options and a layer's fields are checked,
and described, alike.

    @dataclass
    class Augment:
        shift: int = option("int", 0, "move each image by up to this many pixels", min=0, max=16)

        def __post_init__(self):
            check_options(self)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .errors import SpecError
from .layers.fields import Field


def option(kind: str, default: Any, help: str, **limits: Any) -> Any:
    """A dataclass field that is an option. `limits`: min, max, exclusive_min, exclusive_max,
    choices, and default_by ({other option: {its value: the default}}) for a default of None that
    depends on another option."""
    return dataclasses.field(default=default, metadata={"option": {"kind": kind, "help": help, **limits}})


def described(cls: type) -> tuple[Field, ...]:
    """The options of a dataclass, in declaration order."""
    return tuple(
        Field(f.name, default=f.default, **f.metadata["option"])
        for f in dataclasses.fields(cls)
        if "option" in f.metadata
    )


def check_options(obj: Any, error: type[ValueError] = ValueError, prefix: str = "") -> None:
    """Check every option of a dataclass instance and put back its canonical value (2.0 epochs
    is 2). An option whose default is None may be None. Raises `error` naming the option."""
    for f in described(type(obj)):
        value = getattr(obj, f.name)
        if value is None and f.default is None:
            continue
        try:
            object.__setattr__(obj, f.name, f.parse(value, ""))  # frozen dataclasses too
        except SpecError as e:
            raise error(f"{prefix}{f.name}: {e.message}") from None
