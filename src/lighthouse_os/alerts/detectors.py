"""Streaming anomaly detectors: robust z-score, EWMA chart, PCA T²+Q, with alarm filtering."""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, Self

import numpy as np
import numpy.typing as npt

from lighthouse_os.alerts.limits import q_limit, t2_limit

# This core uses numpy (issue "Alerts and anomaly detection"): PCA needs an eigen-decomposition and
# batch scoring of a month of 1 s data must be vectorised.
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MAD_TO_SIGMA = 1.4826  # 1 / Φ⁻¹(0.75): MAD of a normal sample × 1.4826 estimates σ
MEAN_AD_TO_SIGMA = 1.2533  # sqrt(π/2): mean absolute deviation × 1.2533 estimates σ


class DetectorError(ValueError):
    """A detector cannot be fitted or used with the data given."""


class LimitMethod(StrEnum):
    """How control limits are derived from the reference (training) period."""

    PARAMETRIC = "parametric"  # F distribution for T², Jackson–Mudholkar for Q
    EMPIRICAL = "empirical"  # the (1 − α) quantile of the statistic over the reference rows


@dataclass(frozen=True)
class Seasonality:
    """A repeating profile: `period` split into `buckets` equal slots, read on a local clock."""

    period: timedelta = timedelta(days=1)
    buckets: int = 24
    utc_offset: timedelta = timedelta(hours=7)  # Ho Chi Minh City local time, for shift patterns

    def __post_init__(self) -> None:
        if self.buckets < 1 or self.period <= timedelta(0):
            raise DetectorError("seasonality needs a positive period and at least one bucket")

    def bucket(self, ts: datetime) -> int:
        """Slot of `ts`: floor(((ts + offset) mod period) / (period / buckets))."""
        if ts.tzinfo is None:
            raise DetectorError("timestamps must be timezone-aware / thời điểm phải có múi giờ")
        seconds = (ts.timestamp() + self.utc_offset.total_seconds()) % self.period.total_seconds()
        return min(int(seconds * self.buckets / self.period.total_seconds()), self.buckets - 1)


@dataclass(frozen=True)
class AlarmPolicy:
    """Noise control applied to a detector's normalised score (1.0 = the control limit).

    - `sensitivity` multiplies the score before the comparison: 2.0 halves every limit.
    - `smoothing`: median of the last N scores, so one spike does not raise an alarm.
    - `persistence`: N consecutive smoothed exceedances are needed to raise.
    - `clear_level`: hysteresis, an alarm clears only when the smoothed score falls below it.
    """

    sensitivity: float = 1.0
    smoothing: int = 1
    persistence: int = 1
    clear_level: float = 1.0

    def __post_init__(self) -> None:
        if self.sensitivity <= 0 or self.smoothing < 1 or self.persistence < 1:
            raise DetectorError("sensitivity must be > 0; smoothing and persistence >= 1")
        if not 0 <= self.clear_level <= 1:
            raise DetectorError("clear_level must be within [0, 1]")


class AlarmFilter:
    """Streaming state of an `AlarmPolicy`: turns normalised scores into an on/off alarm."""

    def __init__(self, policy: AlarmPolicy) -> None:
        self.policy = policy
        self.reset()

    def reset(self) -> None:
        self._recent: deque[float] = deque(maxlen=self.policy.smoothing)
        self._streak = 0
        self.active = False

    def update(self, score: float) -> bool:
        """Feed one score; a NaN (missing sample) leaves the alarm as it was."""
        if math.isnan(score):
            return self.active
        self._recent.append(score * self.policy.sensitivity)
        smoothed = statistics.median(self._recent)
        if self.active:
            self.active = smoothed >= self.policy.clear_level
            self._streak = 0
        else:
            self._streak = self._streak + 1 if smoothed > 1.0 else 0
            self.active = self._streak >= self.policy.persistence
        return self.active


@dataclass(frozen=True)
class Verdict:
    """One sample: normalised score (1.0 = limit), filtered alarm, per-signal shares (sum 1)."""

    score: float
    flag: bool
    contributions: dict[str, float]


@dataclass(frozen=True, eq=False)
class BatchVerdict:
    """Many samples in arrival order; `contributions` has one column per signal."""

    columns: tuple[str, ...]
    score: FloatArray
    flag: BoolArray
    contributions: FloatArray

    def row(self, i: int) -> Verdict:
        shares = dict(zip(self.columns, (float(v) for v in self.contributions[i]), strict=True))
        return Verdict(float(self.score[i]), bool(self.flag[i]), shares)


class Detector(Protocol):
    """What the rule service and the backtest need from any detector."""

    columns: tuple[str, ...]

    def fit(self, train: FloatArray, timestamps: Sequence[datetime] | None = None) -> Self: ...

    def score(self, row: Sequence[float], ts: datetime | None = None) -> Verdict: ...

    def score_batch(
        self, matrix: FloatArray, timestamps: Sequence[datetime] | None = None
    ) -> BatchVerdict: ...

    def reset(self) -> None: ...


