"""VN_AQI, the Vietnam Air Quality Index of Decision 1459/QĐ-TCMT, hourly and daily (pure).

Inputs are hourly means in µg/m³ (CO too), keyed by hour start (`averaging.HourlyMeans`).
Choices the Decision leaves open, or where its examples disagree, are documented where made:
rounding (data file `data/vn_aqi.yaml`), NowCast with missing hours (`nowcast`), completeness
(`averaging`), concentrations above the top breakpoint (`scale.sub_index`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal

from lighthouse_os.environment import averaging as avg
from lighthouse_os.environment.scale import (
    PM_POLLUTANTS,
    POLLUTANTS,
    Band,
    GasConversion,
    Pollutant,
    Rounding,
    Scale,
    above_top,
    band_for,
    exact,
    round_half_up,
    sub_index,
    truncate,
)

Kind = Literal["hourly", "daily"]
NOWCAST_HOURS = 12

# Why a value or an AQI is missing: code → (English, Vietnamese), for pages and JSON.
MESSAGES: dict[str, tuple[str, str]] = {
    "no_data": ("No pollutant could be evaluated.", "Không tính được thông số nào."),
    "no_pm": (
        "No PM2.5 or PM10 sub-index: VN_AQI needs at least one particle parameter.",
        "Không có chỉ số phụ PM2.5 hoặc PM10: VN_AQI bắt buộc có ít nhất một thông số bụi.",
    ),
    "missing_hour": ("No value for this hour.", "Không có số liệu của giờ này."),
    "nowcast_incomplete": (
        "NowCast needs at least 2 of the 3 most recent hours.",
        "NowCast cần ít nhất 2 trong 3 giờ gần nhất.",
    ),
    "incomplete_day": (
        "Fewer than 18 of 24 hourly values in the day.",
        "Ngày có ít hơn 18 trên 24 giá trị trung bình giờ.",
    ),
    "incomplete_8h": (
        "Too few valid 8-hour means (needs 13 of 17, each with 6 of 8 hours).",
        "Không đủ giá trị trung bình 8 giờ hợp lệ (cần 13/17, mỗi giá trị cần 6/8 giờ).",
    ),
    "below_scale": (
        "Below the lowest breakpoint of this averaging time; not used.",
        "Thấp hơn điểm gãy nhỏ nhất của thời gian trung bình này; không sử dụng.",
    ),
    "o3_8h_above_top": (
        "Maximum 8-hour O3 above the 8-hour scale; only the 1-hour value is used.",
        "O3 trung bình 8 giờ lớn nhất vượt thang 8 giờ; chỉ dùng giá trị 1 giờ.",
    ),
}


@dataclass(frozen=True)
class AqiMethod:
    """One index method: breakpoint scales, bands, rounding and whether a PM value is required."""

    key: str
    name_vi: str
    name_en: str
    source: str
    status: str
    rounding: Rounding
    requires_pm: bool
    scales: tuple[Scale, ...]
    bands: tuple[Band, ...]
    conversion: GasConversion | None = None  # for methods whose gas scales are in ppb/ppm

    def scale(self, key: str) -> Scale:
        """The scale named `key` (e.g. `pm25`, `o3_8h`)."""
        for scale in self.scales:
            if scale.key == key:
                return scale
        raise KeyError(f"{self.key} has no scale {key!r}")


@dataclass(frozen=True)
class SubIndex:
    """One pollutant's sub-index and the averaged concentration (in the scale's unit) behind it."""

    pollutant: Pollutant
    scale: str
    averaging: str
    concentration: float
    unit: str
    raw: float
    value: int
    capped: bool


@dataclass(frozen=True)
class NowcastValue:
    """A reported NowCast concentration (µg/m³, 0.1 resolution) and its weight factor w."""

    pollutant: Pollutant
    value: float
    weight: float


@dataclass(frozen=True)
class AqiResult:
    """An hourly or daily AQI: the value, band, dominant pollutant and everything behind it."""

    method: str
    kind: Kind
    start: datetime
    aqi: int | None
    dominant: Pollutant | None
    band: Band | None
    sub_indices: tuple[SubIndex, ...]
    missing: tuple[tuple[Pollutant, str], ...]
    nowcasts: tuple[NowcastValue, ...] = ()
    notes: tuple[str, ...] = ()
    reason: str | None = None

    def sub_index(self, pollutant: Pollutant) -> SubIndex | None:
        """The sub-index of `pollutant`, None when it could not be computed."""
        return next((s for s in self.sub_indices if s.pollutant == pollutant), None)


@dataclass(frozen=True)
class Nowcast:
    """An unrounded NowCast (µg/m³), its weight factor w, and why it is None if it is."""

    value: float | None
    weight: float | None
    hours: int
    reason: str | None = None


def nowcast(recent: Sequence[float | None], *, normalise_half: bool = False) -> Nowcast:
    """NowCast of PM over the last 12 hours, `recent[0]` = c1 = the current hour.

    Decision 1459/QĐ-TCMT, hourly AQI (as DOMAIN.md §5): w* = Cmin/Cmax over the available hours;
    w = 0.5 if w* ≤ 0.5 else w*; w > 0.5: NowCast = Σ w^(i−1)·ci / Σ w^(i−1);
    w = 0.5: NowCast = Σ 0.5^i·ci; at least 2 of c1..c3 present; a missing hour has weight 0.

    Missing hours and w = 0.5: Σ 0.5^i·ci is the weighted mean Σ 0.5^(i−1)·ci / Σ 0.5^(i−1)
    simplified for 12 complete hours (its weights sum to 1 − 0.5^12). Dropping a missing hour from
    the literal sum would pull the NowCast towards zero (a missing current hour halves it), so we
    renormalise over the present hours: NowCast = (1 − 0.5^12) · Σp 0.5^i·ci / Σp 0.5^i, which is
    exactly Σ 0.5^i·ci when all 12 hours are present. `normalise_half=True` gives the plain
    weighted mean (US EPA's form, used by `epa.py`).
    """
    if len(recent) > NOWCAST_HOURS:
        raise ValueError(f"NowCast takes at most {NOWCAST_HOURS} hours, got {len(recent)}")
    present = [(i, c) for i, c in enumerate(recent, start=1) if c is not None]
    if sum(1 for i, _ in present if i <= 3) < 2:
        return Nowcast(None, None, len(present), "nowcast_incomplete")
    c_max = max(c for _, c in present)
    w_star = min(c for _, c in present) / c_max if c_max > 0 else 1.0
    w = 0.5 if w_star <= 0.5 else w_star
    weighted = sum(w ** (i - 1) * c for i, c in present) / sum(w ** (i - 1) for i, _ in present)
    if w == 0.5 and not normalise_half:
        weighted *= 1 - 0.5**NOWCAST_HOURS
    return Nowcast(weighted, w, len(present))


def make_sub_index(
    method: AqiMethod, scale_key: str, concentration: float, averaging: str
) -> SubIndex | None:
    """Sub-index of a concentration already in the scale's unit; None below the scale."""
    scale = method.scale(scale_key)
    index = sub_index(scale, concentration, method.rounding)
    if index is None:
        return None
    if scale.decimals is not None:  # report what was indexed (EPA truncates first)
        concentration = float(truncate(exact(concentration), scale.decimals))
    return SubIndex(
        pollutant=scale.pollutant,
        scale=scale.key,
        averaging=averaging,
        concentration=concentration,
        unit=scale.unit,
        raw=float(index.raw),
        value=index.value,
        capped=index.capped,
    )


def combine(
    method: AqiMethod,
    kind: Kind,
    start: datetime,
    subs: Sequence[SubIndex],
    missing: Sequence[tuple[Pollutant, str]],
    *,
    nowcasts: Sequence[NowcastValue] = (),
    notes: Sequence[str] = (),
) -> AqiResult:
    """AQI = max sub-index; the dominant pollutant sets it (ties go to the first in POLLUTANTS)."""
    ordered = tuple(sorted(subs, key=lambda s: POLLUTANTS.index(s.pollutant)))
    reason = _no_aqi_reason(method, ordered)
    best = None if reason else max(ordered, key=lambda s: (s.value, -POLLUTANTS.index(s.pollutant)))
    return AqiResult(
        method=method.key,
        kind=kind,
        start=start,
        aqi=None if best is None else best.value,
        dominant=None if best is None else best.pollutant,
        band=None if best is None else band_for(method.bands, best.value),
        sub_indices=ordered,
        missing=tuple(sorted(missing, key=lambda m: POLLUTANTS.index(m[0]))),
        nowcasts=tuple(nowcasts),
        notes=tuple(notes),
        reason=reason,
    )


def _no_aqi_reason(method: AqiMethod, subs: Sequence[SubIndex]) -> str | None:
    if not subs:
        return "no_data"
    if method.requires_pm and not any(s.pollutant in PM_POLLUTANTS for s in subs):
        return "no_pm"
    return None


class AqiBuilder:
    """Gathers sub-indices, missing reasons and notes while one AQI is being built."""

    def __init__(self, method: AqiMethod) -> None:
        self.method = method
        self.subs: list[SubIndex] = []
        self.missing: list[tuple[Pollutant, str]] = []
        self.nowcasts: list[NowcastValue] = []
        self.notes: list[str] = []

    def add(self, pollutant: Pollutant, scale: str, value: float | None, averaging: str) -> None:
        """Add the sub-index of `value`, or record `missing_hour`/`below_scale` for it."""
        if value is None:
            self.missing.append((pollutant, "missing_hour"))
            return
        sub = make_sub_index(self.method, scale, value, averaging)
        if sub is None:
            self.missing.append((pollutant, "below_scale"))
        else:
            self.subs.append(sub)

    def add_o3(
        self,
        one: float | None,
        eight: float | None,
        one_avg: str,
        eight_avg: str,
        *,
        one_missing: str,
    ) -> None:
        """O3 = the larger of its 1-h sub-index and 8-h sub-index (scale units).

        An 8-h value above the 8-h scale's top (VN 400 µg/m³, EPA 0.200 ppm) is not used and only
        the 1-h value counts (Decision 1459/QĐ-TCMT, daily AQI; EPA TAD 2024 breakpoint notes).
        """
        found: list[SubIndex] = []
        if one is not None:
            found += [s for s in [make_sub_index(self.method, "o3_1h", one, one_avg)] if s]
        if eight is not None and above_top(self.method.scale("o3_8h"), eight):
            self.notes.append("o3_8h_above_top")
        elif eight is not None:
            found += [s for s in [make_sub_index(self.method, "o3_8h", eight, eight_avg)] if s]
        if found:
            self.subs.append(max(found, key=lambda s: s.raw))
        elif one is None:
            self.missing.append(("o3", one_missing))
        else:
            self.missing.append(("o3", "incomplete_8h" if eight is None else "below_scale"))

    def result(self, kind: Kind, start: datetime) -> AqiResult:
        """The combined AQI of everything collected."""
        return combine(
            self.method, kind, start, self.subs, self.missing,
            nowcasts=self.nowcasts, notes=self.notes,
        )  # fmt: skip


def vn_hourly_aqi(method: AqiMethod, series: avg.HourlySeries, at: datetime) -> AqiResult:
    """Hourly VN_AQI (AQIʰ) for the hour starting at `at` (Decision 1459/QĐ-TCMT).

    SO2, CO, NO2 and O3 use the hour's 1-h mean (O3 on the 1-h breakpoints); PM2.5 and PM10 use
    the NowCast of the last 12 hours, reported and indexed at 0.1 µg/m³ (half up) as in the
    Decision's example (NowCast 20.3 → 41). AQIʰ = max sub-index; needs a PM sub-index.
    """
    acc = AqiBuilder(method)
    for pm in PM_POLLUTANTS:
        nc = nowcast(avg.recent(series, pm, at, NOWCAST_HOURS))
        if nc.value is None or nc.weight is None:
            acc.missing.append((pm, nc.reason or "nowcast_incomplete"))
            continue
        value = round_half_up(nc.value, 1)
        acc.nowcasts.append(NowcastValue(pm, value, nc.weight))
        acc.add(pm, pm, value, "nowcast")
    acc.add("o3", "o3_1h", avg.value_at(series, "o3", at), "1h")
    for gas in ("no2", "so2", "co"):
        acc.add(gas, gas, avg.value_at(series, gas, at), "1h")
    return acc.result("hourly", at)


def vn_daily_aqi(method: AqiMethod, series: avg.HourlySeries, start: datetime) -> AqiResult:
    """Daily VN_AQI (AQIᵈ) of the calendar day starting at `start` (Decision 1459/QĐ-TCMT).

    PM: 24-h mean (0.1 µg/m³, half up); SO2, NO2, CO: the day's highest 1-h mean; O3: the larger
    of the max 1-h mean (1-h breakpoints) and the max 8-h rolling mean (8-h breakpoints), the 8-h
    value dropped when above 400 µg/m³. Completeness rules are in `averaging`.
    """
    acc = AqiBuilder(method)
    for pm in PM_POLLUTANTS:
        _add_aggregate(acc, pm, pm, avg.daily_mean(series, pm, start), "24h", "incomplete_day")
    for gas in ("no2", "so2", "co"):
        peak = avg.daily_max_1h(series, gas, start)
        _add_aggregate(acc, gas, gas, peak, "1h_max", "incomplete_day")
    _add_daily_o3(acc, series, start)
    return acc.result("daily", start)


def _add_aggregate(
    acc: AqiBuilder, pollutant: Pollutant, scale: str, agg: avg.Aggregate, averaging: str, why: str
) -> None:
    if agg.value is None:
        acc.missing.append((pollutant, why))
    else:
        acc.add(pollutant, scale, round_half_up(agg.value, 1), averaging)


def _add_daily_o3(acc: AqiBuilder, series: avg.HourlySeries, start: datetime) -> None:
    one = avg.daily_max_1h(series, "o3", start)
    eight = avg.daily_max_8h(series, "o3", start)
    eight_value = None if eight.value is None else round_half_up(eight.value, 1)
    acc.add_o3(one.value, eight_value, "1h_max", "8h_max", one_missing="incomplete_day")


def vn_hourly_series(method: AqiMethod, hours: Iterable[avg.HourlyMeans]) -> list[AqiResult]:
    """Hourly VN_AQI for every hour present, in time order."""
    series = avg.index_hours(hours)
    return [vn_hourly_aqi(method, series, at) for at in sorted(series)]


def vn_daily_series(
    method: AqiMethod, hours: Iterable[avg.HourlyMeans], tz: tzinfo = avg.ICT
) -> list[AqiResult]:
    """Daily VN_AQI for every calendar day (in `tz`, default Vietnam time) holding data."""
    series = avg.index_hours(hours)
    return [vn_daily_aqi(method, series, avg.day_start(d, tz)) for d in avg.days_in(series, tz)]
