"""Continuous-monitoring compliance: wastewater vs QCVN 40, stack gas vs QCVN 19, and gaps (pure).

Allowed maxima (coefficients apply to every limited parameter except pH, per the data file):
- wastewater, QCVN 40:2011/BTNMT: Cmax = C × Kq × Kf (Kq: receiving water, Kf: discharge volume);
- stack gas, QCVN 19:2009/BTNMT column B: Cmax = C × Kp × Kv (Kp: gas flow, Kv: region).
Only readings with status `00` and a numeric value count (Circular 10/2021/TT-BTNMT; see
MONITORING-FEED.md). Readings are averaged over fixed windows (1 h by default, our choice; the
window is a parameter) aligned to local midnight, and each window mean is compared with Cmax.
Both standards have been replaced (QCVN 40:2025 from 1 Sep 2025, QCVN 19:2024 from 1 Jul 2025);
until their tables are loaded, `select_standard` falls back to the old table and marks the
result provisional.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Literal

from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.feed import FeedReading, normalise_symbol

Medium = Literal["water", "stack"]
MEASURING = "00"

# Feed symbol (lower case, decimal comma normalised) → limit parameter.
WATER_SYMBOLS = {
    "ph": "pH", "tss": "TSS", "cod": "COD", "bod": "BOD5", "bod5": "BOD5",
    "nh4": "NH4", "nh4+": "NH4", "n-nh4": "NH4", "nh4-n": "NH4",
    "tn": "TN", "t-n": "TN", "tp": "TP", "t-p": "TP",
}  # fmt: skip
STACK_SYMBOLS = {"pm": "dust", "dust": "dust", "so2": "SO2", "co": "CO", "nox": "NOx"}
# NOx is limited "as NO2": NOx = NO2 + NO × M(NO2)/M(NO), both in mg/Nm³ at the same time.
NO_TO_NO2 = 46.0055 / 30.006


@dataclass(frozen=True)
class ParameterLimit:
    """A column value C of a standard: an upper limit, or a [low, high] range for pH."""

    parameter: str
    unit: str
    low: float | None
    high: float | None
    coefficients: bool


@dataclass(frozen=True)
class EffluentStandard:
    """One regulation's table, dated, with its successor and whether the successor is loaded."""

    key: str
    standard: str
    medium: Medium
    source: str
    status: str
    valid_from: date
    valid_to: date | None
    successor: str | None
    successor_from: date | None
    successor_loaded: bool
    columns: tuple[tuple[str, tuple[ParameterLimit, ...]], ...]

    def column(self, name: str) -> tuple[ParameterLimit, ...]:
        """The limits of column `name` (e.g. "A", "B")."""
        for key, limits in self.columns:
            if key == name:
                return limits
        raise KeyError(f"{self.standard} has no column {name!r}")


@dataclass(frozen=True)
class StandardChoice:
    """The standard to compare with on a date; provisional when it is a replaced one."""

    standard: EffluentStandard
    provisional: bool
    note: str | None = None


@dataclass(frozen=True)
class AllowedRange:
    """Allowed [low, high] after coefficients, with the text naming where it comes from."""

    parameter: str
    unit: str
    low: float | None
    high: float | None
    source: str


def select_standard(
    standards: Sequence[EffluentStandard], medium: Medium, on: date
) -> StandardChoice | None:
    """The standard in force on `on`; else the latest replaced one whose successor is not loaded."""
    mine = sorted((s for s in standards if s.medium == medium), key=lambda s: s.valid_from)
    for std in mine:
        if std.valid_from <= on and (std.valid_to is None or on <= std.valid_to):
            return StandardChoice(std, provisional=False)
    past = [s for s in mine if s.valid_to is not None and s.valid_to < on]
    if past and not past[-1].successor_loaded:
        std = past[-1]
        note = f"{std.successor} in force from {std.successor_from}; its table is not loaded"
        return StandardChoice(std, provisional=True, note=note)
    return None


def allowed_limits(choice: StandardChoice, column: str, factor: float) -> dict[str, AllowedRange]:
    """Cmax = C × factor for parameters with coefficients, C for the rest (pH).

    `factor` is Kq × Kf for QCVN 40:2011 or Kp × Kv for QCVN 19:2009 (see the step lookups).
    """
    std = choice.standard
    label = f"{std.standard} column {column}" + (" (provisional)" if choice.provisional else "")
    if factor != 1:
        label += f", coefficient {factor:g}"
    out = {}
    for lim in std.column(column):
        k = factor if lim.coefficients else 1.0
        low = None if lim.low is None else lim.low * k
        high = None if lim.high is None else lim.high * k
        out[lim.parameter] = AllowedRange(lim.parameter, lim.unit, low, high, label)
    return out


def step_lookup(steps: Sequence[tuple[float | None, float]], x: float) -> float:
    """The coefficient of the first step whose inclusive upper bound (None = ∞) holds `x`."""
    for bound, coefficient in steps:
        if bound is None or x <= bound:
            return coefficient
    raise ValueError(f"{x} is above every step")


def limit_parameter(symbol: str, medium: Medium) -> str | None:
    """The limit parameter a feed symbol is compared as, None when it has no limit."""
    table = WATER_SYMBOLS if medium == "water" else STACK_SYMBOLS
    return table.get(normalise_symbol(symbol).lower())


@dataclass(frozen=True)
class WindowResult:
    """One averaging window of one parameter compared with its allowed range."""

    parameter: str
    start: datetime
    end: datetime
    mean: float
    samples: int
    unit: str
    low: float | None
    high: float | None
    exceeded: bool
    limit_source: str


