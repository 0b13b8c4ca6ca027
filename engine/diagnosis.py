"""What a finished run says went wrong, in words a student can act on.

A run can end "completed" and still have learned nothing. Four such ends are told apart:

- loss_grew: the loss ended far above where it started. Each step overshot the minimum by
  more than it gained, and the loss grew instead of falling: a learning rate too high, though
  not so high that the loss overflowed (that ends the run "diverged", see train.py). The run
  stays "completed": its network exists and may still be right more often than a guess.
- too_few_examples: the validation set is too small to judge (one example moves the accuracy
  by several points), so no collapse or lack of learning is claimed.
- collapsed: nearly every prediction is the same class and the accuracy is what always
  answering the commonest class gives, typically after a learning rate so high that its first
  steps killed the ReLUs and only the last biases decide.
- not_learning: the accuracy never left chance and the loss is ln(classes), what an even
  guess over the classes costs.
"""

from __future__ import annotations

import math

import numpy as np

COLLAPSE_SHARE = 0.9  # this share of predictions or more in one class: the network answers one class
NEAR_CHANCE = 0.05  # accuracy at most this above the commonest class's share is what a guess gives
FLAT_LOSS = 0.1  # a loss within 10% of ln(classes) is the loss of an even guess
GREW = 3.0  # a loss ending above 3 times where it started grew: noise moves it by far less
MIN_EXAMPLES = 20  # fewer validation examples: each moves the accuracy by 5 points or more
# a learning rate from which a collapse is most likely its cause: a step above the usual range
HIGH_LR = {"sgd": 0.1, "rmsprop": 0.01, "adam": 0.01, "adagrad": 0.5}


def diagnose(
    evaluation: dict,
    class_names: list[str],
    lr: float,
    optimizer: str,
    *,
    first_loss: float | None = None,
    train_loss: float | None = None,
    loss_name: str = "cross_entropy",
) -> dict | None:
    """{kind, message, ...} when the run shows one of the ends above, else None.

    evaluation: the final network on the validation examples (train.evaluate); first_loss: the
    loss of the run's first step, before any learning; train_loss: the last epoch's."""
    n, k = evaluation.get("n") or 0, len(evaluation.get("confusion") or [])
    if k < 2:
        return None
    facts = _facts(evaluation, n, k, lr, optimizer, first_loss, train_loss)
    start = _start_loss(first_loss, k, loss_name)
    val_loss = evaluation.get("loss")
    ended = [v for v in (train_loss, val_loss if n else None) if v is not None]
    if start is not None and ended and all(v > GREW * start for v in ended):
        where = " and ".join(
            f"{v:.3g} on the {which} examples"
            for v, which in ((train_loss, "training"), (val_loss if n else None, "validation"))
            if v is not None
        )
        began = f"{first_loss:.3g} at the first step" if first_loss is not None else f"ln {k} = {start:.2f}"
        return {
            **facts,
            "kind": "loss_grew",
            "message": (
                f"the loss grew instead of falling: it began at {began} and ended at {where}. "
                f"The learning rate ({lr:g} for {optimizer}) is probably too high: each step overshoots "
                f"and lands further up than it started. Try one ten times smaller ({lr / 10:g})."
            ),
        }
    if n == 0 or evaluation.get("accuracy") is None:
        return None
    if n < MIN_EXAMPLES:
        return {
            **facts,
            "kind": "too_few_examples",
            "message": (
                f"{n} validation example{'s' if n != 1 else ''} are too few to tell whether it learned "
                f"(each one moves the accuracy by {100 / n:.0f} points; {MIN_EXAMPLES} or more are needed). "
                "Set validation higher, or train on more examples."
            ),
        }
    accuracy, chance, share = facts["accuracy"], facts["chance"], facts["share"]
    loss, even = val_loss, math.log(k)
    flat = loss is not None and abs(loss - even) <= FLAT_LOSS * even
    if accuracy > chance + NEAR_CHANCE:
        return None
    if share >= COLLAPSE_SHARE:
        kind = "collapsed"
    elif flat:
        kind = "not_learning"
    else:
        return None
    top = facts["class"]
    name = class_names[top] if top < len(class_names) else str(top)
    if kind == "collapsed":
        what = (
            f"the network collapsed to one class: it answers '{name}' for {pct(share)} of the validation "
            f"examples and is right on {pct(accuracy)}, {compared(accuracy, chance)} always answering the "
            f"commonest class ({pct(chance)})"
        )
    else:
        what = (
            f"the network has not learned: it is right on {pct(accuracy)} of the validation examples, "
            f"{compared(accuracy, chance)} a guess ({pct(chance)})"
        )
    if flat:
        what += f"; its loss, {loss:.2f}, is that of an even guess over {k} classes (ln {k} = {even:.2f})"
    if facts["high_learning_rate"]:
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
    return {**facts, "kind": kind, "message": f"{what}. {why}."}


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def compared(accuracy: float, chance: float) -> str:
    """How an accuracy near chance stands to it, true to the digit shown."""
    if pct(accuracy) == pct(chance):
        return "the same as"
    return "worse than" if accuracy < chance else "hardly better than"


def _start_loss(first_loss: float | None, k: int, loss_name: str) -> float | None:
    """Where the loss began: the first step's, and for cross-entropy never below ln(classes), so a
    network that started trained (a low first loss) is not blamed for a small rise."""
    even = math.log(k) if loss_name == "cross_entropy" else None
    known = [v for v in (first_loss, even) if v is not None and v > 0]
    return max(known) if known else None


def _facts(evaluation, n, k, lr, optimizer, first_loss, train_loss) -> dict:
    """What every diagnosis reports beside its message."""
    facts = {
        "class": None,
        "share": None,
        "accuracy": evaluation.get("accuracy"),
        "chance": None,
        "loss": evaluation.get("loss"),
        "even_guess_loss": math.log(k),
        "high_learning_rate": lr >= HIGH_LR.get(optimizer, 0.1),
        "first_loss": first_loss,
        "train_loss": train_loss,
    }
    if n:
        confusion = np.asarray(evaluation["confusion"])
        predicted, truth = confusion.sum(axis=0), confusion.sum(axis=1)
        top = int(predicted.argmax())
        facts.update({"class": top, "share": float(predicted[top] / n), "chance": float(max(truth.max() / n, 1 / k))})
        facts["accuracy"] = float(facts["accuracy"]) if facts["accuracy"] is not None else None
    return facts
