"""The lecture's output-size formula, applied per spatial axis with its words.

    N_out = (N_in + 2P - K)/S + 1                     (the lecture)
    N_out = (N_in + 2P - d(K - 1) - 1)/S + 1          (with dilation d, as PyTorch writes it)

A kernel of K taps dilated by d spans d(K - 1) + 1 inputs; with d = 1 the two
formulas are the same. Padding "same" with an even span pads one more on the
far side (bottom, right) than on the near one, as PyTorch does; the formula
then shows both amounts.

When the division is not exact the size is floored (as in PyTorch), and the
layer carries a warning that shows the formula with its numbers and says what
the flooring leaves unread. The windows start at 0, S, 2S, ... of the padded
input; the last one reaches index (N_out - 1)S + span - 1, and the
(N_in + 2P - span) mod S indices after it are read by no window. Those are
the far side's padding first: input pixels are lost only when the leftover is
more than the padding on that side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpecError

MAX_SIZE = 8192  # the largest height or width of an input, or of any layer's output


@dataclass(frozen=True)
class Axis:
    """One spatial axis of a sliding window: n inputs, a kernel of k taps dilated by d,
    stride s, and `before` and `after` zeros of padding on the near and far sides."""

    n: int
    k: int
    s: int
    before: int
    after: int
    d: int = 1

    @property
    def span(self) -> int:
        """How many inputs one window spans: d(K - 1) + 1."""
        return self.d * (self.k - 1) + 1

    @property
    def padded(self) -> int:
        return self.before + self.n + self.after

    @property
    def out(self) -> int:
        return (self.padded - self.span) // self.s + 1

    @property
    def reach(self) -> int:
        """The last index of the padded input that a window reads."""
        return (self.out - 1) * self.s + self.span - 1

    @property
    def leftover(self) -> int:
        """Indices after the last window's reach: (N_in + 2P - span) mod S."""
        return self.padded - 1 - self.reach

    def lost(self) -> tuple[int, int]:
        """The leftover split into (padding, input pixels): the far side's padding comes first, then
        the input, then (when the windows never even reach the input) the near side's padding."""
        real = min(self.n, max(0, self.leftover - self.after))
        return self.leftover - real, real

    def unread(self) -> int:
        """Input pixels that no window reads anywhere: the leftover's, and those skipped between
        windows when the stride is longer than a window, or inside dilated windows."""
        if self.d == 1 and self.s <= self.k:  # consecutive windows overlap or touch: no gaps
            return self.lost()[1]
        touched = np.zeros(self.padded, bool)
        if self.k <= self.out:  # mark tap by tap, or window by window: whichever loops less
            for j in range(self.k):
                touched[j * self.d : j * self.d + (self.out - 1) * self.s + 1 : self.s] = True
        else:
            for a in range(self.out):
                touched[a * self.s : a * self.s + self.span : self.d] = True
        return self.n - int(touched[self.before : self.before + self.n].sum())

    def formula(self) -> str:
        """The formula with numbers filled in, e.g. '(32 + 2*1 - 5)/2 + 1 = 15.5'."""
        pad = f"2*{self.before}" if self.before == self.after else f"{self.before} + {self.after}"
        kernel = str(self.k) if self.d == 1 else f"{self.d}*({self.k} - 1) - 1"
        value = (self.padded - self.span) / self.s + 1
        shown = str(int(value)) if value == int(value) else f"{value:g}"
        return f"({self.n} + {pad} - {kernel})/{self.s} + 1 = {shown}"


def formula(n: int, k: int, s: int, p, d: int = 1) -> str:
    """The formula with numbers filled in; p is the padding on each side, or (before, after)."""
    before, after = p if isinstance(p, tuple) else (p, p)
    return Axis(n, k, s, before, after, d).formula()


class _Words:
    """How to speak of rows, columns, or both at once (when the two axes are alike)."""

    def __init__(self, *nouns: str):
        self.nouns = nouns  # ("row",), ("column",) or ("row", "column")

    def count(self, m: int) -> str:
        """'1 row', '2 columns', '1 row and 1 column'."""
        return " and ".join(f"{m} {noun}{'s' if m != 1 else ''}" for noun in self.nouns)

    def some(self, m: int, kind: str = "") -> str:
        """'the row', 'the 2 padding rows', 'the row and column'."""
        adjective = f"{kind} " if kind else ""
        if m == 1:
            return f"the {adjective}{' and '.join(self.nouns)}"
        return f"the {m} {adjective}{' and '.join(noun + 's' for noun in self.nouns)}"

    def verb(self, m: int) -> str:
        return "is" if m == 1 and len(self.nouns) == 1 else "are"