@dataclass(frozen=True)
class ComplianceReport:
    """Window results, readings left out (not `00` or no value) and unit mismatches."""

    windows: tuple[WindowResult, ...]
    counted: int
    ignored: int
    unit_mismatches: tuple[tuple[str, str], ...]

    @property
    def exceedances(self) -> tuple[WindowResult, ...]:
        """Only the windows outside their allowed range."""
        return tuple(w for w in self.windows if w.exceeded)


def _same_unit(a: str, b: str) -> bool:
    def norm(u: str) -> str:
        return u.strip().lower().replace("³", "3")

    return norm(a) == norm(b) or {norm(a), norm(b)} <= {"-", ""}


def counted_values(
    readings: Sequence[FeedReading], medium: Medium
) -> tuple[list[tuple[str, str, datetime, float]], int]:
    """(parameter, unit, time, value) of status-00 numeric readings with a limit, and the number
    of readings ignored for status or missing value. NOx is derived from NO and NO2 when the
    file has no NOx reading for that time."""
    valid = [r for r in readings if r.status == MEASURING and r.value is not None]
    ignored_count = sum(1 for r in readings if r.status != MEASURING or r.value is None)
    rows = []
    for r in valid:
        parameter = limit_parameter(r.symbol, medium)
        if parameter is not None and r.value is not None:
            rows.append((parameter, r.unit, r.time, r.value))
    if medium == "stack":
        rows += _derived_nox(valid, {t for p, _, t, _ in rows if p == "NOx"})
    return rows, ignored_count


def _derived_nox(
    valid: Sequence[FeedReading], has_nox: set[datetime]
) -> list[tuple[str, str, datetime, float]]:
    by_time: dict[datetime, dict[str, FeedReading]] = defaultdict(dict)
    for r in valid:
        by_time[r.time][normalise_symbol(r.symbol).lower()] = r
    out = []
    for time, found in by_time.items():
        no, no2 = found.get("no"), found.get("no2")
        if time not in has_nox and no and no2 and no.value is not None and no2.value is not None:
            out.append(("NOx", no2.unit, time, no2.value + no.value * NO_TO_NO2))
    return out


def _window_start(time: datetime, window: timedelta, tz: tzinfo) -> datetime:
    local = time.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((local - midnight) // window) * window


def assess(
    readings: Sequence[FeedReading],
    limits: Mapping[str, AllowedRange],
    medium: Medium,
    *,
    window: timedelta = timedelta(hours=1),
    tz: tzinfo = ICT,
) -> ComplianceReport:
    """Window means of status-00 readings compared with Cmax (or the pH range).

    A window exceeds when its mean is above `high` or below `low`. Readings whose unit differs
    from the limit's unit are not compared; they are listed in `unit_mismatches`.
    """
    rows, ignored = counted_values(readings, medium)
    groups: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    mismatches: set[tuple[str, str]] = set()
    for parameter, unit, time, value in rows:
        lim = limits.get(parameter)
        if lim is None:
            continue
        if not _same_unit(unit, lim.unit):
            mismatches.add((parameter, unit))
            continue
        groups[(parameter, _window_start(time, window, tz))].append(value)
    results = [_result(limits[p], start, window, vals) for (p, start), vals in groups.items()]
    results.sort(key=lambda w: (w.start, w.parameter))
    counted = sum(len(v) for v in groups.values())
    return ComplianceReport(tuple(results), counted, ignored, tuple(sorted(mismatches)))


def _result(
    lim: AllowedRange, start: datetime, window: timedelta, vals: list[float]
) -> WindowResult:
    mean = sum(vals) / len(vals)
    exceeded = (lim.high is not None and mean > lim.high) or (
        lim.low is not None and mean < lim.low
    )
    return WindowResult(
        parameter=lim.parameter,
        start=start,
        end=start + window,
        mean=mean,
        samples=len(vals),
        unit=lim.unit,
        low=lim.low,
        high=lim.high,
        exceeded=exceeded,
        limit_source=lim.source,
    )


@dataclass(frozen=True)
class Gap:
    """No file from `start` (when one was due) to `end`; `open` when still silent at `now`."""

    start: datetime
    end: datetime
    last_file_at: datetime | None
    open: bool

    @property
    def duration(self) -> timedelta:
        """Length of the silence beyond the due time."""
        return self.end - self.start


def find_gaps(
    arrivals: Iterable[datetime],
    *,
    now: datetime,
    expected: timedelta = timedelta(minutes=5),
    tolerance: timedelta = timedelta(minutes=5),
    since: datetime | None = None,
) -> list[Gap]:
    """Transmission gaps: silences between files longer than `expected + tolerance`.

    Circular 10/2021/TT-BTNMT: one file per station every 5 minutes. A gap starts when the next
    file was due (last arrival + expected) and ends at the next arrival, or at `now` (open).
    With `since`, silence from `since` to the first arrival also counts. Times must be aware;
    arrivals may come in any order (buffered files are resent late).
    """
    times = sorted(set(arrivals))
    for t in [now, *times, *([since] if since else [])]:
        if t.tzinfo is None:
            raise ValueError(f"time {t.isoformat()} has no time zone")
    limit = expected + tolerance
    gaps: list[Gap] = []
    if since is not None and (times[0] if times else now) - since > limit:
        end = times[0] if times else now
        gaps.append(Gap(since, end, None, open=not times))
    for before, after in pairwise(times):
        if after - before > limit:
            gaps.append(Gap(before + expected, after, before, open=False))
    if times and now - times[-1] > limit:
        gaps.append(Gap(times[-1] + expected, now, times[-1], open=True))
    return gaps