def _as_matrix(data: FloatArray | Sequence[Sequence[float]], width: int) -> FloatArray:
    matrix = np.asarray(data, dtype=np.float64)
    if matrix.ndim == 1 and width == 1:
        matrix = matrix.reshape(-1, 1)
    if matrix.ndim != 2 or matrix.shape[1] != width:
        raise DetectorError(f"expected {width} column(s), got shape {matrix.shape}")
    return matrix


def _check_timestamps(timestamps: Sequence[datetime] | None, n: int, needed: bool) -> None:
    if needed and timestamps is None:
        raise DetectorError("a seasonal detector needs timestamps / cần thời điểm của mẫu")
    if timestamps is not None and len(timestamps) != n:
        raise DetectorError(f"{len(timestamps)} timestamps for {n} rows")


def _filter_scores(alarm: AlarmFilter, scores: FloatArray) -> BoolArray:
    return np.fromiter((alarm.update(float(s)) for s in scores), dtype=np.bool_, count=len(scores))


class _Univariate:
    """Shared plumbing of the one-signal detectors: seasonal buckets, batch loop, alarm."""

    def __init__(self, column: str, seasonality: Seasonality | None, policy: AlarmPolicy) -> None:
        self.columns: tuple[str, ...] = (column,)
        self.seasonality = seasonality
        self._alarm = AlarmFilter(policy)
        self._fitted = False

    def _buckets(self, timestamps: Sequence[datetime] | None, n: int) -> list[int]:
        _check_timestamps(timestamps, n, self.seasonality is not None)
        if self.seasonality is None or timestamps is None:
            return [0] * n
        return [self.seasonality.bucket(ts) for ts in timestamps]

    def _train(
        self, train: FloatArray, ts: Sequence[datetime] | None
    ) -> tuple[FloatArray, list[int]]:
        values = _as_matrix(train, 1)[:, 0]
        buckets = self._buckets(ts, len(values))
        keep = ~np.isnan(values)
        if keep.sum() < 10:
            raise DetectorError("at least 10 reference samples are needed / cần ít nhất 10 mẫu")
        return values[keep], [b for b, k in zip(buckets, keep, strict=True) if k]

    def _raw(self, value: float, bucket: int) -> float:
        raise NotImplementedError

    def score(self, row: Sequence[float], ts: datetime | None = None) -> Verdict:
        return self.score_batch(
            np.asarray([row], dtype=np.float64), None if ts is None else [ts]
        ).row(0)

    def score_batch(
        self, matrix: FloatArray, timestamps: Sequence[datetime] | None = None
    ) -> BatchVerdict:
        if not self._fitted:
            raise DetectorError("fit the detector on a reference period first")
        values = _as_matrix(matrix, 1)[:, 0]
        buckets = self._buckets(timestamps, len(values))
        scores = np.array([self._raw(float(v), b) for v, b in zip(values, buckets, strict=True)])
        shares = np.where(np.isnan(scores), 0.0, 1.0).reshape(-1, 1)
        return BatchVerdict(self.columns, scores, _filter_scores(self._alarm, scores), shares)

    def reset(self) -> None:
        self._alarm.reset()


def _robust_location_scale(values: FloatArray) -> tuple[float, float]:
    median = float(np.median(values))
    scale = MAD_TO_SIGMA * float(np.median(np.abs(values - median)))
    if scale == 0:
        # Quantised sensors often have MAD = 0; fall back to the mean absolute deviation.
        scale = MEAN_AD_TO_SIGMA * float(np.mean(np.abs(values - median)))
    return median, scale


class RobustZScore(_Univariate):
    """Modified z-score of one signal against its (seasonal) reference median and MAD."""

    def __init__(
        self,
        column: str,
        *,
        threshold: float = 3.5,
        seasonality: Seasonality | None = None,
        policy: AlarmPolicy = AlarmPolicy(),
    ) -> None:
        if threshold <= 0:
            raise DetectorError("threshold must be positive")
        super().__init__(column, seasonality, policy)
        self.threshold = threshold
        self._params: dict[int, tuple[float, float]] = {}

    def fit(self, train: FloatArray, timestamps: Sequence[datetime] | None = None) -> Self:
        """z = (x − median) / (1.4826 · MAD) (Iglewicz & Hoaglin 1993, modified z-score).

        With seasonality, median and MAD are taken per bucket; a bucket with fewer than 10
        reference samples uses the overall values.
        """
        values, buckets = self._train(train, timestamps)
        overall = _robust_location_scale(values)
        if overall[1] == 0:
            raise DetectorError(f"{self.columns[0]} is constant in the reference period")
        self._params = {-1: overall}
        for b in set(buckets):
            own = values[np.asarray(buckets) == b]
            loc, scale = _robust_location_scale(own) if len(own) >= 10 else overall
            self._params[b] = (loc, scale if scale > 0 else overall[1])
        self._fitted = True
        return self

    def _raw(self, value: float, bucket: int) -> float:
        loc, scale = self._params.get(bucket, self._params[-1])
        return abs(value - loc) / scale / self.threshold


