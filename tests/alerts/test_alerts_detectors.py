"""Detectors on synthetic data: robust z, EWMA, PCA T²+Q, alarm filtering, drift inflation."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.alerts.detectors import (
    AlarmFilter,
    AlarmPolicy,
    DetectorError,
    EwmaChart,
    FloatArray,
    LimitMethod,
    PcaT2Q,
    RobustZScore,
    Seasonality,
    drift_inflation,
)

SIGNALS = ("flow", "pressure", "current", "vibration")


def correlated(rows: int, seed: int) -> FloatArray:
    """Three signals driven by one latent load (flow, pressure, current) and one independent."""
    rng = np.random.default_rng(seed)
    load = rng.normal(0, 1, rows)
    noise = rng.normal(0, 0.2, (rows, 4))
    base = np.column_stack(
        [10 + 2 * load, 3 + 1 * load, 5 - 1.5 * load, 0.5 * rng.normal(0, 1, rows)]
    )
    return np.asarray(base + noise * np.array([1, 1, 1, 0]), dtype=np.float64)


# --- alarm filter -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "scores", "expected"),
    [
        (AlarmPolicy(), [0.5, 1.2, 0.9, 1.0], [False, True, False, False]),
        # a single spike is removed by a median of 3
        (AlarmPolicy(smoothing=3), [0.1, 0.1, 5.0, 0.1, 0.1], [False] * 5),
        (
            AlarmPolicy(smoothing=3),
            [0.1, 0.1, 5.0, 5.0, 0.1, 0.1],
            [False, False, False, True, True, False],
        ),
        # a median over the samples seen so far at the start of a stream
        (AlarmPolicy(smoothing=3), [5.0, 0.1, 0.1], [True, True, False]),
        # persistence: two consecutive exceedances before raising
        (AlarmPolicy(persistence=2), [1.5, 0.5, 1.5, 1.5, 1.5], [False, False, False, True, True]),
        # hysteresis: stays on until the score falls below 0.6
        (AlarmPolicy(clear_level=0.6), [1.5, 0.8, 0.7, 0.5, 0.8], [True, True, True, False, False]),
        # sensitivity 2 halves the limit
        (AlarmPolicy(sensitivity=2.0), [0.4, 0.6], [False, True]),
        # a missing sample holds the current state
        (AlarmPolicy(), [1.5, math.nan, 0.2], [True, True, False]),
    ],
)
def test_alarm_filter_applies_policy(
    policy: AlarmPolicy, scores: list[float], expected: list[bool]
) -> None:
    alarm = AlarmFilter(policy)
    assert [alarm.update(s) for s in scores] == expected


@given(
    st.lists(st.floats(0, 3), min_size=1, max_size=60),
    st.integers(1, 5),
)
def test_alarm_filter_raises_only_after_persistent_exceedance(
    scores: list[float], persistence: int
) -> None:
    alarm = AlarmFilter(AlarmPolicy(persistence=persistence))
    flags = [alarm.update(s) for s in scores]
    for i, flag in enumerate(flags):
        if flag and (i == 0 or not flags[i - 1]):
            assert i + 1 >= persistence
            assert all(s > 1 for s in scores[i + 1 - persistence : i + 1])


@pytest.mark.parametrize(
    "kwargs",
    [{"sensitivity": 0.0}, {"smoothing": 0}, {"persistence": 0}, {"clear_level": 1.5}],
)
def test_alarm_policy_rejects_bad_values(kwargs: dict[str, float]) -> None:
    with pytest.raises(DetectorError):
        AlarmPolicy(**kwargs)  # type: ignore[arg-type]


# --- robust z-score ---------------------------------------------------------------------------


def test_robust_z_score_matches_modified_z_formula() -> None:
    # median 10, MAD 5, σ̂ = 1.4826 · 5; x = 40 gives z = 30 / 7.413 = 4.047, over 3.5.
    detector = RobustZScore("temp", threshold=3.5).fit(np.arange(21, dtype=float))
    verdict = detector.score([40.0])
    assert verdict.score == pytest.approx(30 / (1.4826 * 5) / 3.5)
    assert verdict.flag
    assert verdict.contributions == {"temp": 1.0}


def test_robust_z_score_ignores_outliers_in_the_reference() -> None:
    train = np.concatenate([np.random.default_rng(1).normal(50, 1, 200), [500.0, 900.0]])
    detector = RobustZScore("temp").fit(train)
    assert not detector.score([51.0]).flag
    assert detector.score([56.0]).flag


def test_robust_z_score_falls_back_to_mean_deviation_when_mad_is_zero() -> None:
    train = np.array([32.0] * 15 + [32.5] * 3 + [31.5] * 2)  # quantised sensor: MAD = 0
    detector = RobustZScore("flow").fit(train)
    assert math.isfinite(detector.score([33.0]).score)


def test_robust_z_score_with_seasonality_uses_the_slot_profile() -> None:
    season = Seasonality(period=timedelta(days=1), buckets=2, utc_offset=timedelta(0))
    start = datetime(2025, 11, 3, tzinfo=UTC)
    stamps = [start + timedelta(hours=h) for h in range(24 * 7)]
    rng = np.random.default_rng(3)
    train = np.array([(100.0 if t.hour >= 12 else 20.0) + rng.normal(0, 2) for t in stamps])
    detector = RobustZScore("kw", seasonality=season).fit(train, stamps)
    night, day = start + timedelta(days=8, hours=3), start + timedelta(days=8, hours=15)
    assert detector.score([100.0], night).flag
    detector.reset()
    assert not detector.score([100.0], day).flag


def test_seasonal_detector_needs_timestamps() -> None:
    detector = RobustZScore("kw", seasonality=Seasonality())
    with pytest.raises(DetectorError):
        detector.fit(np.arange(30, dtype=float))


def test_robust_z_score_rejects_constant_reference() -> None:
    with pytest.raises(DetectorError):
        RobustZScore("x").fit(np.ones(50))


# --- EWMA chart -------------------------------------------------------------------------------


def test_ewma_first_score_equals_shewhart_score() -> None:
    # At t = 1 the exact EWMA limit is L σ λ and z = λ r, so the score is |r| / (L σ).
    train = np.array([9.0, 11.0] * 20)
    chart = EwmaChart("x", lam=0.2, width=3.0).fit(train)
    sigma = float(np.std(train, ddof=1))
    assert chart.score([14.0]).score == pytest.approx(4.0 / (3.0 * sigma))


def test_ewma_detects_small_sustained_shift_that_robust_z_misses() -> None:
    rng = np.random.default_rng(7)
    train = rng.normal(0, 1, 500)
    shifted = rng.normal(0.8, 1, 300)
    ewma = EwmaChart("x", lam=0.05, width=3.0).fit(train).score_batch(shifted)
    robust = RobustZScore("x", threshold=3.5).fit(train).score_batch(shifted)
    assert ewma.flag[100:].mean() > 0.9
    assert robust.flag.mean() < 0.1


def test_ewma_streaming_matches_batch() -> None:
    rng = np.random.default_rng(2)
    train, live = rng.normal(0, 1, 100), rng.normal(0.5, 1, 50)
    batch = EwmaChart("x").fit(train).score_batch(live)
    stream = EwmaChart("x").fit(train)
    scores = [stream.score([v]).score for v in live]
    assert scores == pytest.approx(batch.score.tolist())


def test_ewma_rejects_bad_parameters() -> None:
    with pytest.raises(DetectorError):
        EwmaChart("x", lam=0.0)


# --- PCA T² + Q -------------------------------------------------------------------------------


def test_pca_false_alarm_rate_on_normal_data_is_near_alpha() -> None:
    detector = PcaT2Q(SIGNALS, alpha=0.01).fit(correlated(2000, seed=1))
    batch = detector.score_batch(correlated(20000, seed=2))
    # T² or Q each at α = 0.01: the union stays below about 2α.
    assert 0.003 < float(np.mean(batch.score > 1)) < 0.03


def test_pca_empirical_limits_put_alpha_of_reference_above() -> None:
    train = correlated(5000, seed=4)
    detector = PcaT2Q(SIGNALS, alpha=0.05, limits=LimitMethod.EMPIRICAL).fit(train)
    over = float(np.mean(detector.score_batch(train).score > 1))
    assert 0.05 <= over <= 0.10  # T² above its 95 % quantile, or Q above its own


@pytest.mark.parametrize("broken", [0, 1, 2])
def test_pca_flags_broken_correlation_and_names_the_signal(broken: int) -> None:
    detector = PcaT2Q(SIGNALS, explained_variance=0.9, alpha=0.01).fit(correlated(1000, seed=5))
    live = correlated(200, seed=6)
    live[100:, broken] += 2.0  # within each signal's normal range, but against the others
    batch = detector.score_batch(live)
    assert batch.flag[100:].mean() > 0.9
    assert batch.flag[:100].mean() < 0.1
    shares = batch.contributions[100:].mean(axis=0)
    assert SIGNALS[int(np.argmax(shares))] == SIGNALS[broken]


def test_pca_contributions_are_shares_summing_to_one() -> None:
    detector = PcaT2Q(SIGNALS).fit(correlated(500, seed=8))
    batch = detector.score_batch(correlated(50, seed=9))
    assert np.all(batch.contributions >= 0)
    assert batch.contributions.sum(axis=1) == pytest.approx(np.ones(50))


def test_pca_scale_inflation_lowers_a_drifting_signals_weight() -> None:
    train = correlated(1000, seed=10)
    live = correlated(100, seed=11)
    live[:, 3] += 3.0  # the independent signal drifts
    plain = PcaT2Q(SIGNALS).fit(train).score_batch(live)
    inflated = PcaT2Q(SIGNALS, scale_inflation=[1, 1, 1, 4]).fit(train).score_batch(live)
    assert inflated.score.mean() < plain.score.mean() / 4
    assert not inflated.flag.any()


def test_pca_score_row_matches_batch_row() -> None:
    detector = PcaT2Q(SIGNALS).fit(correlated(500, seed=12))
    row = correlated(1, seed=13)[0]
    single = detector.score(row.tolist())
    detector.reset()
    assert single == detector.score_batch(row.reshape(1, -1)).row(0)


@pytest.mark.parametrize(
    ("train", "message"),
    [
        (np.ones((100, 4)), "constant"),
        (np.random.default_rng(0).normal(size=(6, 4)), "too few"),
        (np.random.default_rng(0).normal(size=(100, 3)), "column"),
    ],
)
def test_pca_rejects_unusable_reference(train: FloatArray, message: str) -> None:
    with pytest.raises(DetectorError, match=message):
        PcaT2Q(SIGNALS).fit(train)


def test_pca_must_be_fitted_before_scoring() -> None:
    with pytest.raises(DetectorError):
        PcaT2Q(SIGNALS).score([1.0, 2.0, 3.0, 4.0])


# --- drift inflation --------------------------------------------------------------------------


def test_drift_inflation_is_high_for_drifting_and_near_one_for_white_signals() -> None:
    rng = np.random.default_rng(14)
    white = rng.normal(0, 1, 5000)
    drifting = np.cumsum(rng.normal(0, 0.2, 5000)) + rng.normal(0, 1, 5000)
    factors = drift_inflation(np.column_stack([white, drifting]), reference=400, horizon=700)
    assert factors[0] == pytest.approx(1.0, abs=0.15)
    assert factors[1] > 2.0
