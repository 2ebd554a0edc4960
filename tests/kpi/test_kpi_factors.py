"""Tests of the shipped factor tables: provenance, internal consistency, defaults."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from lighthouse_os.kpi import factors
from lighthouse_os.kpi.emissions import default_grid_factor

STATUSES = {"official", "research-estimate", "ipcc-default", "ipcc-default+assumed-density"}


def test_grid_factors_match_the_domain_table() -> None:
    # DOMAIN.md §4: combined margin, tCO2/MWh, as published by the Department of Climate Change.
    table = {f.year: (f.t_co2_per_mwh, f.status) for f in factors.grid_factors()}
    assert table == {
        2019: (0.8458, "official"),
        2020: (0.8041, "official"),
        2021: (0.7221, "official"),
        2022: (0.6766, "official"),
        2023: (0.6592, "official"),
        2024: (0.6811, "research-estimate"),
    }


def test_default_grid_factor_is_the_latest_official_year_in_the_file() -> None:
    raw = factors.read_table(factors.GRID_FILE)["factors"]
    latest_official = max(r["year"] for r in raw if r["status"] == "official")
    assert default_grid_factor(factors.grid_factors()).year == latest_official


def test_every_factor_carries_source_and_status() -> None:
    rows = [(f.source, f.status) for f in factors.grid_factors()]
    rows += [(f.source, f.status) for f in factors.fuel_factors().values()]
    assert all(source.strip() for source, _ in rows)
    assert {status for _, status in rows} <= STATUSES


@pytest.mark.parametrize("fuel", ["diesel", "gasoline", "lpg", "natural_gas", "coal", "anthracite"])
def test_fuel_factor_equals_its_ipcc_components(fuel: str) -> None:
    data = factors.read_table(factors.FUEL_FILE)
    row = next(r for r in data["fuels"] if r["fuel"] == fuel)
    if "ncv_mj_per_kg" in row:
        assert row["energy_mj_per_unit"] == pytest.approx(
            row["ncv_mj_per_kg"] * row["density_kg_per_unit"]
        )
    ef, gwp = row["ef_kg_per_tj"], data["gwp"]
    per_tj = ef["co2"] + ef["ch4"] * gwp["ch4"] + ef["n2o"] * gwp["n2o"]
    expected = row["energy_mj_per_unit"] * 1e-6 * per_tj
    assert factors.fuel_factors()[fuel].kg_co2e_per_unit == pytest.approx(expected, abs=5e-5)


def _half_up(value: float) -> float:
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_k_table_is_consistent_with_its_closed_form() -> None:
    # Transcription check only: the table is marked unverified against the official text.
    table = factors.reactive_charge_table()
    for row in table.rows:
        expected = _half_up(round((table.threshold / row.cos_phi - 1) * 100, 6))
        assert row.k_percent == expected, row
    below = _half_up(round((table.threshold / 0.59 - 1) * 100, 6))
    assert table.below_table_k_percent == below
    assert table.status == "unverified"
    assert [r.cos_phi for r in table.rows] == sorted((r.cos_phi for r in table.rows), reverse=True)


def test_parse_table_rejects_non_mapping() -> None:
    with pytest.raises(ValueError, match=r"broken\.yaml: expected a mapping"):
        factors.parse_table("broken.yaml", "- just\n- a list\n")
