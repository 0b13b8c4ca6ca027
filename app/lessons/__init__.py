"""Lessons and auto-graded exercises, in the lecture's order.

content.py    the lessons as data: text, formulas, the view to show, the kinds of exercise
formats.py    answer formats: how an answer is read and graded, with its stated tolerance
exercise.py   an exercise, fixed by (kind, seed), and the Kind it comes from
kinds/        every kind: generate(seed), answer (by the engine), hint, worked solution
store.py      what learners answered and which solutions they saw (the database)
learner.py    who is answering: the X-Learner header or the browser's cookie
service.py    the one way the routers reach all of this
"""
