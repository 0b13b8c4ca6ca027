"""The lessons as data: the lecture's order, a widget the page has, exercises for each."""

import engine
from app.lessons.content import BY_ID, LESSONS, VIEWS
from app.lessons.kinds import KINDS

LECTURE_ORDER = [
    "image",
    "filters",
    "kps",
    "parameters",
    "conv_forward",
    "conv_backward",
    "pooling",
    "architectures",
    "initialization",
    "dropout",
    "regularization",
    "batch_norm",
    "residual",
]


def test_the_lessons_walk_the_lecture_in_its_order():
    assert [lesson.id for lesson in LESSONS] == LECTURE_ORDER
    assert len(BY_ID) == len(LESSONS)


def test_every_lesson_has_text_formulas_a_widget_and_exercises():
    for lesson in LESSONS:
        assert lesson.title and lesson.paragraphs and lesson.formulas and lesson.kinds, lesson.id
        assert all(len(p) < 600 for p in lesson.paragraphs), f"{lesson.id}: keep paragraphs short"
        assert lesson.widget.view in VIEWS and lesson.widget.caption, lesson.id
        options = lesson.widget.options
        if "preset" in options:
            assert options["preset"] in engine.PRESETS, lesson.id
        if "spec" in options:
            assert engine.summarize(options["spec"])["layers"], lesson.id


def test_every_kind_belongs_to_exactly_the_lesson_it_names():
    listed = [k for lesson in LESSONS for k in lesson.kinds]
    assert sorted(listed) == sorted(KINDS), "each kind in one lesson, and only known kinds"
    for lesson in LESSONS:
        for k in lesson.kinds:
            assert KINDS[k].lesson == lesson.id, k


def test_the_lecture_example_in_the_text_is_the_engines():
    layer = engine.summarize(LESSONS[2].widget.options["spec"])["layers"][0]
    assert layer["params"] == 1520 and "1,520" in " ".join(BY_ID["parameters"].paragraphs)
    assert "9 5 4 / 8 8 10 / 8 15 12" in " ".join(BY_ID["conv_forward"].paragraphs)
