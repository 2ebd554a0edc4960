"""Environmental findings → alert events (pure): QCVN 05 air limits, QCVN 40/19 effluent limits and
monitoring feed gaps, mapped onto the alert lifecycle.

A *finding* is one judged period of one series at the instant it became known: an air station's
1-hour, 8-hour or 24-hour mean (series `<station>/<pollutant>/<averaging>`), a monitoring
station's hourly window of one parameter (`<station>/<parameter>`), or a feed's silence
(`<station>`). An exceeded finding raises, a finding back within the limit clears; a period
without enough data is no finding at all (it neither raises nor clears).

`to_events` turns the findings of a recent window into events for `service.record_events`,
given what the alerts of each series already reflect (`SeriesMark`), so running it again over
the same data adds nothing, and a state that began before the window (a station already silent
when the engine starts) is still raised once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from itertools import groupby

from lighthouse_os.alerts.messages import AlertMessage, Arg
from lighthouse_os.alerts.rules import AlertCleared, AlertEvent, AlertRaised, Severity
from lighthouse_os.environment.averaging import (
    HOUR,
    ICT,
    MIN_HOURS_PER_8H,
    MIN_HOURS_PER_DAY,
    HourlyMeans,
    day_start,
)
from lighthouse_os.environment.compliance import Gap, WindowResult
from lighthouse_os.environment.qcvn import AmbientLimit, Averaging, limit_on
from lighthouse_os.environment.scale import POLLUTANTS

# Rule keys of environmental alerts (`Alert.rule_key`); they name no stored rule.
AIR, WASTEWATER, STACK, FEED_GAP = "env:air", "env:wastewater", "env:stack", "env:feed_gap"
ENVIRONMENT_KEYS = (AIR, WASTEWATER, STACK, FEED_GAP)
# Periods alerted on: the annual mean is a yearly compliance statistic, not an alarm.
AIR_PERIODS: tuple[tuple[Averaging, int], ...] = (("1h", 1), ("8h", 8), ("24h", 24))
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Finding:
    """One judged period of one series, known at `at` (the period's end, or a gap's start)."""

    series: str
    at: datetime
    exceeded: bool
    value: float
    message: AlertMessage | None = None


@dataclass(frozen=True)
class SeriesMark:
    """What a series' alerts already reflect: the newest instant any of them was raised,
    cleared or resolved at, and whether the newest still holds its condition on (active, and
    not held open after a clear because it is flapping)."""

    until: datetime
    active: bool


# -- air: QCVN 05:2023 ----------------------------------------------------------------------


def _unit(unit: str) -> str:
    """As written for people: µg/Nm³; a dimensionless unit ("-", pH) is left out."""
    return "" if unit.strip() in ("-", "") else unit.replace("m3", "m³")


def air_findings(
    station: str,
    hours: Iterable[HourlyMeans],
    limits: Sequence[AmbientLimit],
    *,
    start: datetime,
    until: datetime,
    names: Mapping[str, str] | None = None,
    tz: tzinfo = ICT,
) -> list[Finding]:
    """Every 1-h, 8-h (rolling, ≥ 6 of 8 hours) and 24-h (calendar day, ≥ 18 of 24 hours) mean
    of the hourly means that lies in [start, until], judged against the limit valid on the day
    the period starts (strictly above = exceeded), as `qcvn.exceedances` judges them."""
    rows = list(hours)
    found: list[Finding] = []
    for pollutant in POLLUTANTS:
        series = {h.start: v for h in rows if (v := h.get(pollutant)) is not None}
        if not series:
            continue
        label = (names or {}).get(pollutant, pollutant)
        for averaging, length in AIR_PERIODS:
            for first, values in _periods(series, averaging, length, start, until, tz):
                lim = limit_on(limits, pollutant, averaging, first.astimezone(tz).date())
                if lim is None:
                    continue
                mean = sum(values) / len(values)
                exceeded = mean > lim.value
                args: dict[str, Arg] = {
                    "parameter": label, "station": station, "averaging": averaging,
                    "value": round(mean, 1), "limit": lim.value, "unit": _unit(lim.unit),
                }  # fmt: skip
                message = AlertMessage("air_exceedance", args) if exceeded else None
                key = f"{station}/{pollutant}/{averaging}"
                found.append(Finding(key, first + length * HOUR, exceeded, mean, message))
    return sorted(found, key=lambda f: (f.at, f.series))


def _periods(
    series: Mapping[datetime, float],
    averaging: Averaging,
    length: int,
    start: datetime,
    until: datetime,
    tz: tzinfo,
) -> Iterable[tuple[datetime, list[float]]]:
    """(period start, the values it holds) of every complete period with enough data."""
    if averaging == "24h":
        firsts = [day_start(d, tz) for d in _days(start, until, tz)]
        needed = MIN_HOURS_PER_DAY
    else:
        count = int((until - start) / HOUR) - length + 1
        firsts = [start + k * HOUR for k in range(max(0, count))]
        needed = MIN_HOURS_PER_8H if length == 8 else 1
    for first in firsts:
        if first < start or first + length * HOUR > until:
            continue
        values = [v for k in range(length) if (v := series.get(first + k * HOUR)) is not None]
        if len(values) >= needed:
            yield first, values


def _days(start: datetime, until: datetime, tz: tzinfo) -> list[date]:
    first, last = start.astimezone(tz).date(), until.astimezone(tz).date()
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


# -- wastewater and stack gas: QCVN 40:2011 / QCVN 19:2009 ----------------------------------


@dataclass(frozen=True)
class Standard:
    """What a monitoring station is judged by: standard, column, coefficient, provisional."""

    name: str
    column: str
    factor: float
    provisional: bool


def effluent_findings(
    station: str, windows: Iterable[WindowResult], standard: Standard, *, until: datetime
) -> list[Finding]:
    """Each window ending by `until` with its mean judged (`compliance.assess` did the judging)."""
    found = []
    for w in windows:
        if w.end > until:
            continue
        args: dict[str, Arg] = {
            "parameter": w.parameter, "station": station, "value": round(w.mean, 2),
            "unit": _unit(w.unit), "low": w.low, "high": w.high, "standard": standard.name,
            "column": standard.column, "factor": round(standard.factor, 4),
            "provisional": standard.provisional,
        }  # fmt: skip
        key = "effluent_outside" if w.low is not None else "effluent_above"
        message = AlertMessage(key, args) if w.exceeded else None
        found.append(Finding(f"{station}/{w.parameter}", w.end, w.exceeded, w.mean, message))
    return sorted(found, key=lambda f: (f.at, f.series))


# -- monitoring feed gaps (Circular 10/2021) -------------------------------------------------


def gap_findings(
    station: str, gaps: Iterable[Gap], last_file: datetime | None, interval: timedelta
) -> list[Finding]:
    """A gap raises at its start (when the next file was due) and clears at its end (the next
    file); when the station is not silent now, its latest file clears too, so a gap that late,
    buffered files filled in entirely still ends its alert."""
    found: list[Finding] = []
    silent = False
    for gap in gaps:
        minutes = round(gap.duration / MINUTE)
        args: dict[str, Arg] = {
            "station": station,
            "interval": round(interval / MINUTE),
            "silence": minutes,
        }
        message = AlertMessage("feed_gap", args)
        found.append(Finding(station, gap.start, True, float(minutes), message))
        if gap.open:
            silent = True
        else:
            found.append(Finding(station, gap.end, False, float(minutes)))
    if not silent and last_file is not None:
        found.append(Finding(station, last_file, False, 0.0))
    return sorted(found, key=lambda f: (f.at, not f.exceeded))


# -- findings → events -----------------------------------------------------------------------


def to_events(
    rule_id: str,
    findings: Iterable[Finding],
    *,
    since: datetime,
    marks: Mapping[str, SeriesMark],
    severity: Severity,
    repeat: bool = True,
) -> list[AlertEvent]:
    """Events for the findings after `since` that the series' alerts do not reflect yet.

    Per series, in time order: an exceeded finding raises (merged into the active alert, which
    counts it as an occurrence; with `repeat` false a raise while active is dropped), a finding
    within the limit clears an active alert. Of the findings at or before `since`, only the
    newest counts, and only when it disagrees with the series' state: an exceedance (or a
    silence) that began before the window is raised, one that ended is cleared.
    """
    events: list[AlertEvent] = []
    ordered = sorted(findings, key=lambda f: (f.series, f.at))
    for series, items in groupby(ordered, key=lambda f: f.series):
        mark = marks.get(series)
        fresh = [f for f in items if mark is None or f.at > mark.until]
        on = mark is not None and mark.active
        old = [f for f in fresh if f.at <= since]
        new = [f for f in fresh if f.at > since]
        if old and old[-1].exceeded != on:
            new = [old[-1], *new]
        for f in new:
            if f.exceeded and (repeat or not on):
                events.append(AlertRaised(rule_id, series, f.at, f.value, severity))
                on = True
            elif not f.exceeded and on:
                events.append(AlertCleared(rule_id, series, f.at, f.value))
                on = False
    return sorted(events, key=lambda e: e.at)
