"""The robustness scores, against hand-computed values and their defining properties."""

from __future__ import annotations

from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promptkit.perturb.scores import attack_success, pass_at_k, pass_rate, pdr, sensitivity, spread


def test_pass_rate_ignores_errors() -> None:
    assert pass_rate(["pass", "fail", "error", "pass"]) == pytest.approx(2 / 3)
    assert pass_rate(["error"]) is None


def test_pdr_spread_and_sensitivity() -> None:
    assert pdr(1.0, [1.0, 0.5, 0.0]) == pytest.approx(0.5)
    assert pdr(0.0, [1.0]) is None
    assert pdr(0.5, [1.0]) == pytest.approx(-1.0)  # an improvement is a negative drop
    assert spread([0.2, 0.9, 0.5]) == pytest.approx(0.7)
    assert sensitivity("billing", ["billing", "billing"]) == 0.0
    assert sensitivity("abc", ["xyz"]) == 1.0
    assert sensitivity(None, ["x"]) is None


@given(st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_is_the_unbiased_estimator(nck: tuple[int, int, int]) -> None:
    n, c, k = nck
    got = pass_at_k(n, c, k)
    assert 0.0 <= got <= 1.0
    assert got == pytest.approx(1 - comb(n - c, k) / comb(n, k))
    if c:
        assert got >= c / n - 1e-12  # at least the single-sample rate
    assert pass_at_k(n, c, min(n, k + 1)) >= got - 1e-12  # more samples, more chances


def test_attack_success_shows_what_pooling_hides() -> None:
    # one jailbreak lands 1 time in 5, four never do: pooled 5%, but pass@5 says 20% of attacks land
    followed = [[True, False, False, False, False]] + [[False] * 5] * 4
    pooled, at_k = attack_success(followed, 5)
    assert pooled == pytest.approx(1 / 25)
    assert at_k == pytest.approx(1 / 5)
    assert attack_success([], 3) == (None, None)