class EwmaChart(_Univariate):
    """EWMA control chart of one signal (Roberts 1959), optionally on seasonal residuals."""

    def __init__(
        self,
        column: str,
        *,
        lam: float = 0.1,
        width: float = 3.0,
        seasonality: Seasonality | None = None,
        policy: AlarmPolicy = AlarmPolicy(),
    ) -> None:
        if not 0 < lam <= 1 or width <= 0:
            raise DetectorError("EWMA needs 0 < λ <= 1 and a positive limit width L")
        super().__init__(column, seasonality, policy)
        self.lam, self.width = lam, width
        self._means: dict[int, float] = {}
        self._sigma = 0.0
        self.reset()

    def fit(self, train: FloatArray, timestamps: Sequence[datetime] | None = None) -> Self:
        """Reference mean μ (per season bucket) and σ of the residuals x − μ (ddof = 1)."""
        values, buckets = self._train(train, timestamps)
        key = np.asarray(buckets)
        self._means = {b: float(values[key == b].mean()) for b in set(buckets)}
        self._means[-1] = float(values.mean())
        residuals = values - np.array([self._means[b] for b in buckets])
        self._sigma = float(residuals.std(ddof=1))
        if self._sigma == 0:
            raise DetectorError(f"{self.columns[0]} is constant in the reference period")
        self._fitted = True
        self.reset()
        return self

    def reset(self) -> None:
        super().reset()
        self._z, self._steps = 0.0, 0

    def _raw(self, value: float, bucket: int) -> float:
        """z_t = λ r_t + (1 − λ) z_{t−1}; limit L σ sqrt(λ/(2 − λ) · (1 − (1 − λ)^{2t})).

        Montgomery, Introduction to Statistical Quality Control, EWMA chart (exact limits).
        Returns |z_t| divided by the limit.
        """
        if math.isnan(value):
            return math.nan
        self._steps += 1
        residual = value - self._means.get(bucket, self._means[-1])
        self._z = self.lam * residual + (1 - self.lam) * self._z
        growth = 1 - (1 - self.lam) ** (2 * self._steps)
        limit = self.width * self._sigma * math.sqrt(self.lam / (2 - self.lam) * growth)
        return abs(self._z) / limit


