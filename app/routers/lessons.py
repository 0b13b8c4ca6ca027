"""Lessons and auto-graded exercises: read a lesson, get an exercise, answer it, see its worked
solution, follow a learner's progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ..deps import ServicesDep
from ..lessons.exercise import SEEDS
from ..lessons.learner import LearnerDep
from ..lessons.schemas import (
    AnswerBody,
    ExerciseCreate,
    ExercisePublic,
    Grade,
    KindPublic,
    LessonPublic,
    LessonSummary,
    ProgressPublic,
    Solution,
)
from .paging import PageDep, listed
from .responses import errors

router = APIRouter(tags=["lessons"])
LessonId = Annotated[str, Path(max_length=64, description="a lesson's id (GET /api/lessons)")]
Kind = Annotated[str, Path(max_length=64, description="a kind (GET /api/exercises/kinds)")]
Seed = Annotated[int, Path(ge=0, lt=SEEDS, description="the same kind and seed: the same exercise")]


@router.get(
    "/lessons", response_model=list[LessonSummary], responses={**listed("in the lecture's order"), **errors(422)}
)
def read_lessons(services: ServicesDep, learner: LearnerDep, page: PageDep):
    """The lessons in the lecture's order, each with this learner's progress."""
    return page(services.lessons.lessons(learner))


@router.get("/lessons/{lesson_id}", response_model=LessonPublic, responses=errors(404, 422))
def read_lesson(lesson_id: LessonId, services: ServicesDep, learner: LearnerDep):
    """One lesson: its text, formulas, the view to show beside it, its exercises and progress."""
    return services.lessons.lesson(lesson_id, learner)


@router.get(
    "/exercises/kinds", response_model=list[KindPublic], responses={**listed("in the lessons' order"), **errors(422)}
)
def read_exercise_kinds(services: ServicesDep, page: PageDep):
    """Every kind of exercise: its title, lesson, answer format and tolerance."""
    return page(services.lessons.kinds())


# The exercise routes take the learner too: a browser gets its cookie before its first answer.
@router.post("/exercises", response_model=ExercisePublic, responses=errors(400, 404, 422))
def create_exercise(body: ExerciseCreate, services: ServicesDep, learner: LearnerDep):
    """An exercise of a kind, with the seed given or a random one (never its answer)."""
    return services.lessons.exercise(body.kind, body.seed)


@router.get("/exercises/{kind}/{seed}", response_model=ExercisePublic, responses=errors(404, 422))
def read_exercise(kind: Kind, seed: Seed, services: ServicesDep, learner: LearnerDep):
    """The exercise (kind, seed): its prompt, its numbers as data and its answer format."""
    return services.lessons.exercise(kind, seed)


@router.post("/exercises/{kind}/{seed}/answer", response_model=Grade, responses=errors(400, 404, 422))
def answer_exercise(kind: Kind, seed: Seed, body: AnswerBody, services: ServicesDep, learner: LearnerDep):
    """Grade an answer and record it: correct or not, a hint when wrong, the answer once earned."""
    return services.lessons.answer(learner, kind, seed, body.answer)


@router.post("/exercises/{kind}/{seed}/solution", response_model=Solution, responses=errors(404, 422))
def show_solution(kind: Kind, seed: Seed, services: ServicesDep, learner: LearnerDep):
    """The worked steps and the answer. A POST, since it is recorded: later correct answers to this
    exercise no longer count as solved (and no link prefetcher shows a solution by itself)."""
    return services.lessons.solution(learner, kind, seed)


@router.get("/progress", response_model=ProgressPublic, responses=errors(422))
def read_progress(services: ServicesDep, learner: LearnerDep):
    """This learner's answers, correct ones, solved exercises and solutions seen, per lesson."""
    return services.lessons.progress(learner)
