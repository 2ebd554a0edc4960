"""JSON forms of the alert cores' values: rules, evaluator state, fitted detectors and streams.

The detector classes keep their fitted arrays and stream state in attributes; this module is
the one place that reads and restores them, so the cores stay free of persistence.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from lighthouse_os.alerts.backtest import DetectorKind, DetectorSpec, build_detectors
from lighthouse_os.alerts.detectors import (
    AlarmFilter,
    AlarmPolicy,
    Detector,
    EwmaChart,
    PcaT2Q,
    RobustZScore,
    Seasonality,
)
from lighthouse_os.alerts.rules import (
    AbsenceRule,
    Direction,
    RateOfChangeRule,
    Rule,
    SeriesState,
    Severity,
    ThresholdRule,
    Trend,
    kpi_rule,
)

MODEL_VERSION = 1
# One KPI period's length, for "N consecutive periods" → the core's hold (see `core_rule`).
PERIOD_LENGTH = {"hour": timedelta(hours=1), "shift": timedelta(0)}


def rule_key(rule_id: int) -> str:
    """The core's id of a stored rule."""
    return f"rule:{rule_id}"


def detector_key(detector_id: int) -> str:
    """The core's id of a stored detector (alerts of detectors carry it as their rule id)."""
    return f"detector:{detector_id}"


