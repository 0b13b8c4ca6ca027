"""What flooring an output size leaves unread: the engine's rule against a brute-force count of
the padded indices the windows read, and the warning it gives for the lecture's example."""

import numpy as np
import pytest

import engine
from engine.layers.shape import Axis


def conv(**kw):
    return {"type": "conv2d", "out_channels": 20, "kernel_size": 5, **kw}


def warnings_of(spec):
    return engine.summarize(spec)["warnings"]


def test_the_lectures_example_leaves_only_padding_unread():
    """3x32x32, 20 filters 5x5, P=1, S=2: the padded input is 34 wide, the 15 windows start at
    0, 2, ..., 28 and the last reaches index 32, the last real pixel; only index 33 is unread."""
    (w,) = warnings_of({"input": [3, 32, 32], "layers": [conv(padding=1, stride=2)]})
    assert w == (
        "layers[0]: (32 + 2*1 - 5)/2 + 1 = 15.5 is not an integer, so the output size is 15 "
        "(rounded down, as in PyTorch). The 15 windows start at 0, 2, ..., 28 of the padded input "
        "(indices 0 to 33, the input itself at 1 to 32) and the last one reaches index 32: only "
        "padding is left over, the padding row and column at index 33, which no window reads; "
        "no input pixel is lost."
    )
    assert "not covered" not in w


def test_without_padding_one_real_row_and_column_are_lost():
    """(32 + 0 - 5)/2 + 1 = 14.5: the windows reach index 30, and index 31 is a real pixel."""
    (w,) = warnings_of({"input": [3, 32, 32], "layers": [conv(padding=0, stride=2)]})
    assert w.startswith("layers[0]: (32 + 2*0 - 5)/2 + 1 = 14.5 is not an integer, so the output size is 14")
    assert "the last one reaches index 30: the row and column at index 31 are left over" in w
    assert w.endswith("1 row and 1 column of input pixels are lost.")


def test_a_leftover_longer_than_the_padding_loses_the_rest_in_real_pixels():
    # height: (10 + 2 - 4)/3 + 1 = 3.67, windows at 0, 3, 6 reach 9; 10 is real, 11 is padding.
    # width: (11 + 2 - 4)/3 + 1 = 4 exactly: no warning for it
    (w,) = warnings_of({"input": [1, 10, 11], "layers": [conv(kernel_size=4, padding=1, stride=3)]})
    assert "output height is 3" in w and "width" not in w
    assert "the 2 rows at indices 10 to 11 are left over" in w
    assert w.endswith("1 row of input pixels is lost (the other 1 row is padding).")


def test_a_stride_longer_than_the_window_says_how_much_is_never_read():
    """ResNet's 1x1 stride-2 shortcut: the last row, and every other row before it, are unread."""
    (w,) = warnings_of({"input": [4, 56, 56], "layers": [conv(kernel_size=1, stride=2)]})
    assert "1 row and 1 column of input pixels are lost" in w
    assert "In all, 28 of the 56 rows and 28 of the 56 columns of the input are never read" in w


@pytest.mark.parametrize("preset", ["resnet18", "googlenet", "alexnet"])
def test_the_famous_presets_get_no_false_explanation(preset):
    for w in engine.summarize(engine.PRESETS[preset])["warnings"]:
        assert "not covered" not in w and "is not an integer, so the output" in w


def brute_force(a: Axis):
    """Read every window tap by tap: (windows, padded indices read)."""
    windows = [start for start in range(a.padded) if start + a.span <= a.padded][:: a.s]
    read = {start + j * a.d for start in windows for j in range(a.k)}
    return len(windows), read


@pytest.mark.parametrize("seed", range(6))
def test_the_leftover_rule_agrees_with_a_brute_force_count(seed):
    """Stride, padding on both sides (unequal, as "same" pads an even span), dilation."""
    rng = np.random.default_rng(seed)
    checked = 0
    while checked < 400:
        n, k, s, d = (int(v) for v in (rng.integers(1, 30), rng.integers(1, 7), rng.integers(1, 6), rng.integers(1, 4)))
        before, after = (int(v) for v in rng.integers(0, 5, 2))
        a = Axis(n, k, s, before, after, d)
        if a.span > a.padded:
            continue
        checked += 1
        windows, read = brute_force(a)
        assert a.out == windows
        assert a.reach == max(read)
        trailing = [i for i in range(a.padded) if i > max(read)]
        assert a.leftover == len(trailing) == (a.padded - a.span) % s
        padding, real = a.lost()
        assert real == sum(before <= i < before + n for i in trailing)
        assert padding == len(trailing) - real
        assert a.unread() == sum(i not in read for i in range(before, before + n))
        # the rule in words: input pixels are lost at the end only when the leftover is more
        # than the padding on that side
        assert (real > 0) == (a.leftover > after)


@pytest.mark.parametrize("k,d", [(2, 1), (4, 1), (2, 3), (3, 2)])
def test_same_padding_of_an_even_span_pads_the_far_side_more(k, d):
    a_span = d * (k - 1) + 1
    layer = conv(out_channels=1, kernel_size=k, dilation=d, padding="same")
    spec = {"input": [1, 9, 9], "layers": [layer]}
    s = engine.summarize(spec)
    assert s["layers"][0]["output_shape"] == [1, 9, 9] and s["warnings"] == []
    before, after = (a_span - 1) // 2, a_span - 1 - (a_span - 1) // 2
    expected = Axis(9, k, 1, before, after, d).formula()
    assert s["layers"][0]["formulas"] == [expected]
    if (a_span - 1) % 2:
        assert f"9 + {before} + {after} -" in expected
