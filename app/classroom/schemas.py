"""Bodies and answers of the classroom's routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..schemas import RunCreate
from .service import VIEWS

View = Literal["learn", "build", "data", "train", "inspect", "conv", "init"]
LOCKABLE_VIEWS = ("build", "data", "train", "inspect", "conv", "init")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClassCreate(Strict):
    name: str | None = Field(None, max_length=80, description="e.g. 'Lab 3, Tuesday'; default: the date")


class ClassPublic(BaseModel):
    id: str
    name: str
    code: str = Field(description="what students type to join: 6 letters and digits, no look-alikes")
    created: float
    closed: float | None = None
    students: int = 0
    locks: dict[str, Any] = {}
    setup: dict[str, Any] | None = None


class JoinBody(Strict):
    code: str = Field(max_length=32, description="the class code the teacher gave")
    name: str = Field(max_length=200, description="the name the teacher sees, e.g. your first name")


class StudentPublic(BaseModel):
    id: str
    class_id: str
    name: str
    joined: float
    seen: float
    idle: bool = Field(description="no activity for 5 minutes")
    view: str | None = None
    network_id: str | None = None
    lesson: str | None = None
    exercise: str | None = None
    asking: float | None = Field(None, description="when the student asked for the teacher's setup")


class Joined(BaseModel):
    student: StudentPublic
    token: str = Field(
        description="for the API: send it as Authorization: Bearer <token> (the page uses the "
        "HttpOnly cookie set with this answer)"
    )
    class_name: str


class StudentRename(Strict):
    name: str = Field(max_length=200)


class Activity(Strict):
    view: View | None = None
    network_id: str | None = Field(None, max_length=40)
    lesson: str | None = Field(None, max_length=40)
    exercise: str | None = Field(None, max_length=80)


class Ask(Strict):
    asking: bool = True


class Setup(Strict):
    """What the teacher pushes: any of these; the page takes what is given and keeps the rest."""

    spec: dict[str, Any] | None = Field(None, description="a network spec")
    preset: str | None = Field(None, max_length=64, description="or a preset by name")
    dataset: str | None = Field(None, max_length=100)
    hyper: dict[str, Any] | None = Field(None, description="run settings, as POST /api/networks/{id}/runs takes")
    view: View | None = None
    lesson: str | None = Field(None, max_length=40)

    @field_validator("hyper")
    @classmethod
    def _known_settings(cls, value):
        if value is None:
            return value
        unknown = sorted(set(value) - set(RunCreate.model_fields) - {"dropout"})
        if unknown:
            raise ValueError(f"unknown run settings {unknown}; known: {sorted(RunCreate.model_fields)}")
        RunCreate(**{k: v for k, v in value.items() if k != "dropout"})  # each value within its limits
        return value


class Push(Strict):
    setup: Setup
    to: Literal["all", "askers"] | list[str] = Field(
        "all", description="every student, those with a hand up, or these student ids"
    )


class Pushed(BaseModel):
    class_id: str
    to: int = Field(description="how many students it went to")
    setup: dict[str, Any]
    pushed: float


class HiddenView(Strict):
    until_solved: str | None = Field(
        None, max_length=40, description="opens for a student once they have solved an exercise of this kind"
    )


class Locks(Strict):
    architecture: bool = Field(False, description="students train the pushed network; no other spec, no import")
    editable: list[str] | None = Field(
        None, description="the run settings students may change (absent: all); the others stay as pushed"
    )
    hidden_views: dict[str, HiddenView] = Field(default_factory=dict)

    @field_validator("editable")
    @classmethod
    def _known_editable(cls, value):
        if value is None:
            return value
        unknown = sorted(set(value) - set(RunCreate.model_fields))
        if unknown:
            raise ValueError(f"unknown run settings {unknown}; known: {sorted(RunCreate.model_fields)}")
        return value

    @field_validator("hidden_views")
    @classmethod
    def _known_views(cls, value):
        unknown = sorted(set(value) - set(LOCKABLE_VIEWS))
        if unknown:
            raise ValueError(f"views that can be closed: {', '.join(LOCKABLE_VIEWS)}; not {unknown}")
        return value


class ChallengeCreate(Strict):
    name: str = Field("", max_length=80)
    dataset: str = Field("shapes", max_length=100)
    max_params: int = Field(20_000, ge=1, le=100_000_000)
    max_epochs: int = Field(3, ge=1, le=500)


class ChallengePublic(BaseModel):
    id: str
    class_id: str
    name: str
    dataset: str
    max_params: int
    max_epochs: int
    holdout_size: int
    created: float
    ended: float | None = None


class Submit(Strict):
    network_id: str = Field(max_length=40)


class Entry(BaseModel):
    rank: int
    student_id: str
    name: str
    accuracy: float
    submissions: int


class Leaderboard(BaseModel):
    challenge: ChallengePublic
    entries: list[Entry]


class Submitted(BaseModel):
    challenge_id: str
    network_id: str
    accuracy: float
    epochs: int
    params: int
    rank: int
    of: int


assert set(View.__args__) == set(VIEWS)