def leftover_text(a: Axis, words: _Words, size_word: str) -> str:
    """What flooring the output size leaves unread, said for one axis (or two alike)."""
    text = [
        f"{a.formula()} is not an integer, so the output {size_word} is {a.out} " + "(rounded down, as in PyTorch)."
    ]
    if a.out <= 3:
        starts = ", ".join(str(i * a.s) for i in range(a.out))
    else:
        starts = f"0, {a.s}, ..., {(a.out - 1) * a.s}"
    if a.before or a.after:
        where = (
            f"of the padded input (indices 0 to {a.padded - 1}, the input itself at {a.before} to {a.before + a.n - 1})"
        )
    else:
        where = f"of the input (indices 0 to {a.n - 1})"
    if a.out == 1:
        windows = f"The window starts at 0 {where} and reaches index {a.reach}"
    else:
        windows = f"The {a.out} windows start at {starts} {where} and the last one reaches index {a.reach}"
    m = a.leftover
    at = f"index {a.padded - 1}" if m == 1 else f"indices {a.padded - m} to {a.padded - 1}"
    padding, real = a.lost()
    if not real:
        text.append(
            f"{windows}: only padding is left over, {words.some(m, 'padding')} at {at}, "
            "which no window reads; no input pixel is lost."
        )
    else:
        others = f" (the other {words.count(padding)} {words.verb(padding)} padding)" if padding else ""
        text.append(
            f"{windows}: {words.some(m)} at {at} {words.verb(m)} left over, which no "
            f"window reads; {words.count(real)} of input pixels {words.verb(real)} "
            f"lost{others}."
        )
    unread = a.unread()
    if unread > real:
        if a.s > a.span:
            why = (
                f"the stride {a.s} is longer than a window (which spans {a.span} input"
                f"{'s' if a.span != 1 else ''}), so the windows skip inputs between them"
            )
        else:
            why = f"the dilated windows (dilation {a.d}) skip inputs that no other window reads"
        counts = " and ".join(f"{unread} of the {a.n} {noun}s" for noun in words.nouns)
        text.append(f"In all, {counts} of the input are never read: {why}.")
    return " ".join(text)


def pads(p) -> tuple:
    """Padding per axis as (before, after): an int is the same on both sides."""
    return tuple(q if isinstance(q, tuple) else (q, q) for q in p)


def window_out(layer, size: tuple, k: tuple, s: tuple, p: tuple, d: tuple = (1, 1)) -> tuple:
    """Output (Ho, Wo) for a sliding window; raises SpecError, adds warnings.

    p holds each axis's padding: an int for both sides, or (before, after).
    """
    axes = [Axis(n, kk, ss, before, after, dd) for n, kk, ss, (before, after), dd in zip(size, k, s, pads(p), d)]
    for name, a in zip(("height", "width"), axes):
        if a.span > a.padded:
            pad = f"2*{a.before}" if a.before == a.after else f"{a.before} + {a.after}"
            what = (
                f"kernel_size {a.k} is larger than"
                if a.d == 1
                else f"the dilated kernel spans {a.d}*({a.k} - 1) + 1 = {a.span} inputs, more than"
            )
            raise SpecError(
                layer.path,
                f"{what} the padded input {name} {a.n} + {pad} = {a.padded}; use a smaller kernel"
                + (" or dilation" if a.d > 1 else "")
                + ", more padding, or fewer downsampling layers before this one",
                "kernel_size",
            )
    inexact = [(name, a) for name, a in zip(("height", "width"), axes) if a.leftover]
    if len(inexact) == 2 and axes[0] == axes[1]:
        both = _Words("row", "column")
        layer.warnings.append(f"{layer.path}: {leftover_text(axes[0], both, 'size')}")
    else:
        for name, a in inexact:
            words = _Words("row" if name == "height" else "column")
            layer.warnings.append(f"{layer.path}: {leftover_text(a, words, name)}")
    texts = [a.formula() for a in axes]
    layer.formulas = texts if texts[0] != texts[1] else texts[:1]
    return tuple(a.out for a in axes)
