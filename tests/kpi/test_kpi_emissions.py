"""Tests of the GHG Protocol emissions core (with its own small factor tables)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.kpi.emissions import (
    NO_UNITS,
    ContractCover,
    EmissionsInputError,
    FuelFactor,
    FuelUse,
    GridFactor,
    default_grid_factor,
    emission_intensity,
    grid_factor_for,
    scope1,
    scope2_location,
    scope2_market,
)

GRID = (
    GridFactor(2022, 0.6766, "letter", "official"),
    GridFactor(2023, 0.6592, "pub", "official"),
    GridFactor(2024, 0.6811, "paper", "research-estimate"),
)
FUELS = {
    "diesel": FuelFactor("diesel", "L", 2.6853, "ipcc", "default"),
    "lpg": FuelFactor("lpg", "kg", 2.9872, "ipcc", "default"),
}


def test_default_grid_factor_is_latest_official_not_latest_year() -> None:
    assert default_grid_factor(GRID).year == 2023
    assert grid_factor_for(GRID).year == 2023


def test_grid_factor_for_an_estimated_year_keeps_its_status() -> None:
    assert grid_factor_for(GRID, 2024).status == "research-estimate"


def test_grid_factor_for_unknown_year_lists_the_years() -> None:
    with pytest.raises(EmissionsInputError, match="available years: 2022, 2023, 2024"):
        grid_factor_for(GRID, 2018)


def test_default_grid_factor_needs_an_official_year() -> None:
    with pytest.raises(EmissionsInputError, match="no official"):
        default_grid_factor(GRID[2:])


@pytest.mark.parametrize(
    ("kwh", "year", "t_co2e"),
    [(1_000.0, 2023, 0.6592), (2_500_000.0, 2022, 1_691.5), (0.0, 2023, 0.0)],
)
def test_scope2_location_is_kwh_times_grid_factor(kwh: float, year: int, t_co2e: float) -> None:
    result = scope2_location(kwh, grid_factor_for(GRID, year))
    assert result.t_co2e == pytest.approx(t_co2e)
    assert result.factor.year == year


def test_scope1_sums_fuels_with_their_factors() -> None:
    result = scope1([FuelUse("diesel", 1_000), FuelUse("lpg", 200)], FUELS)
    assert result.t_co2e == pytest.approx(2.6853 + 0.2 * 2.9872)
    assert [line.factor.fuel for line in result.lines] == ["diesel", "lpg"]
    assert scope1([], FUELS).t_co2e == 0


@pytest.mark.parametrize(
    ("uses", "message"),
    [([FuelUse("peat", 1)], "unknown fuel 'peat'"), ([FuelUse("lpg", -1)], ">= 0")],
)
def test_scope1_rejects_bad_fuel_use(uses: list[FuelUse], message: str) -> None:
    with pytest.raises(EmissionsInputError, match=message):
        scope1(uses, FUELS)


def test_scope2_market_counts_certificates_at_their_factor() -> None:
    covers = [ContractCover(400.0, 0.0, "I-REC"), ContractCover(100.0, 0.5, "PPA")]
    result = scope2_market(1_000.0, covers, GRID[1])
    assert result.t_co2e == pytest.approx((100 * 0.5 + 500 * 0.6592) / 1_000)
    assert (result.covered_kwh, result.residual_kwh) == (500.0, 500.0)


def test_scope2_market_without_contracts_equals_location_based() -> None:
    assert scope2_market(800.0, [], GRID[1]).t_co2e == scope2_location(800.0, GRID[1]).t_co2e


@pytest.mark.parametrize(
    ("kwh", "covers", "message"),
    [
        (100.0, [ContractCover(150.0, 0.0, "REC")], "more than the 100.0 kWh"),
        (-1.0, [], ">= 0"),
        (100.0, [ContractCover(10.0, -0.1, "REC")], ">= 0"),
    ],
)
def test_scope2_market_rejects_inconsistent_cover(
    kwh: float, covers: list[ContractCover], message: str
) -> None:
    with pytest.raises(EmissionsInputError, match=message):
        scope2_market(kwh, covers, GRID[1])


def test_scope2_location_rejects_negative_energy() -> None:
    with pytest.raises(EmissionsInputError, match=">= 0"):
        scope2_location(-5.0, GRID[1])


@given(st.floats(0, 1e7), st.floats(0, 1), st.floats(0, 1))
def test_scope2_market_never_exceeds_location_with_zero_carbon_cover(
    kwh: float, share: float, factor_share: float
) -> None:
    cover = ContractCover(kwh * share, GRID[1].t_co2_per_mwh * factor_share, "contract")
    market = scope2_market(kwh, [cover], GRID[1]).t_co2e
    assert market <= scope2_location(kwh, GRID[1]).t_co2e * (1 + 1e-12) + 1e-12


@pytest.mark.parametrize(
    ("t_co2e", "units", "expected", "reason"),
    [(2.0, 1_000, 2.0, None), (0.0, 10, 0.0, None), (1.0, 0, None, NO_UNITS)],
)
def test_emission_intensity_is_kg_per_unit(
    t_co2e: float, units: float, expected: float | None, reason: str | None
) -> None:
    result = emission_intensity(t_co2e, units)
    assert (result.kg_co2e_per_unit, result.undefined_reason) == (expected, reason)


def test_emission_intensity_rejects_negative_units() -> None:
    with pytest.raises(EmissionsInputError, match=">= 0"):
        emission_intensity(1.0, -1)
