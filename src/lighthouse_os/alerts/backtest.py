"""Backtesting: replay rules and detectors over in-memory machine data and list the alerts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import numpy as np

from lighthouse_os.alerts.detectors import (
    AlarmPolicy,
    BatchVerdict,
    BoolArray,
    Detector,
    DetectorError,
    EwmaChart,
    FloatArray,
    PcaT2Q,
    RobustZScore,
    Seasonality,
)
from lighthouse_os.alerts.rules import (
    AlertCleared,
    AlertEvent,
    AlertRaised,
    Binding,
    Point,
    evaluate,
    initial_state,
)

Window = tuple[datetime, datetime]  # [start, end)


class BacktestError(ValueError):
    """The backtest request cannot be run on the data given."""


@dataclass(frozen=True, eq=False)
class SeriesFrame:
    """Aligned samples of one machine: one row per timestamp, one column per tag."""

    key: str
    timestamps: tuple[datetime, ...]
    columns: tuple[str, ...]
    values: FloatArray

    def __post_init__(self) -> None:
        if self.values.shape != (len(self.timestamps), len(self.columns)):
            raise BacktestError(f"{self.key}: values must be rows × columns")
        if any(b <= a for a, b in zip(self.timestamps, self.timestamps[1:], strict=False)):
            raise BacktestError(f"{self.key}: timestamps must be strictly increasing")

    def series(self, column: str) -> str:
        """Series key of one column, as rule bindings name it."""
        return f"{self.key}/{column}"

    def rows(self, window: Window) -> BoolArray:
        start, end = window
        return np.array([start <= t < end for t in self.timestamps], dtype=np.bool_)


class DetectorKind(StrEnum):
    PCA_T2Q = "pca_t2q"  # one multivariate detector over the columns
    ROBUST_Z = "robust_z"  # one detector per column
    EWMA = "ewma"  # one detector per column


@dataclass(frozen=True)
class DetectorSpec:
    """A stored detector configuration; `columns` empty means every column of the frame."""

    name: str
    kind: DetectorKind
    columns: tuple[str, ...] = ()
    explained_variance: float = 0.9
    alpha: float = 0.01
    threshold: float = 3.5
    lam: float = 0.1
    width: float = 3.0
    seasonality: Seasonality | None = None
    policy: AlarmPolicy = field(default_factory=AlarmPolicy)


@dataclass(frozen=True)
class BacktestRecord:
    """One alert found by the backtest; `end` is None while it is still open at the window end.

    `score` is the triggering value for a rule (the signal's value, the rate for a rate rule,
    the silence in seconds for an absence rule) and the peak normalised score for a detector
    (1.0 = its control limit).
    """

    start: datetime
    end: datetime | None
    rule: str
    signals: tuple[str, ...]
    score: float

    def as_json(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "rule": self.rule,
            "signals": list(self.signals),
            "score": self.score,
        }


def build_detectors(spec: DetectorSpec, columns: Sequence[str]) -> list[Detector]:
    """Detectors of a spec for the given columns (one, or one per column)."""
    if spec.kind is DetectorKind.PCA_T2Q:
        pca = PcaT2Q(
            columns,
            explained_variance=spec.explained_variance,
            alpha=spec.alpha,
            policy=spec.policy,
        )
        return [pca]
    if spec.kind is DetectorKind.ROBUST_Z:
        return [
            RobustZScore(
                c, threshold=spec.threshold, seasonality=spec.seasonality, policy=spec.policy
            )
            for c in columns
        ]
    return [
        EwmaChart(
            c, lam=spec.lam, width=spec.width, seasonality=spec.seasonality, policy=spec.policy
        )
        for c in columns
    ]


def top_signals(
    shares: FloatArray, columns: Sequence[str], *, coverage: float = 0.8, most: int = 3
) -> tuple[str, ...]:
    """Largest contributors, in order, until their shares reach `coverage` (at most `most`)."""
    order = np.argsort(-shares, kind="stable")
    picked: list[str] = []
    total = 0.0
    for j in order[:most]:
        if shares[j] <= 0:
            break
        picked.append(columns[j])
        total += float(shares[j])
        if total >= coverage * float(shares.sum()):
            break
    return tuple(picked)


def _runs(flags: BoolArray) -> Iterator[tuple[int, int | None]]:
    """(first, after-last) row of each run of True; after-last None when it reaches the end."""
    start: int | None = None
    for i, flag in enumerate(flags.tolist()):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            yield start, i
            start = None
    if start is not None:
        yield start, None


def detector_events(
    name: str,
    series: str,
    timestamps: Sequence[datetime],
    batch: BatchVerdict,
    *,
    was_active: bool = False,
) -> list[AlertEvent]:
    """Raise/clear events from a detector's filtered flags; signals are those of the raise row.

    In streaming use, pass `was_active` (the last flag of the previous batch) so an alarm that
    continues across batches is not raised again.
    """
    events: list[AlertEvent] = []
    for first, after in _runs(batch.flag):
        if not (was_active and first == 0):
            signals = top_signals(batch.contributions[first], batch.columns)
            score = float(batch.score[first])
            events.append(AlertRaised(name, series, timestamps[first], score, signals=signals))
        if after is not None:
            events.append(AlertCleared(name, series, timestamps[after], float(batch.score[after])))
    if was_active and len(batch.flag) and not batch.flag[0]:
        events.insert(0, AlertCleared(name, series, timestamps[0], float(batch.score[0])))
    return events


def _detector_records(
    spec: DetectorSpec, frame: SeriesFrame, train: BoolArray, scored: BoolArray
) -> list[BacktestRecord]:
    columns = spec.columns or frame.columns
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise BacktestError(f"{frame.key} has no column(s) {missing}")
    stamps = [t for t, keep in zip(frame.timestamps, scored.tolist(), strict=True) if keep]
    train_stamps = [t for t, keep in zip(frame.timestamps, train.tolist(), strict=True) if keep]
    out: list[BacktestRecord] = []
    for detector in build_detectors(spec, columns):
        index = [frame.columns.index(c) for c in detector.columns]
        try:
            detector.fit(frame.values[train][:, index], train_stamps)
        except DetectorError as err:
            raise BacktestError(f"{spec.name} on {frame.key}: {err}") from err
        batch = detector.score_batch(frame.values[scored][:, index], stamps)
        out += _records_from_batch(spec.name, stamps, batch)
    return out


def _records_from_batch(
    name: str, stamps: list[datetime], batch: BatchVerdict
) -> list[BacktestRecord]:
    records = []
    for first, after in _runs(batch.flag):
        rows = slice(first, after)
        shares = batch.contributions[rows].mean(axis=0)
        end = None if after is None else stamps[after]
        peak = float(np.nanmax(batch.score[rows]))
        records.append(
            BacktestRecord(stamps[first], end, name, top_signals(shares, batch.columns), peak)
        )
    return records


def _points(frames: Sequence[SeriesFrame], window: Window) -> Iterator[Point]:
    for frame in frames:
        for i in np.flatnonzero(frame.rows(window)).tolist():
            for j, column in enumerate(frame.columns):
                yield Point(frame.series(column), frame.timestamps[i], float(frame.values[i, j]))


def _rule_records(
    bindings: Sequence[Binding], frames: Sequence[SeriesFrame], window: Window
) -> list[BacktestRecord]:
    state = initial_state(bindings, window[0])
    result = evaluate(bindings, _points(frames, window), now=window[1], state=state)
    open_: dict[tuple[str, str], AlertRaised] = {}
    records: list[BacktestRecord] = []
    for event in result.events:
        key = (event.rule_id, event.series)
        if isinstance(event, AlertRaised):
            open_[key] = event
        elif key in open_:
            raised = open_.pop(key)
            records.append(
                BacktestRecord(raised.at, event.at, raised.rule_id, (raised.series,), raised.value)
            )
    records += [BacktestRecord(r.at, None, r.rule_id, (r.series,), r.value) for r in open_.values()]
    return records


def backtest(
    rules: Sequence[Binding],
    detectors: Sequence[DetectorSpec],
    series_frames: Sequence[SeriesFrame],
    train_window: Window | None,
    window: Window,
) -> list[BacktestRecord]:
    """Replay `rules` and `detectors` over `window` and return the alerts, sorted by start.

    Rules see every column of every frame as the series `<frame key>/<column>`; absence is
    measured from the window start. Detectors are fitted per frame on the rows in
    `train_window` (default: all rows before the window), then score the window as a stream.
    """
    if window[1] <= window[0]:
        raise BacktestError("the window must end after it starts / khoảng thời gian không hợp lệ")
    records = _rule_records(rules, series_frames, window)
    for frame in series_frames:
        train = frame.rows(
            train_window or (datetime.min.replace(tzinfo=window[0].tzinfo), window[0])
        )
        for spec in detectors:
            records += _detector_records(spec, frame, train, frame.rows(window))
    return sorted(records, key=lambda r: (r.start, r.rule, r.signals))
