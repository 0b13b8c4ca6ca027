"""Bodies and answers of the classroom's routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from ..documented import Documented
from ..lessons.schemas import Expected
from ..run_schemas import RunPublic
from ..schemas import RunCreate
from ..spec_schemas import Spec
from .service import VIEWS

View = Literal["learn", "build", "data", "train", "inspect", "conv", "init"]
LOCKABLE_VIEWS = ("build", "data", "train", "inspect", "conv", "init")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClassCreate(Strict):
    name: str | None = Field(None, max_length=80, description="e.g. 'Lab 3, Tuesday'; default: the date")


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


# the run settings a teacher pushes: any of a run's options (RunCreate owns them), and the page's dropout
RunSettings = create_model(
    "RunSettings",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Any of a run's options; the page keeps its own for the others.",
    dropout=(float | None, Field(None, ge=0, lt=1, description="the page's dropout setting")),
    **{
        name: (info.annotation | None, Field(None, description=info.description))
        for name, info in RunCreate.model_fields.items()
    },
)


class Setup(Strict):
    """What the teacher pushes: any of these; the page takes what is given and keeps the rest."""

    spec: Spec | None = Field(None, description="a network spec")
    preset: str | None = Field(None, max_length=64, description="or a preset by name")
    dataset: str | None = Field(None, max_length=100)
    hyper: Annotated[dict[str, Any], Documented(RunSettings)] | None = Field(
        None, description="run settings, as POST /api/networks/{id}/runs takes"
    )
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
    setup: Annotated[dict[str, Any], Documented(Setup)]
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


class ClassPublic(BaseModel):
    id: str
    name: str
    code: str = Field(description="what students type to join: 6 letters and digits, no look-alikes")
    created: float
    closed: float | None = None
    students: int = 0
    locks: Annotated[dict[str, Any], Documented(Locks)] = {}
    setup: Annotated[dict[str, Any], Documented(Setup)] | None = Field(None, description="the setup pushed to all last")


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


class ClassBrief(BaseModel):
    id: str
    name: str
    closed: float | None


class PushedSetup(BaseModel):
    id: int
    setup: Annotated[dict[str, Any], Documented(Setup)]
    pushed: float


class Anonymous(BaseModel):
    kind: Literal["anonymous"]
    classes_open: bool = Field(description="a class on this server takes students now")


class Teacher(BaseModel):
    kind: Literal["teacher"]
    classes_open: bool
    teaching: bool = Field(description="the page shows its Class view")


class Student(BaseModel):
    kind: Literal["student"]
    student: StudentPublic
    class_: ClassBrief = Field(alias="class")
    locks: Annotated[dict[str, Any], Documented(Locks)] = Field(description="as they apply to this student now")
    setup: PushedSetup | None = Field(description="the setup pushed to this student last")
    challenges: list[ChallengePublic] = Field(description="the class's challenges, open ones first")


Me = Annotated[Union[Anonymous, Teacher, Student], Field(discriminator="kind")]  # noqa: UP007


class NetworkBrief(BaseModel):
    id: str
    name: str
    params: int


class ActiveRun(BaseModel):
    id: str
    status: str
    epoch: int
    epochs: int | None
    val_accuracy: float | None
    steps: int


class Tally(BaseModel):
    correct: int
    attempted: int


class StudentRow(BaseModel):
    id: str
    name: str
    view: str | None
    lesson: str | None
    exercise: str | None
    seen: float
    idle: bool
    asking: bool
    network: NetworkBrief | None = Field(description="the network the student works on")
    run: ActiveRun | None = Field(description="their run going on now")
    exercises: Tally


class WrongAnswer(BaseModel):
    answer: Expected
    count: int


class ExerciseStat(BaseModel):
    kind: str
    attempts: int
    wrong: int
    students: int
    wrong_share: float
    commonest_wrong: WrongAnswer | None


class Dashboard(BaseModel):
    class_: ClassPublic = Field(alias="class")
    students: list[StudentRow]
    exercises: list[ExerciseStat] = Field(description="per exercise kind, the most often wrong first")
    time: float


class StudentNetwork(NetworkBrief):
    spec: Spec


class CurvePoint(BaseModel):
    epoch: int
    train_loss: float | None
    val_loss: float | None
    train_accuracy: float | None
    val_accuracy: float | None


class StudentRun(RunPublic):
    curve: list[CurvePoint] = Field(description="one point per epoch")


class StudentAnswer(BaseModel):
    kind: str
    seed: int
    answer: Expected
    correct: bool
    after_solution: bool
    created: float


class StudentDetail(BaseModel):
    student: StudentPublic
    networks: list[StudentNetwork]
    runs: list[StudentRun]
    answers: list[StudentAnswer]


assert set(View.__args__) == set(VIEWS)