def aware(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every instant this feature stores is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def utc(moment: datetime) -> datetime:
    """An aware instant in UTC (SQLite keeps wall time only, so store UTC)."""
    return moment.astimezone(UTC)


# -- rules ----------------------------------------------------------------------------------


def _seconds(params: Mapping[str, Any], key: str, default: float = 0.0) -> timedelta:
    return timedelta(seconds=float(params.get(key, default)))


def core_rule(key: str, kind: str, params: Mapping[str, Any], severity: str) -> Rule:
    """The core rule of a stored rule's kind and parameters.

    A KPI rule sees one sample per completed period, stamped at the period end; "below the
    limit for N periods" holds when N consecutive samples are beyond it, so the core's hold is
    (N − 1) period lengths (a shift rule uses N = 1).
    """
    level = Severity(severity)
    hysteresis = float(params.get("hysteresis", 0.0))
    if kind == "threshold":
        return ThresholdRule(
            key,
            float(params["limit"]),
            Direction(params.get("direction", "above")),
            hysteresis,
            _seconds(params, "min_duration_s"),
            level,
        )
    if kind == "rate":
        return RateOfChangeRule(
            key,
            float(params["limit"]),
            _seconds(params, "per_s", 60.0),
            _seconds(params, "over_s"),
            Trend(params.get("trend", "either")),
            hysteresis,
            _seconds(params, "min_duration_s"),
            level,
        )
    if kind == "absence":
        return AbsenceRule(key, _seconds(params, "max_silence_s", 600.0), level)
    hold = PERIOD_LENGTH[str(params.get("period", "hour"))] * (int(params.get("periods", 1)) - 1)
    direction = Direction(params.get("direction", "below"))
    return kpi_rule(
        key,
        limit=float(params["limit"]),
        hold=hold,
        direction=direction,
        hysteresis=hysteresis,
        severity=level,
    )


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _instant(text: object) -> datetime | None:
    return None if text is None else datetime.fromisoformat(str(text))


def state_to_json(state: SeriesState) -> dict[str, Any]:
    """A rule evaluator's state for one (rule, series) as JSON."""
    return {
        "active": state.active,
        "pending_since": _stamp(state.pending_since),
        "last_ts": _stamp(state.last_ts),
        "recent": [[t.isoformat(), v] for t, v in state.recent],
        "watch_since": _stamp(state.watch_since),
    }


def state_from_json(data: Mapping[str, Any]) -> SeriesState:
    """The inverse of `state_to_json`."""
    recent = tuple((datetime.fromisoformat(t), float(v)) for t, v in data.get("recent", ()))
    return SeriesState(
        active=bool(data.get("active", False)),
        pending_since=_instant(data.get("pending_since")),
        last_ts=_instant(data.get("last_ts")),
        recent=recent,
        watch_since=_instant(data.get("watch_since")),
    )


# -- detectors ------------------------------------------------------------------------------


def detector_spec(
    key: str, kind: str, columns: Sequence[str], params: Mapping[str, Any]
) -> DetectorSpec:
    """The backtest core's spec of a stored detector's kind and parameters."""
    policy = AlarmPolicy(
        sensitivity=float(params.get("sensitivity", 1.0)),
        smoothing=int(params.get("smoothing", 1)),
        persistence=int(params.get("persistence", 1)),
        clear_level=float(params.get("clear_level", 1.0)),
    )
    seasonal = Seasonality() if params.get("seasonal") else None
    return DetectorSpec(
        name=key,
        kind=DetectorKind(kind),
        columns=tuple(columns),
        explained_variance=float(params.get("explained_variance", 0.9)),
        alpha=float(params.get("alpha", 0.01)),
        threshold=float(params.get("threshold", 3.5)),
        lam=float(params.get("lam", 0.1)),
        width=float(params.get("width", 3.0)),
        seasonality=seasonal,
        policy=policy,
    )


def _array(value: Any) -> Any:
    return np.asarray(value, dtype=np.float64)


def _fitted(detector: Detector) -> dict[str, Any]:
    if isinstance(detector, PcaT2Q):
        return {
            "mean": detector._mean.tolist(),
            "scale": detector._scale.tolist(),
            "loadings": detector._loadings.tolist(),
            "eigen": detector._eigen.tolist(),
            "n_components": detector.n_components,
            # Q's limit is infinite when every component is kept; JSON has no infinity.
            "t2_limit": str(detector.t2_limit),
            "q_limit": str(detector.q_limit),
        }
    if isinstance(detector, RobustZScore):
        return {"params": {str(b): list(p) for b, p in detector._params.items()}}
    if isinstance(detector, EwmaChart):
        return {"means": {str(b): m for b, m in detector._means.items()}, "sigma": detector._sigma}
    raise TypeError(f"unknown detector {type(detector).__name__}")


def _restore(detector: Detector, data: Mapping[str, Any]) -> None:
    if isinstance(detector, PcaT2Q):
        detector._mean, detector._scale = _array(data["mean"]), _array(data["scale"])
        detector._loadings, detector._eigen = _array(data["loadings"]), _array(data["eigen"])
        detector.n_components = int(data["n_components"])
        detector.t2_limit, detector.q_limit = float(data["t2_limit"]), float(data["q_limit"])
    elif isinstance(detector, RobustZScore):
        detector._params = {int(b): (float(p[0]), float(p[1])) for b, p in data["params"].items()}
        detector._fitted = True
    elif isinstance(detector, EwmaChart):
        detector._means = {int(b): float(m) for b, m in data["means"].items()}
        detector._sigma = float(data["sigma"])
        detector._fitted = True


def dump_model(detectors: Sequence[Detector]) -> dict[str, Any]:
    """Fitted parameters of a detector spec's detectors (one, or one per column)."""
    parts = [{"columns": list(d.columns), **_fitted(d)} for d in detectors]
    return {"version": MODEL_VERSION, "detectors": parts}


def load_model(spec: DetectorSpec, model: Mapping[str, Any]) -> list[Detector]:
    """Detectors of `spec` with the fitted parameters of `dump_model` restored."""
    parts = model.get("detectors", [])
    columns = [c for part in parts for c in part["columns"]]
    if spec.kind is DetectorKind.PCA_T2Q:
        columns = list(parts[0]["columns"]) if parts else []
    detectors = build_detectors(spec, columns)
    for detector, part in zip(detectors, parts, strict=True):
        _restore(detector, part)
    return detectors


def _alarm(detector: Detector) -> AlarmFilter:
    alarm: AlarmFilter = detector._alarm  # type: ignore[attr-defined]
    return alarm


def dump_stream(detectors: Sequence[Detector]) -> list[dict[str, Any]]:
    """Streaming state (alarm filter, EWMA statistic) to carry into the next batch."""
    out = []
    for detector in detectors:
        alarm = _alarm(detector)
        part: dict[str, Any] = {
            "recent": list(alarm._recent),
            "streak": alarm._streak,
            "active": alarm.active,
        }
        if isinstance(detector, EwmaChart):
            part |= {"z": detector._z, "steps": detector._steps}
        out.append(part)
    return out


def load_stream(detectors: Sequence[Detector], stream: Sequence[Mapping[str, Any]]) -> None:
    """Restore `dump_stream` output; a missing or mismatched stream starts fresh."""
    if len(stream) != len(detectors):
        return
    for detector, part in zip(detectors, stream, strict=True):
        alarm = _alarm(detector)
        alarm._recent = deque(
            (float(v) for v in part.get("recent", ())), maxlen=alarm.policy.smoothing
        )
        alarm._streak = int(part.get("streak", 0))
        alarm.active = bool(part.get("active", False))
        if isinstance(detector, EwmaChart):
            detector._z, detector._steps = float(part.get("z", 0.0)), int(part.get("steps", 0))


def alarm_active(detector: Detector) -> bool:
    """Whether the detector's alarm was on after the last sample scored."""
    return _alarm(detector).active
