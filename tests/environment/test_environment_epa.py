"""US EPA AQI (May 2024) from hourly µg/m³ means."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lighthouse_os.environment import standards
from lighthouse_os.environment.aqi import nowcast
from lighthouse_os.environment.averaging import ICT, HourlyMeans, index_hours
from lighthouse_os.environment.epa import (
    epa_daily_aqi,
    epa_daily_series,
    epa_hourly_aqi,
    epa_hourly_series,
    to_ppb,
    to_ppm,
)

EPA = standards.epa_aqi_method()
VN = standards.vn_aqi_method()
H = timedelta(hours=1)
DAY = datetime(2025, 3, 1, tzinfo=ICT)


@pytest.mark.parametrize(
    ("gas", "ug_m3", "ppb"),
    [
        ("no2", 46.0055, 24.45),
        ("so2", 64.066, 24.45),
        ("o3", 48.0, 24.45),
        ("co", 28010.0, 24450.0),
    ],
)
def test_to_ppb_uses_24_45_litres_per_mole_at_25_c(gas: str, ug_m3: float, ppb: float) -> None:
    assert to_ppb(EPA, gas, ug_m3) == pytest.approx(ppb)  # type: ignore[arg-type]


def test_to_ppm_is_ppb_over_1000_and_keeps_none() -> None:
    assert to_ppm(EPA, "co", 28010.0) == pytest.approx(24.45)
    assert to_ppm(EPA, "co", None) is None


def test_to_ppb_needs_conversion_data() -> None:
    with pytest.raises(ValueError, match="conversion"):
        to_ppb(VN, "no2", 10.0)


def test_epa_hourly_uses_nowcast_for_pm_and_one_hour_no2() -> None:
    at = DAY + 11 * H
    hours = [HourlyMeans(at - k * H, pm25=35.9, no2=200.0) for k in range(12)]
    result = epa_hourly_aqi(EPA, index_hours(hours), at)
    pm25, no2 = result.sub_index("pm25"), result.sub_index("no2")
    assert pm25 is not None
    assert no2 is not None
    assert (pm25.averaging, pm25.concentration, pm25.value) == ("nowcast", 35.9, 102)
    # 200 µg/m³ → 106.29 ppb → truncated 106 → 5 × 49/259 + 101 = 101.9 → 102
    assert (no2.concentration, no2.unit, no2.value) == (106.0, "ppb", 102)
    assert result.aqi == 102


def test_epa_nowcast_is_the_plain_weighted_mean_at_half_weight() -> None:
    c = [100.0, 10.0] * 6
    epa_form = nowcast(c, normalise_half=True)
    assert epa_form.value == pytest.approx(
        sum(0.5**i * x for i, x in enumerate(c)) / sum(0.5**i for i in range(12))
    )


def test_epa_hourly_co_uses_the_trailing_8h_mean_and_needs_6_hours() -> None:
    at = DAY + 7 * H
    hours = [HourlyMeans(at - k * H, pm25=5.0, co=5730.0) for k in range(6)]
    result = epa_hourly_aqi(EPA, index_hours(hours), at)
    co = result.sub_index("co")
    assert co is not None
    assert (co.averaging, co.concentration) == ("8h", 5.0)  # 5730 µg/m³ → 5.0016 ppm
    fewer = epa_hourly_aqi(EPA, index_hours(hours[:5]), at)
    assert dict(fewer.missing)["co"] == "incomplete_8h"


def test_epa_ozone_above_the_8h_scale_uses_the_one_hour_value() -> None:
    at = DAY + 7 * H
    o3 = 0.25 * 1000 * 48.0 / 24.45  # 0.25 ppm in µg/m³
    hours = [HourlyMeans(at - k * H, o3=o3) for k in range(8)]
    result = epa_hourly_aqi(EPA, index_hours(hours), at)
    sub = result.sub_index("o3")
    assert sub is not None
    assert sub.scale == "o3_1h"
    assert "o3_8h_above_top" in result.notes


def test_epa_does_not_require_a_pm_value() -> None:
    at = DAY
    result = epa_hourly_aqi(EPA, index_hours([HourlyMeans(at, so2=100.0)]), at)
    assert result.aqi is not None
    assert result.dominant == "so2"


def test_epa_daily_uses_24h_pm_and_daily_maxima() -> None:
    hours = [HourlyMeans(DAY + k * H, pm25=12.0, no2=40.0 if k != 9 else 150.0) for k in range(24)]
    result = epa_daily_aqi(EPA, index_hours(hours), DAY)
    pm25, no2 = result.sub_index("pm25"), result.sub_index("no2")
    assert pm25 is not None
    assert no2 is not None
    assert (pm25.averaging, pm25.concentration, pm25.value) == ("24h", 12.0, 56)
    assert (no2.averaging, no2.concentration) == ("1h_max", 79.0)  # 150 × 24.45/46.0055
    assert result.band is not None
    assert result.band.name_en == "Moderate"


def test_epa_daily_marks_incomplete_days() -> None:
    hours = [HourlyMeans(DAY + k * H, pm25=12.0) for k in range(10)]
    result = epa_daily_aqi(EPA, index_hours(hours), DAY)
    assert result.aqi is None
    assert dict(result.missing)["pm25"] == "incomplete_day"


def test_epa_series_cover_every_hour_and_day() -> None:
    hours = [HourlyMeans(DAY + k * H, pm25=9.0) for k in range(30)]
    assert [r.aqi for r in epa_hourly_series(EPA, hours)][-1] == 50
    assert [r.aqi for r in epa_daily_series(EPA, hours)] == [50, None]


def test_builder_records_below_scale_values() -> None:
    from lighthouse_os.environment.aqi import AqiBuilder

    acc = AqiBuilder(EPA)
    acc.add("o3", "o3_1h", 0.1, "1h")
    assert acc.missing == [("o3", "below_scale")]
