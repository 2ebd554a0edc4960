"""Load the UCUM subset shipped in `ucum.yaml` into the core's `UnitTable`."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from lighthouse_os.assets.ucum import UnitTable, check_unit

UNITS_FILE = "ucum.yaml"


@cache
def unit_table() -> UnitTable:
    """The prefixes and atoms of `ucum.yaml` (UCUM 2.1 tables 1-8, subset; see its status)."""
    text = resources.files("lighthouse_os.assets").joinpath(UNITS_FILE).read_text("utf-8")
    data = yaml.safe_load(text)
    prefixes = {str(k): float(v) for k, v in data["prefixes"].items()}
    atoms = {str(row["code"]): bool(row["metric"]) for row in data["atoms"]}
    return UnitTable(prefixes, atoms)


def valid_unit(code: str) -> str:
    """`code` when it is valid UCUM against the shipped table; UnitError otherwise."""
    return check_unit(code, unit_table())
