"""Control limits: F quantiles against printed tables, T² and Q limits against their formulas."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.alerts.limits import LimitError, f_quantile, q_limit, regularized_beta, t2_limit


@pytest.mark.parametrize(
    ("p", "d1", "d2", "expected"),
    [
        # Upper percentage points of F from standard tables (e.g. Montgomery, Appendix IV).
        (0.95, 2, 10, 4.10),
        (0.95, 3, 30, 2.92),
        (0.99, 5, 20, 4.10),
        (0.99, 1, 10, 10.04),
        (0.90, 4, 12, 2.48),
        (0.95, 1, 1e7, 3.841),  # F(1, ∞) = χ²(1)
    ],
)
def test_f_quantile_matches_table(p: float, d1: float, d2: float, expected: float) -> None:
    assert f_quantile(p, d1, d2) == pytest.approx(expected, abs=0.006)


@pytest.mark.parametrize(
    ("x", "a", "b", "expected"),
    [
        (0.5, 1.0, 1.0, 0.5),  # uniform
        (0.25, 1.0, 3.0, 1 - 0.75**3),  # I_x(1, b) = 1 − (1 − x)^b
        (0.6, 2.0, 1.0, 0.36),  # I_x(a, 1) = x^a
        (0.0, 2.0, 3.0, 0.0),
        (1.0, 2.0, 3.0, 1.0),
    ],
)
def test_regularized_beta_matches_closed_forms(
    x: float, a: float, b: float, expected: float
) -> None:
    assert regularized_beta(x, a, b) == pytest.approx(expected, abs=1e-10)


@given(
    st.floats(0.01, 0.99),
    st.floats(0.5, 20),
    st.floats(0.5, 200),
)
def test_regularized_beta_is_symmetric(x: float, a: float, b: float) -> None:
    assert regularized_beta(x, a, b) == pytest.approx(1 - regularized_beta(1 - x, b, a), abs=1e-9)


@given(st.floats(0.5, 0.999), st.integers(1, 10), st.integers(5, 500))
def test_f_quantile_inverts_the_cdf(p: float, d1: int, d2: int) -> None:
    f = f_quantile(p, d1, d2)
    assert regularized_beta(d1 * f / (d1 * f + d2), d1 / 2, d2 / 2) == pytest.approx(p, abs=1e-9)


def test_t2_limit_follows_the_phase_two_formula() -> None:
    # k = 2 components, n = 20 reference rows, α = 0.05: 2·19·21/(20·18) · F_0.95(2, 18) = 3.5546.
    assert t2_limit(20, 2, 0.05) == pytest.approx(2 * 19 * 21 / (20 * 18) * 3.5546, rel=1e-3)


def test_t2_limit_approaches_chi_square_for_many_rows() -> None:
    assert t2_limit(1_000_000, 3, 0.01) == pytest.approx(11.345, rel=1e-3)  # χ²_0.99(3)


@pytest.mark.parametrize(
    ("eigenvalues", "alpha", "chi2"),
    [
        ([2.0] * 5, 0.01, 15.086),  # Q = 2 · χ²(5) when the 5 discarded eigenvalues are equal
        ([1.0] * 10, 0.05, 18.307),
        ([0.5] * 3, 0.05, 7.815),
    ],
)
def test_q_limit_approximates_scaled_chi_square(
    eigenvalues: list[float], alpha: float, chi2: float
) -> None:
    assert q_limit(eigenvalues, alpha) == pytest.approx(eigenvalues[0] * chi2, rel=0.02)


def test_q_limit_is_infinite_without_discarded_components() -> None:
    assert math.isinf(q_limit([], 0.01))


@pytest.mark.parametrize(("p", "d1", "d2"), [(0.0, 1, 1), (1.0, 1, 1), (0.5, 0, 3), (0.5, 2, -1)])
def test_f_quantile_rejects_bad_arguments(p: float, d1: float, d2: float) -> None:
    with pytest.raises(LimitError):
        f_quantile(p, d1, d2)


def test_t2_limit_rejects_more_components_than_rows() -> None:
    with pytest.raises(LimitError):
        t2_limit(3, 3, 0.01)
