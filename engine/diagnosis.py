"""What a finished run's validation says went wrong, in words a student can act on.

A run can end "completed" and still have learned nothing. Two such ends are common:
the network collapsed to one class (nearly every prediction the same class, accuracy
what always answering the commonest class gives), typically after a learning rate so
high that its first steps killed the ReLUs and only the last biases decide; or it never
left chance, its loss at ln(classes), what an even guess over the classes costs.
"""

from __future__ import annotations

import math

import numpy as np

COLLAPSE_SHARE = 0.9  # this share of predictions or more in one class: the network answers one class
NEAR_CHANCE = 0.05  # accuracy at most this above the commonest class's share is what a guess gives
FLAT_LOSS = 0.1  # a loss within 10% of ln(classes) is the loss of an even guess
# a learning rate from which a collapse is most likely its cause: a step above the usual range
HIGH_LR = {"sgd": 0.1, "rmsprop": 0.01, "adam": 0.01, "adagrad": 0.5}


def diagnose(evaluation: dict, class_names: list[str], lr: float, optimizer: str) -> dict | None:
    """{kind, message, ...} when the evaluation shows a collapse or no learning, else None.

    kind is "collapsed" (predictions nearly all one class, accuracy near chance) or
    "not_learning" (accuracy near chance, the loss that of an even guess)."""
    n, k = evaluation.get("n") or 0, len(evaluation.get("confusion") or [])
    if n == 0 or k < 2 or evaluation.get("accuracy") is None:
        return None
    confusion = np.asarray(evaluation["confusion"])
    predicted, truth = confusion.sum(axis=0), confusion.sum(axis=1)
    top = int(predicted.argmax())
    share = float(predicted[top] / n)
    chance = float(max(truth.max() / n, 1 / k))
    accuracy = float(evaluation["accuracy"])
    loss, even = evaluation.get("loss"), math.log(k)
    flat = loss is not None and abs(loss - even) <= FLAT_LOSS * even
    if accuracy > chance + NEAR_CHANCE:
        return None
    if share >= COLLAPSE_SHARE:
        kind = "collapsed"
    elif flat:
        kind = "not_learning"
    else:
        return None
    high = lr >= HIGH_LR.get(optimizer, 0.1)
    name = class_names[top] if top < len(class_names) else str(top)
    pct = lambda x: f"{100 * x:.1f}%"
    if kind == "collapsed":
        what = (
            f"the network collapsed to one class: it answers '{name}' for {pct(share)} of the validation "
            f"examples and is right on {pct(accuracy)}, what always answering the commonest class gives "
            f"({pct(chance)})"
        )
    else:
        what = (
            f"the network has not learned: it is right on {pct(accuracy)} of the validation examples, "
            f"what a guess gives ({pct(chance)})"
        )
    if flat:
        what += f"; its loss, {loss:.2f}, is that of an even guess over {k} classes (ln {k} = {even:.2f})"
    if high:
        why = (
            f"A learning rate this high ({lr:g} for {optimizer}) often does this: its first steps are so "
            f"big that ReLUs die (they output 0 for every input) and only the last biases decide. "
            f"Try a tenth of it ({lr / 10:g})"
        )
    else:
        why = (
            f"The learning rate ({lr:g}) is not high: train longer or on more examples, or raise it a little; "
            "check that the network fits the data"
        )
    return {
        "kind": kind,
        "message": f"{what}. {why}.",
        "class": top,
        "share": share,
        "accuracy": accuracy,
        "chance": chance,
        "loss": loss,
        "even_guess_loss": even,
        "high_learning_rate": high,
    }
