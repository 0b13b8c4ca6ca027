"""The lesson service: the lessons, exercises made from (kind, seed), grading, and each
learner's progress. The only way the routers reach app/lessons.

The answer always comes from the exercise's kind (the engine, or a definition written
out), never from the client; it is shown only once the learner answered correctly or asked
for the worked solution.
"""

from __future__ import annotations

import functools
import secrets

from ..errors import Invalid, NotFound
from .content import BY_ID, LESSONS, Lesson
from .exercise import SEEDS, Exercise, Kind
from .formats import Malformed, Value
from .kinds import KINDS
from .schemas import (
    AnswerFormat,
    ExercisePublic,
    FormulaPublic,
    Grade,
    KindPublic,
    LessonProgress,
    LessonPublic,
    LessonSummary,
    Progress,
    ProgressPublic,
    Solution,
    WidgetPublic,
)
from .store import AttemptStore, Tally

CACHED = 4096  # exercises (and their answers) kept made; each is a few kilobytes at most


@functools.lru_cache(maxsize=CACHED)
def exercise_of(kind: str, seed: int) -> Exercise:
    return KINDS[kind].generate(seed)


@functools.lru_cache(maxsize=CACHED)
def answer_of(kind: str, seed: int) -> Value:
    """The right answer, by the kind (the engine): never taken from a client."""
    return KINDS[kind].answer(exercise_of(kind, seed))


def _wire(value: Value):
    """A value as JSON carries it: a cell as a list."""
    return list(value) if isinstance(value, tuple) else value


def _progress(tally: Tally) -> Progress:
    return Progress(
        attempts=tally.attempts,
        correct=tally.correct,
        exercises=tally.exercises,
        solved=tally.solved,
        solutions=tally.solutions,
    )


class LessonService:
    def __init__(self, store: AttemptStore):
        self.store = store

    # ---- lessons ----------------------------------------------------------------------------
    def lessons(self, learner: str) -> list[LessonSummary]:
        tallies = self.store.tallies(learner)
        return [self._summary(lesson, tallies) for lesson in LESSONS]

    def lesson(self, lesson_id: str, learner: str) -> LessonPublic:
        lesson = BY_ID.get(lesson_id)
        if lesson is None:
            raise NotFound(f"no lesson {lesson_id[:50]!r}; lessons: {', '.join(BY_ID)}")
        i = LESSONS.index(lesson)
        summary = self._summary(lesson, self.store.tallies(learner))
        w = lesson.widget
        return LessonPublic(
            **summary.model_dump(),
            paragraphs=list(lesson.paragraphs),
            formulas=[FormulaPublic(text=f.text, tex=f.tex) for f in lesson.formulas],
            widget=WidgetPublic(view=w.view, caption=w.caption, options=w.options),
            exercises=[self._kind(KINDS[k]) for k in lesson.kinds],
            previous=LESSONS[i - 1].id if i > 0 else None,
            next=LESSONS[i + 1].id if i + 1 < len(LESSONS) else None,
        )

    def _summary(self, lesson: Lesson, tallies: dict[str, Tally]) -> LessonSummary:
        return LessonSummary(
            id=lesson.id,
            order=LESSONS.index(lesson) + 1,
            title=lesson.title,
            kinds=list(lesson.kinds),
            progress=_progress(self._over(lesson, tallies)),
        )

    @staticmethod
    def _over(lesson: Lesson, tallies: dict[str, Tally]) -> Tally:
        return sum((tallies.get(k, Tally()) for k in lesson.kinds), Tally())

    # ---- exercises -------------------------------------------------------------------------
    def kinds(self) -> list[KindPublic]:
        return [self._kind(k) for k in KINDS.values()]

    @staticmethod
    def _kind(kind: Kind) -> KindPublic:
        tolerance = exercise_of(kind.name, 0).format.tolerance  # the same for all of a kind's seeds
        return KindPublic(
            name=kind.name,
            title=kind.title,
            lesson=kind.lesson,
            answer_format=kind.format_type,
            tolerance=tolerance.public(),
        )

    @staticmethod
    def _check(kind: str) -> str:
        if kind not in KINDS:
            raise NotFound(f"no exercise kind {kind[:50]!r}; kinds: {', '.join(KINDS)}")
        return kind

    def exercise(self, kind: str, seed: int | None = None) -> ExercisePublic:
        """The exercise (kind, seed), or one with a random seed: never its answer."""
        seed = secrets.randbelow(SEEDS) if seed is None else seed
        ex = exercise_of(self._check(kind), seed)
        k = KINDS[kind]
        return ExercisePublic(
            id=ex.id,
            kind=kind,
            seed=seed,
            lesson=k.lesson,
            title=k.title,
            prompt=ex.prompt,
            given=ex.given,
            answer_format=AnswerFormat(**ex.format.public()),
        )

    def answer(self, learner: str, kind: str, seed: int, answer) -> Grade:
        ex = exercise_of(self._check(kind), seed)
        try:
            given = ex.format.read(answer)
        except Malformed as e:
            detail = [{"loc": ["body", "answer"], "msg": str(e), "type": "answer_format"}]
            raise Invalid(detail) from None
        right = answer_of(kind, seed)
        correct = ex.format.grade(given, right)
        after_solution = self.store.record_answer(learner, kind, seed, answer, correct)
        lesson = BY_ID[KINDS[kind].lesson]
        return Grade(
            exercise_id=ex.id,
            correct=correct,
            tolerance=ex.format.tolerance.public(),
            hint=None if correct else KINDS[kind].hint(ex, given),
            expected=_wire(right) if correct or after_solution else None,
            progress=_progress(self._over(lesson, self.store.tallies(learner))),
        )

    def solution(self, learner: str, kind: str, seed: int) -> Solution:
        ex = exercise_of(self._check(kind), seed)
        steps = KINDS[kind].solution(ex)
        self.store.record_solution(learner, kind, seed)
        return Solution(
            exercise_id=ex.id,
            steps=steps,
            expected=_wire(answer_of(kind, seed)),
            answer_format=AnswerFormat(**ex.format.public()),
        )

    # ---- progress ---------------------------------------------------------------------------
    def progress(self, learner: str) -> ProgressPublic:
        tallies = self.store.tallies(learner)
        lessons = [
            LessonProgress(
                lesson=lesson.id,
                title=lesson.title,
                progress=_progress(self._over(lesson, tallies)),
                kinds={k: _progress(tallies.get(k, Tally())) for k in lesson.kinds},
            )
            for lesson in LESSONS
        ]
        return ProgressPublic(lessons=lessons, total=_progress(sum(tallies.values(), Tally())))
