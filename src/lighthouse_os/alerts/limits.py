"""Control limits for multivariate monitoring: F quantile, Hotelling T² and Q (SPE) limits."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


class LimitError(ValueError):
    """A control limit cannot be computed from the arguments given."""


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function, modified Lentz evaluation."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < 1e-14:
            break
    return result


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) = B(x; a, b) / B(a, b), by continued fraction (Abramowitz & Stegun 26.5.8)."""
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    log_front = a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b)
    front = math.exp(log_front - math.lgamma(a) - math.lgamma(b))
    # The fraction converges fast only below the mean; use I_x(a,b) = 1 − I_{1−x}(b,a) above it.
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1 - front * _betacf(b, a, 1 - x) / b


def f_quantile(p: float, d1: float, d2: float) -> float:
    """Quantile of Fisher's F(d1, d2): P(F <= f) = I_{d1 f/(d1 f + d2)}(d1/2, d2/2); bisection."""
    if not 0 < p < 1 or d1 <= 0 or d2 <= 0:
        raise LimitError("F quantile needs 0 < p < 1 and positive degrees of freedom")
    low, high = 0.0, 1.0
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if regularized_beta(mid, d1 / 2, d2 / 2) < p else (low, mid)
    x = (low + high) / 2
    return d2 * x / (d1 * (1 - x))


def t2_limit(n: int, k: int, alpha: float) -> float:
    """T² limit for a new observation: k (n−1)(n+1) / (n (n−k)) · F_{1−α}(k, n−k).

    Tracy, Young & Mason (1992), phase II limit when mean and covariance come from n rows.
    """
    if not 0 < k < n:
        raise LimitError("T² limit needs 0 < k < n")
    return k * (n - 1) * (n + 1) / (n * (n - k)) * f_quantile(1 - alpha, k, n - k)


def q_limit(residual_eigenvalues: Sequence[float], alpha: float) -> float:
    """Q (SPE) limit of Jackson & Mudholkar (1979); ∞ when no component is discarded.

    θ_i = Σ λ_j^i over discarded components; h0 = 1 − 2 θ1 θ3 / (3 θ2²);
    Q_α = θ1 [c_α sqrt(2 θ2 h0²)/θ1 + 1 + θ2 h0 (h0 − 1)/θ1²]^(1/h0), c_α the normal quantile.
    """
    lam = [max(float(v), 0.0) for v in residual_eigenvalues]
    t1, t2, t3 = (sum(v**i for v in lam) for i in (1, 2, 3))
    if t1 <= 0:
        return math.inf
    h0 = 1 - 2 * t1 * t3 / (3 * t2**2)
    c = statistics.NormalDist().inv_cdf(1 - alpha)
    inner = c * math.sqrt(2 * t2 * h0**2) / t1 + 1 + t2 * h0 * (h0 - 1) / t1**2
    return float(t1 * max(inner, 1e-12) ** (1 / h0))
