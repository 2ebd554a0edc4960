"""US EPA AQI (May 2024 revision) from hourly µg/m³ means, for comparison with VN_AQI (pure).

Averaging per pollutant (EPA TAD EPA-454/B-24-002) and what we do with hourly input:

| pollutant | EPA averaging         | hourly AQI here              | daily AQI here              |
|-----------|-----------------------|------------------------------|-----------------------------|
| PM2.5     | 24-h (NowCast hourly) | NowCast, 12 h, EPA form      | 24-h mean (≥ 18 h)          |
| PM10      | 24-h (NowCast hourly) | NowCast, 12 h, EPA form      | 24-h mean (≥ 18 h)          |
| O3        | 8-h; 1-h where higher | 8-h mean ending this hour(*) | max 8-h (17 windows), 1-h   |
| CO        | 8-h                   | 8-h mean ending this hour    | max 8-h (17 windows)        |
| SO2       | 1-h (24-h above 304)  | 1-h (**)                     | max 1-h (**)                |
| NO2       | 1-h                   | 1-h                          | max 1-h                     |

(*) AirNow reports hourly ozone with its own ozone NowCast; we use the plain trailing 8-h mean.
(**) Above 304 ppb the TAD uses the 24-h SO2 mean; we keep the 1-h value, which can overstate.
Gases are converted from µg/m³ at 25 °C and 1 atm (ppb = µg/m³ × 24.45 / M) and truncated as the
TAD says (O3 0.001 ppm, CO 0.1 ppm, SO2 and NO2 1 ppb, PM2.5 0.1 µg/m³, PM10 1 µg/m³) before the
interpolation; the AQI is rounded to the nearest integer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo

from lighthouse_os.environment import averaging as avg
from lighthouse_os.environment.aqi import (
    NOWCAST_HOURS,
    AqiBuilder,
    AqiMethod,
    AqiResult,
    NowcastValue,
    nowcast,
)
from lighthouse_os.environment.scale import PM_POLLUTANTS, Pollutant, exact, truncate


def to_ppb(method: AqiMethod, pollutant: Pollutant, ug_m3: float | None) -> float | None:
    """ppb = µg/m³ × V_m / M at 25 °C, 1 atm (V_m = 24.45 L/mol); None stays None."""
    if ug_m3 is None:
        return None
    if method.conversion is None:
        raise ValueError(f"method {method.key} has no gas conversion data")
    return method.conversion.to_ppb(pollutant, ug_m3)


def to_ppm(method: AqiMethod, pollutant: Pollutant, ug_m3: float | None) -> float | None:
    """ppm = ppb / 1000 (O3 and CO scales are in ppm)."""
    ppb = to_ppb(method, pollutant, ug_m3)
    return None if ppb is None else ppb / 1000


def _pm_nowcasts(acc: AqiBuilder, series: avg.HourlySeries, at: datetime) -> None:
    for pm in PM_POLLUTANTS:
        nc = nowcast(avg.recent(series, pm, at, NOWCAST_HOURS), normalise_half=True)
        if nc.value is None or nc.weight is None:
            acc.missing.append((pm, nc.reason or "nowcast_incomplete"))
            continue
        decimals = acc.method.scale(pm).decimals or 0
        value = float(truncate(exact(nc.value), decimals))
        acc.nowcasts.append(NowcastValue(pm, value, nc.weight))
        acc.add(pm, pm, value, "nowcast")


def epa_hourly_aqi(method: AqiMethod, series: avg.HourlySeries, at: datetime) -> AqiResult:
    """US EPA AQI for the hour starting at `at` (approximations in the module docstring)."""
    acc = AqiBuilder(method)
    _pm_nowcasts(acc, series, at)
    o3_8h = avg.mean_8h_ending(series, "o3", at).value
    o3_1h = avg.value_at(series, "o3", at)
    acc.add_o3(
        to_ppm(method, "o3", o3_1h), to_ppm(method, "o3", o3_8h), "1h", "8h",
        one_missing="missing_hour",
    )  # fmt: skip
    _add_or_miss(acc, "co", to_ppm(method, "co", avg.mean_8h_ending(series, "co", at).value), "8h")
    for gas in ("so2", "no2"):
        acc.add(gas, gas, to_ppb(method, gas, avg.value_at(series, gas, at)), "1h")
    return acc.result("hourly", at)


def _add_or_miss(acc: AqiBuilder, gas: Pollutant, value: float | None, averaging: str) -> None:
    if value is None:
        acc.missing.append((gas, "incomplete_8h"))
    else:
        acc.add(gas, gas, value, averaging)


def epa_daily_aqi(method: AqiMethod, series: avg.HourlySeries, start: datetime) -> AqiResult:
    """US EPA daily AQI of the calendar day starting at `start` (EPA TAD 2024, daily reporting)."""
    acc = AqiBuilder(method)
    for pm in PM_POLLUTANTS:
        mean = avg.daily_mean(series, pm, start).value
        if mean is None:
            acc.missing.append((pm, "incomplete_day"))
        else:
            acc.add(pm, pm, mean, "24h")
    one = avg.daily_max_1h(series, "o3", start).value
    eight = avg.daily_max_8h(series, "o3", start).value
    acc.add_o3(
        to_ppm(method, "o3", one), to_ppm(method, "o3", eight), "1h_max", "8h_max",
        one_missing="incomplete_day",
    )  # fmt: skip
    co = avg.daily_max_8h(series, "co", start).value
    _add_or_miss(acc, "co", to_ppm(method, "co", co), "8h_max")
    for gas in ("so2", "no2"):
        peak = avg.daily_max_1h(series, gas, start).value
        if peak is None:
            acc.missing.append((gas, "incomplete_day"))
        else:
            acc.add(gas, gas, to_ppb(method, gas, peak), "1h_max")
    return acc.result("daily", start)


def epa_hourly_series(method: AqiMethod, hours: Iterable[avg.HourlyMeans]) -> list[AqiResult]:
    """US EPA hourly AQI for every hour present, in time order."""
    series = avg.index_hours(hours)
    return [epa_hourly_aqi(method, series, at) for at in sorted(series)]


def epa_daily_series(
    method: AqiMethod, hours: Iterable[avg.HourlyMeans], tz: tzinfo = avg.ICT
) -> list[AqiResult]:
    """US EPA daily AQI for every calendar day (in `tz`) holding data."""
    series = avg.index_hours(hours)
    return [epa_daily_aqi(method, series, avg.day_start(d, tz)) for d in avg.days_in(series, tz)]
