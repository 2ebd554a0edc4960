"""Load the factor tables (YAML next to this module) into the cores' value objects."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from lighthouse_os.kpi.emissions import FuelFactor, GridFactor
from lighthouse_os.kpi.energy import KRow, ReactiveChargeTable

GRID_FILE = "grid_emission_factors.yaml"
FUEL_FILE = "fuel_emission_factors.yaml"
REACTIVE_FILE = "reactive_power_k.yaml"


def read_table(name: str) -> dict[str, Any]:
    """The parsed YAML data file `name` shipped with the kpi package."""
    text = resources.files("lighthouse_os.kpi").joinpath(name).read_text(encoding="utf-8")
    return parse_table(name, text)


def parse_table(name: str, text: str) -> dict[str, Any]:
    """Parse the YAML text of data file `name`; its top level must be a mapping."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{name}: expected a mapping at the top level")
    return data


@cache
def grid_factors() -> tuple[GridFactor, ...]:
    """Vietnam grid emission factors by year, each with its source and status."""
    rows = read_table(GRID_FILE)["factors"]
    return tuple(
        GridFactor(int(r["year"]), float(r["value"]), str(r["source"]), str(r["status"]))
        for r in rows
    )


@cache
def fuel_factors() -> dict[str, FuelFactor]:
    """Scope 1 fuel factors keyed by fuel name."""
    rows = read_table(FUEL_FILE)["fuels"]
    return {
        str(r["fuel"]): FuelFactor(
            str(r["fuel"]),
            str(r["unit"]),
            float(r["kg_co2e_per_unit"]),
            str(r["source"]),
            str(r["status"]),
        )
        for r in rows
    }


@cache
def reactive_charge_table() -> ReactiveChargeTable:
    """The k table for reactive-power charges, with its source and status."""
    data = read_table(REACTIVE_FILE)
    rows = tuple(KRow(float(r["cos_phi"]), float(r["k_percent"])) for r in data["rows"])
    return ReactiveChargeTable(
        threshold=float(data["threshold"]),
        rows=tuple(sorted(rows, key=lambda r: r.cos_phi, reverse=True)),
        below_table_k_percent=float(data["below_table_k_percent"]),
        source=f"{data['regulation']}; {data['source']}",
        status=str(data["status"]),
        lookup_rule=str(data["lookup_rule"]),
    )
