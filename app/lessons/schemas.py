"""The lessons' request and response bodies."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from typing_extensions import TypeAliasType

from ..spec_schemas import Spec
from .exercise import SEEDS

FormatType = Literal["integer", "number", "cell", "choice"]
# what an answer may look like on the wire; which one an exercise takes is its answer_format
ANSWER_SCHEMA = {
    "anyOf": [
        {"type": "integer", "description": "integer: a whole number"},
        {"type": "number", "description": "number: graded with the exercise's tolerance"},
        {
            "type": "array",
            "items": {"type": "integer"},
            "minItems": 2,
            "maxItems": 2,
            "description": "cell: [row, column], counted from 0",
        },
        {"type": "string", "description": "choice: the id of one option"},
    ]
}
Expected = Annotated[int | float | str | list[int], WithJsonSchema(ANSWER_SCHEMA)]


# an exercise's given values: numbers, text, flags, matrices as lists of rows, small named groups
Given = TypeAliasType(
    "Given",
    Union[int, float, bool, str, list["Given"], dict[str, "Given"], None],  # noqa: UP007
)


class ToleranceInfo(BaseModel):
    absolute: float
    relative: float
    text: str = Field(description='e.g. "within 0.01 of the exact value", or "exactly"')


class Progress(BaseModel):
    attempts: int = Field(0, description="answers sent")
    correct: int = Field(0, description="answers that were correct")
    exercises: int = Field(0, description="different exercises answered")
    solved: int = Field(0, description="different exercises answered correctly before their solution was shown")
    solutions: int = Field(0, description="different exercises whose worked solution was shown")


class FormulaPublic(BaseModel):
    text: str = Field(description="plain text with Unicode symbols")
    tex: str = Field(description="the same in LaTeX")


def _unset(value) -> bool:
    return value is None


class WidgetOptions(BaseModel):
    """What to open in the view; each is optional (and left out when not set)."""

    model_config = ConfigDict(extra="forbid")

    preset: str | None = Field(None, exclude_if=_unset)
    spec: Spec | None = Field(None, exclude_if=_unset)
    part: str | None = Field(None, exclude_if=_unset, description="a part of the view, e.g. forward")
    dataset: str | None = Field(None, exclude_if=_unset)


class WidgetPublic(BaseModel):
    view: Literal["data", "build", "train", "inspect", "conv", "init"]
    caption: str = Field(description="what to try in it")
    options: WidgetOptions = Field(description="what to open in the view")


class KindPublic(BaseModel):
    name: str
    title: str
    lesson: str
    answer_format: FormatType
    tolerance: ToleranceInfo


class LessonSummary(BaseModel):
    id: str
    order: int = Field(description="1 for the first lesson")
    title: str
    kinds: list[str] = Field(description="the kinds of exercise that practise it")
    progress: Progress = Field(description="this learner's, over the lesson's exercises")


class LessonPublic(LessonSummary):
    paragraphs: list[str]
    formulas: list[FormulaPublic]
    widget: WidgetPublic
    exercises: list[KindPublic]
    previous: str | None = None
    next: str | None = None


class OptionPublic(BaseModel):
    id: str
    label: str


class AnswerFormat(BaseModel):
    type: FormatType
    description: str = Field(description="what to send, in words")
    tolerance: ToleranceInfo = Field(description="a number within it of the exact value is correct; 0 and 0: exactly")
    shape: list[int] | None = Field(None, description="cell: the matrix's rows and columns")
    of: str | None = Field(None, description="cell: which matrix")
    options: list[OptionPublic] | None = Field(None, description="choice: the options")


class ExercisePublic(BaseModel):
    id: str = Field(description='"<kind>-<seed>": the same id is always the same exercise')
    kind: str
    seed: int
    lesson: str
    title: str
    prompt: str
    given: dict[str, Given] = Field(description="the prompt's numbers and matrices (lists of rows), by name")
    answer_format: AnswerFormat


class ExerciseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=64)
    seed: int | None = Field(None, ge=0, lt=SEEDS, description="default: a random one")


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Annotated[Any, WithJsonSchema(ANSWER_SCHEMA)] = Field(
        description="in the exercise's answer_format; another shape is a 422 naming the one expected"
    )


class Grade(BaseModel):
    exercise_id: str
    correct: bool
    tolerance: ToleranceInfo
    hint: str | None = Field(None, description="when wrong: the formula with the exercise's numbers in it")
    expected: Expected | None = Field(None, description="when correct, or once the solution was shown")
    progress: Progress = Field(description="this learner's over the exercise's lesson, this answer included")


class Solution(BaseModel):
    exercise_id: str
    steps: list[str]
    expected: Expected
    answer_format: AnswerFormat


class LessonProgress(BaseModel):
    lesson: str
    title: str
    progress: Progress
    kinds: dict[str, Progress]


class ProgressPublic(BaseModel):
    lessons: list[LessonProgress]
    total: Progress
