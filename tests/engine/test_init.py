"""weight_variance states the variance init_weight draws with, for every initializer."""

import numpy as np
import pytest

from engine.init import init_weight, weight_variance

KINDS = ["zeros", "normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "lecun_normal"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("fan_in", "fan_out"), [(75, 500), (64, 64), (9, 288)])
def test_weight_variance_is_the_variance_of_the_draws(kind, fan_in, fan_out):
    w = init_weight(kind, (400_000,), fan_in, fan_out, np.random.default_rng(0), std=0.3, dtype=np.float64)
    expected = weight_variance(kind, fan_in, fan_out, std=0.3)
    assert w.var() == pytest.approx(expected, rel=0.01, abs=1e-12)


def test_weight_variance_by_the_formulas():
    assert weight_variance("xavier_normal", 75, 500) == 2 / 575
    assert weight_variance("he_normal", 75, 500) == 2 / 75
    assert weight_variance("lecun_normal", 75, 500) == 1 / 75
    assert weight_variance("normal", 75, 500, std=0.5) == 0.25
    with pytest.raises(ValueError, match="unknown init 'glorot'"):
        weight_variance("glorot", 1, 1)
