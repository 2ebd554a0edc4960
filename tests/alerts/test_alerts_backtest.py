"""Backtest: rules and detectors replayed over synthetic machine frames."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from lighthouse_os.alerts.backtest import (
    BacktestError,
    BacktestRecord,
    DetectorKind,
    DetectorSpec,
    SeriesFrame,
    backtest,
    detector_events,
    top_signals,
)
from lighthouse_os.alerts.detectors import AlarmPolicy, PcaT2Q
from lighthouse_os.alerts.rules import (
    AbsenceRule,
    AlertCleared,
    AlertRaised,
    Binding,
    ThresholdRule,
)

T0 = datetime(2025, 11, 3, 0, 0, tzinfo=UTC)
COLUMNS = ("flow", "pressure", "current", "vibration")
TRAIN = (T0, T0 + timedelta(minutes=500))
WINDOW = (T0 + timedelta(minutes=500), T0 + timedelta(minutes=800))


def machine(fault_at: int | None = 650, rows: int = 800, seed: int = 1) -> SeriesFrame:
    """Minute data of one pump; from `fault_at` the pressure departs from its relation to flow."""
    rng = np.random.default_rng(seed)
    load = rng.normal(0, 1, rows)
    values = np.column_stack(
        [10 + 2 * load, 3 + load, 5 - 1.5 * load, rng.normal(0, 0.5, rows)]
    ) + rng.normal(0, 0.2, (rows, 4)) * np.array([1, 1, 1, 0])
    if fault_at is not None:
        values[fault_at:700, 1] += 2.0
    stamps = tuple(T0 + timedelta(minutes=i) for i in range(rows))
    return SeriesFrame("hcmc-1/pump-3", stamps, COLUMNS, values)


PCA = DetectorSpec("pump-pca", DetectorKind.PCA_T2Q, policy=AlarmPolicy(smoothing=5))


def test_detector_record_spans_the_fault_and_names_the_signal() -> None:
    (record,) = backtest([], [PCA], [machine()], TRAIN, WINDOW)
    assert record.rule == "pump-pca"
    assert record.signals[0] == "pressure"
    assert abs((record.start - (T0 + timedelta(minutes=650))).total_seconds()) <= 5 * 60
    assert record.end is not None
    assert abs((record.end - (T0 + timedelta(minutes=700))).total_seconds()) <= 5 * 60
    assert record.score > 1


def test_no_record_without_a_fault() -> None:
    assert backtest([], [PCA], [machine(fault_at=None)], TRAIN, WINDOW) == []


def test_train_window_defaults_to_the_rows_before_the_window() -> None:
    explicit = backtest([], [PCA], [machine()], (T0, WINDOW[0]), WINDOW)
    assert backtest([], [PCA], [machine()], None, WINDOW) == explicit


def test_univariate_detectors_run_per_column() -> None:
    spec = DetectorSpec(
        "ewma", DetectorKind.EWMA, columns=("pressure", "vibration"), lam=0.2, width=4.0
    )
    records = backtest([], [spec], [machine()], TRAIN, WINDOW)
    assert records
    assert {r.signals for r in records} == {("pressure",)}


def test_rule_records_use_frame_series_keys() -> None:
    frame = machine()
    rule = ThresholdRule("pressure-high", 6.5, hysteresis=0.5)
    records = backtest([Binding(rule, frame.series("pressure"))], [], [frame], None, WINDOW)
    assert records
    assert all(r.signals == ("hcmc-1/pump-3/pressure",) for r in records)
    assert all(r.score > 6.5 for r in records)


def test_absence_rule_finds_a_gap_in_the_frame() -> None:
    frame = machine(fault_at=None)
    values = frame.values.copy()
    values[600:640, 0] = np.nan  # the flow meter stopped reporting for 40 minutes
    gappy = SeriesFrame(frame.key, frame.timestamps, frame.columns, values)
    binding = Binding(AbsenceRule("flow-silent"), frame.series("flow"))
    (record,) = backtest([binding], [], [gappy], None, WINDOW)
    assert record.start == T0 + timedelta(minutes=609)
    assert record.end == T0 + timedelta(minutes=640)


def test_alert_open_at_the_window_end_has_no_end() -> None:
    frame = machine(fault_at=780)
    values = frame.values.copy()
    values[780:, 1] += 2.0  # keep the fault on to the end
    long_fault = SeriesFrame(frame.key, frame.timestamps, frame.columns, values)
    (record,) = backtest([], [PCA], [long_fault], TRAIN, WINDOW)
    assert record.end is None


def test_records_serialise_to_the_cli_json_shape() -> None:
    record = BacktestRecord(T0, None, "pump-pca", ("pressure",), 2.5)
    assert json.loads(json.dumps(record.as_json())) == {
        "start": "2025-11-03T00:00:00+00:00",
        "end": None,
        "rule": "pump-pca",
        "signals": ["pressure"],
        "score": 2.5,
    }


@pytest.mark.parametrize(
    ("shares", "expected"),
    [
        ([0.7, 0.2, 0.1, 0.0], ("flow", "pressure")),
        ([0.9, 0.05, 0.05, 0.0], ("flow",)),
        ([0.25, 0.25, 0.25, 0.25], ("flow", "pressure", "current")),
        ([0.0, 0.0, 0.0, 0.0], ()),
    ],
)
def test_top_signals_cover_most_of_the_contribution(
    shares: list[float], expected: tuple[str, ...]
) -> None:
    assert top_signals(np.array(shares), COLUMNS) == expected


def test_detector_events_pair_raises_and_clears() -> None:
    frame = machine()
    detector = PcaT2Q(COLUMNS, policy=AlarmPolicy(smoothing=5)).fit(frame.values[:500])
    batch = detector.score_batch(frame.values[500:])
    events = detector_events("pump-pca", frame.key, frame.timestamps[500:], batch)
    assert isinstance(events[0], AlertRaised)
    assert isinstance(events[-1], AlertCleared)
    assert events[0].signals[0] == "pressure"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"detectors": [DetectorSpec("x", DetectorKind.EWMA, columns=("missing",))]}, "no column"),
        ({"window": (WINDOW[1], WINDOW[0])}, "window"),
        ({"train_window": (T0, T0 + timedelta(minutes=3))}, "too few"),
    ],
)
def test_backtest_rejects_unusable_requests(request_: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "rules": [],
        "detectors": [PCA],
        "series_frames": [machine()],
        "train_window": TRAIN,
        "window": WINDOW,
    }
    with pytest.raises(BacktestError, match=message):
        backtest(**{**args, **request_})  # type: ignore[arg-type]


def test_frame_rejects_misaligned_data() -> None:
    with pytest.raises(BacktestError):
        SeriesFrame("m", (T0,), COLUMNS, np.zeros((2, 4)))
    with pytest.raises(BacktestError):
        SeriesFrame("m", (T0, T0), ("a",), np.zeros((2, 1)))


def test_detector_events_continue_an_alarm_across_streaming_batches() -> None:
    frame = machine()
    detector = PcaT2Q(COLUMNS, policy=AlarmPolicy(smoothing=5)).fit(frame.values[:500])
    first = detector.score_batch(frame.values[500:670])
    second = detector.score_batch(frame.values[670:])
    assert first.flag[-1]
    stamps = frame.timestamps
    events = detector_events("pca", frame.key, stamps[500:670], first)
    events += detector_events("pca", frame.key, stamps[670:], second, was_active=True)
    assert [type(e) for e in events] == [AlertRaised, AlertCleared]
