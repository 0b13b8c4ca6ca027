"""The lecture's output-size formula, applied per spatial axis with its words.

    N_out = (N_in + 2P - K)/S + 1

When the division is not exact the size is floored (as in PyTorch) and the
layer carries a warning that shows the formula with its numbers.
"""

from __future__ import annotations

from ..errors import SpecError


def formula(n: int, k: int, s: int, p: int) -> str:
    """The formula with numbers filled in, e.g. '(32 + 2*1 - 5)/2 + 1 = 15.5'."""
    value = (n + 2 * p - k) / s + 1
    shown = f"{value:g}" if value != int(value) else str(int(value))
    return f"({n} + 2*{p} - {k})/{s} + 1 = {shown}"


def window_out(layer, size: tuple, k: tuple, s: tuple, p: tuple) -> tuple:
    """Output (Ho, Wo) for a sliding window; raises SpecError, adds warnings."""
    out = []
    texts = []
    for axis, n, kk, ss, pp in zip(("height", "width"), size, k, s, p):
        if kk > n + 2 * pp:
            raise SpecError(
                layer.path,
                f"kernel_size {kk} is larger than the padded input {axis} {n} + 2*{pp} = {n + 2 * pp}; "
                "use a smaller kernel, more padding, or fewer downsampling layers before this one",
                "kernel_size")
        o = (n + 2 * pp - kk) // ss + 1
        texts.append(formula(n, kk, ss, pp))
        if (n + 2 * pp - kk) % ss:
            layer.warnings.append(
                f"{layer.path}: {formula(n, kk, ss, pp)} is not an integer; the last input "
                f"{'rows' if axis == 'height' else 'columns'} are not covered (output {axis} {o})")
        out.append(o)
    if len(layer.warnings) == 2 and size[0] == size[1] and k[0] == k[1] and s[0] == s[1] and p[0] == p[1]:
        layer.warnings = [layer.warnings[0].replace("last input rows are", "last input row and column are")
                          .replace("output height", "output size")]
    layer.formulas = texts if texts[0] != texts[1] else texts[:1]
    return tuple(out)