class PcaT2Q:
    """Multivariate monitor of one machine: PCA with Hotelling T² and Q (SPE) statistics."""

    def __init__(
        self,
        columns: Sequence[str],
        *,
        explained_variance: float = 0.9,
        alpha: float = 0.01,
        limits: LimitMethod = LimitMethod.PARAMETRIC,
        scale_inflation: Sequence[float] | None = None,
        policy: AlarmPolicy = AlarmPolicy(),
    ) -> None:
        if len(columns) < 2:
            raise DetectorError("PCA T²+Q needs at least two signals")
        if not 0 < explained_variance <= 1 or not 0 < alpha < 1:
            raise DetectorError("explained_variance must be in (0, 1] and alpha in (0, 1)")
        inflation = [1.0] * len(columns) if scale_inflation is None else list(scale_inflation)
        if len(inflation) != len(columns) or min(inflation) < 1:
            raise DetectorError("one scale_inflation factor >= 1 per column is needed")
        self.columns = tuple(columns)
        self.explained_variance, self.alpha, self.limits = explained_variance, alpha, limits
        # Extra variance a short reference period does not show, in units of its own variance.
        self._extra = np.diag(np.asarray(inflation, dtype=np.float64) ** 2 - 1)
        self._alarm = AlarmFilter(policy)
        self.n_components = 0
        self.t2_limit = self.q_limit = math.nan

    def fit(self, train: FloatArray, timestamps: Sequence[datetime] | None = None) -> Self:
        """Standardise, keep k components explaining `explained_variance`, derive limits at α.

        z = (x − mean) / sd; C = corr + diag(f² − 1) for the scale inflation factors f, so a
        signal's normal spread is taken as f times what the reference shows; λ, P from C.
        T² = Σ_a t_a² / λ_a with t = Pᵀz; Q = ‖z − P t‖². Empirical limits ignore f.
        """
        data = _as_matrix(train, len(self.columns))
        data = data[~np.isnan(data).any(axis=1)]
        n, m = data.shape
        if n < max(2 * m, m + 10):
            raise DetectorError(f"{n} complete reference rows are too few for {m} signals")
        self._mean = data.mean(axis=0)
        sd = data.std(axis=0, ddof=1)
        if constant := [c for c, s in zip(self.columns, sd, strict=True) if s == 0]:
            raise DetectorError(f"constant in the reference period / không đổi: {constant}")
        self._scale = sd
        covariance = np.cov(((data - self._mean) / sd).T) + self._extra
        eigenvalues, vectors = np.linalg.eigh(covariance)
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues, vectors = np.clip(eigenvalues[order], 1e-12, None), vectors[:, order]
        share = np.cumsum(eigenvalues) / eigenvalues.sum()
        k = min(int(np.searchsorted(share, self.explained_variance - 1e-12)) + 1, m)
        self.n_components, self._loadings, self._eigen = k, vectors[:, :k], eigenvalues[:k]
        self._set_limits(data, eigenvalues[k:], n)
        self._alarm.reset()
        return self

    def _set_limits(self, data: FloatArray, residual_eigenvalues: FloatArray, n: int) -> None:
        if self.limits is LimitMethod.EMPIRICAL:
            t2, q, _, _ = self._statistics(data)
            self.t2_limit = float(np.quantile(t2, 1 - self.alpha))
            self.q_limit = (
                float(np.quantile(q, 1 - self.alpha)) if len(residual_eigenvalues) else math.inf
            )
        else:
            self.t2_limit = t2_limit(n, self.n_components, self.alpha)
            self.q_limit = q_limit(residual_eigenvalues.tolist(), self.alpha)
        self.t2_limit = max(self.t2_limit, 1e-12)
        self.q_limit = max(self.q_limit, 1e-12)

    def _statistics(
        self, data: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """T², Q and their complete-decomposition contributions (Alcala & Qin 2009).

        CDC_T²_j = ((P Λ^{-1/2} Pᵀ z)_j)² and CDC_Q_j = (z − P Pᵀ z)_j²; each sums to its index.
        """
        z = (data - self._mean) / self._scale
        scores = z @ self._loadings
        t2_parts = ((scores / np.sqrt(self._eigen)) @ self._loadings.T) ** 2
        q_parts = (z - scores @ self._loadings.T) ** 2
        return t2_parts.sum(axis=1), q_parts.sum(axis=1), t2_parts, q_parts

    def score(self, row: Sequence[float], ts: datetime | None = None) -> Verdict:
        return self.score_batch(np.asarray([row], dtype=np.float64)).row(0)

    def score_batch(
        self, matrix: FloatArray, timestamps: Sequence[datetime] | None = None
    ) -> BatchVerdict:
        """score = max(T²/T²_lim, Q/Q_lim); shares ∝ CDC_T²/T²_lim + CDC_Q/Q_lim (sum 1)."""
        if not self.n_components:
            raise DetectorError("fit the detector on a reference period first")
        data = _as_matrix(matrix, len(self.columns))
        t2, q, t2_parts, q_parts = self._statistics(data)
        score = np.maximum(t2 / self.t2_limit, q / self.q_limit)
        parts = np.nan_to_num(t2_parts / self.t2_limit + q_parts / self.q_limit)
        total = parts.sum(axis=1, keepdims=True)
        shares = np.divide(parts, total, out=np.zeros_like(parts), where=total > 0)
        return BatchVerdict(self.columns, score, _filter_scores(self._alarm, score), shares)

    def reset(self) -> None:
        self._alarm.reset()


def drift_inflation(
    normal: FloatArray, reference: int, horizon: int, *, quantile: float = 0.99
) -> FloatArray:
    """Per-signal factor ≥ 1 by which a short reference period under-states normal variation.

    Over a long anomaly-free record, each window of `reference` rows is followed by `horizon`
    rows; factor_j = q-quantile of |x_j − mean_ref| / sd_ref divided by the normal quantile
    z_{(1+q)/2}. Slowly drifting signals (temperatures) get factors well above 1.
    """
    data = np.asarray(normal, dtype=np.float64)
    if len(data) < reference + horizon:
        raise DetectorError("the normal record is shorter than reference + horizon")
    step = max(1, reference // 2)
    deviations = []
    for start in range(0, len(data) - reference - horizon + 1, step):
        ref = data[start : start + reference]
        sd = ref.std(axis=0, ddof=1)
        sd[sd == 0] = np.nan
        later = data[start + reference : start + reference + horizon]
        deviations.append(np.abs(later - ref.mean(axis=0)) / sd)
    observed = np.nanquantile(np.concatenate(deviations), quantile, axis=0)
    expected = statistics.NormalDist().inv_cdf((1 + quantile) / 2)
    return np.asarray(
        np.maximum(1.0, np.nan_to_num(observed / expected, nan=1.0)), dtype=np.float64
    )
