"""The class's locks, enforced: what a student may not do, refused with 403 saying which lock.

Locks (set by the teacher for a class, JSON):
    {"architecture": true,                    # networks only as pushed: no other spec, no import
     "editable": ["lr", "batch_size"],        # the run settings a student may change (absent: all)
     "hidden_views": {"train": {"until_solved": "conv_params"}, "inspect": {}}}
A run setting that is not editable must be what the teacher pushed (or its default). A hidden
view's actions are refused at the server: the page hides the view, but a request from
anywhere else meets the same lock. The teacher (the owner) is never locked.
"""

from __future__ import annotations

from .. import access
from ..errors import Forbidden
from ..schemas import RunCreate
from .service import ClassroomService

VIEW_NAMES = {
    "train": "the Train view",
    "inspect": "the Inspect view",
    "conv": "the Convolution view",
    "init": "the Initialization view",
    "data": "uploading datasets",
    "build": "the Build view",
}


class ClassPolicy:
    def __init__(self, classroom: ClassroomService):
        self.classroom = classroom

    def view(self, view: str) -> None:
        if not access.current().is_student:
            return
        rule = self.classroom.locks_for_me().get("hidden_views", {}).get(view)
        if rule is None:
            return
        until = rule.get("until_solved")
        why = f" until you have solved an exercise '{until}' in the Learn view" if until else ""
        raise Forbidden(f"the teacher has closed {VIEW_NAMES.get(view, view)}{why}")

    def spec_change(self, spec: dict | None, what: str) -> None:
        """`what` ("build a network", "change a network's layers", "import a network") with `spec`."""
        if not access.current().is_student or not self.classroom.locks_for_me().get("architecture"):
            return
        pushed = self.classroom.class_setup().get("spec")
        if spec is not None and pushed is not None and _same_layers(spec, pushed):
            return  # the network the teacher pushed: that is allowed
        raise Forbidden(
            f"the teacher has fixed the architecture for this class: you cannot {what}; "
            "train the network the teacher gave (ask for it again if you lost it)"
        )

    def run(self, config: dict, dataset: str) -> None:
        if not access.current().is_student:
            return
        self.view("train")
        locks = self.classroom.locks_for_me()
        editable = locks.get("editable")
        if editable is None:
            return
        setup = self.classroom.class_setup()
        # both sides as RunCreate reads them, so that {} and the default augmentation are one thing
        fixed = _settings(
            {**(setup.get("hyper") or {}), **({"dataset": setup["dataset"]} if setup.get("dataset") else {})}
        )
        given = _settings({**config, "dataset": dataset})
        for key, value in given.items():
            if key in editable or value == fixed.get(key):
                continue
            may = ", ".join(editable) if editable else "nothing"
            shown = config.get(key, dataset if key == "dataset" else value)
            raise Forbidden(
                f"the teacher has fixed {key} at {fixed.get(key)!r} for this class (you sent "
                f"{shown!r}); you may change: {may}"
            )


def _settings(values: dict) -> dict:
    """Run settings as a run would have them (defaults filled in, momentum the optimizer's)."""
    run = RunCreate(**{k: v for k, v in values.items() if k in RunCreate.model_fields})
    return {**run.config(), "dataset": run.dataset}


def _same_layers(a: dict, b: dict) -> bool:
    """Equal as networks: the same input and layers (a name given to the whole spec aside)."""
    strip = lambda s: {k: v for k, v in s.items() if k != "name"}
    return strip(a) == strip(b)
