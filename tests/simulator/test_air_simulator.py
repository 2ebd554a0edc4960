"""Air-quality simulator: determinism, realistic HCMC ranges and daily shape."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest

from lighthouse_os.environment import standards
from lighthouse_os.environment.aqi import vn_hourly_series
from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.scale import Pollutant
from lighthouse_os.simulator.air import AirSimulation, diurnal_profile, simulate_air, stations_for

DRY = datetime(2025, 2, 1, tzinfo=ICT)
WET = datetime(2025, 8, 1, tzinfo=ICT)
MONTH = 24 * 28


@pytest.fixture(scope="module")
def dry_month() -> AirSimulation:
    return simulate_air(6, DRY, MONTH, seed=11)


def values(sim: AirSimulation, pollutant: Pollutant) -> list[float]:
    found = (r.means.get(pollutant) for r in sim.readings)
    return [v for v in found if v is not None]


def test_simulate_air_is_deterministic_for_a_seed() -> None:
    a = simulate_air(3, DRY, 48, seed=5)
    b = simulate_air(3, DRY, 48, seed=5)
    c = simulate_air(3, DRY, 48, seed=6)
    assert a == b
    assert a.readings != c.readings


def test_a_station_series_does_not_depend_on_the_number_of_stations() -> None:
    few = simulate_air(2, DRY, 24, seed=5)
    many = simulate_air(5, DRY, 24, seed=5)
    assert few.hours_for("HCM-AQ-002") == many.hours_for("HCM-AQ-002")


def test_simulate_air_returns_every_station_hour_in_order() -> None:
    sim = simulate_air(4, DRY, 10, seed=1)
    assert len(sim.readings) == 40
    starts = [r.means.start for r in sim.readings]
    assert starts == sorted(starts)
    assert [s.code for s in sim.stations] == [f"HCM-AQ-{k:03d}" for k in range(1, 5)]


def test_stations_lie_within_ho_chi_minh_city_and_name_their_area() -> None:
    stations = stations_for(30)
    assert len({s.code for s in stations}) == 30
    for s in stations:
        assert 10.35 <= s.lat <= 11.2
        assert 106.35 <= s.lon <= 107.05
        assert s.area
        assert "pm25" in s.parameters
    assert any(s.kind == "industrial" and "KCN" in s.area for s in stations)


def test_pm25_is_typically_20_to_40_in_the_dry_season(dry_month: AirSimulation) -> None:
    pm25 = values(dry_month, "pm25")
    assert 20 <= statistics.median(pm25) <= 40
    assert min(pm25) > 0
    assert max(pm25) < 300


def test_dry_season_is_dirtier_than_wet_season() -> None:
    wet = simulate_air(6, WET, MONTH, seed=11)
    dry = simulate_air(6, DRY, MONTH, seed=11)
    assert statistics.median(values(dry, "pm25")) > 1.2 * statistics.median(values(wet, "pm25"))
    assert 15 <= statistics.median(values(wet, "pm25")) <= 35


@pytest.mark.parametrize(
    ("pollutant", "low", "high"),
    [("pm10", 25, 90), ("o3", 10, 80), ("no2", 15, 60), ("so2", 3, 40), ("co", 400, 2000)],
)
def test_other_pollutants_have_plausible_medians(
    dry_month: AirSimulation, pollutant: Pollutant, low: float, high: float
) -> None:
    assert low <= statistics.median(values(dry_month, pollutant)) <= high


def test_pm10_exceeds_pm25(dry_month: AirSimulation) -> None:
    for r in dry_month.readings:
        if r.means.pm25 is not None and r.means.pm10 is not None:
            assert r.means.pm10 > r.means.pm25


def test_traffic_pollutants_peak_at_rush_hours(dry_month: AirSimulation) -> None:
    for pollutant in ("no2", "co", "pm25"):
        profile = diurnal_profile(dry_month, pollutant)
        night = statistics.mean(profile[1:5])
        midday = statistics.mean(profile[11:15])
        assert statistics.mean(profile[7:9]) > max(night, midday), pollutant
        assert statistics.mean(profile[17:19]) > max(night, midday), pollutant


def test_ozone_peaks_in_the_early_afternoon(dry_month: AirSimulation) -> None:
    profile = diurnal_profile(dry_month, "o3")
    assert 11 <= profile.index(max(profile)) <= 15
    assert min(profile[11:15]) > 2 * max(profile[0:5])


def test_industrial_stations_carry_more_so2(dry_month: AirSimulation) -> None:
    kinds = {s.code: s.kind for s in dry_month.stations}
    by_kind: dict[str, list[float]] = {}
    for r in dry_month.readings:
        if r.means.so2 is not None:
            by_kind.setdefault(kinds[r.station], []).append(r.means.so2)
    assert statistics.median(by_kind["industrial"]) > 1.8 * statistics.median(by_kind["urban"])


def test_background_station_measures_fewer_parameters() -> None:
    sim = simulate_air(14, DRY, 2, seed=1)
    background = next(s for s in sim.stations if s.kind == "background")
    assert set(background.parameters) == {"pm25", "pm10", "o3", "no2"}
    assert all(h.so2 is None and h.co is None for h in sim.hours_for(background.code))


def test_missing_rate_drops_about_that_share_of_values() -> None:
    sim = simulate_air(2, DRY, 24 * 20, seed=3, missing_rate=0.1)
    share = 1 - len(values(sim, "pm25")) / len(sim.readings)
    assert 0.06 <= share <= 0.14


def test_simulated_hours_feed_the_vn_aqi() -> None:
    sim = simulate_air(1, DRY, 48, seed=2)
    results = vn_hourly_series(standards.vn_aqi_method(), sim.hours_for("HCM-AQ-001"))
    assert all(r.aqi is not None and 0 < r.aqi <= 500 for r in results[1:])


def test_start_may_be_in_utc_and_must_be_on_the_hour() -> None:
    utc = simulate_air(1, datetime(2025, 2, 1, 17, tzinfo=UTC), 1, seed=1)
    assert utc.readings[0].means.start.astimezone(ICT).hour == 0
    with pytest.raises(ValueError, match="on the hour"):
        simulate_air(1, DRY + timedelta(minutes=5), 1, seed=1)
    with pytest.raises(ValueError, match="at least 1"):
        simulate_air(0, DRY, 1, seed=1)
    with pytest.raises(ValueError, match="missing_rate"):
        simulate_air(1, DRY, 1, seed=1, missing_rate=2.0)
