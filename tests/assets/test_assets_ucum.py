"""UCUM unit codes: industrial units pass, common mistakes fail with a reason."""

from __future__ import annotations

import pytest

from lighthouse_os.assets.ucum import UnitError, UnitTable, check_unit
from lighthouse_os.assets.unit_data import unit_table, valid_unit


@pytest.mark.parametrize(
    "code",
    [
        "kW.h",  # UCUM 2.1 §2.2: products with '.'
        "Cel",
        "1",
        "kW",
        "kvar.h",
        "ug/m3",  # QCVN 05:2023 concentrations
        "mg/L",
        "m3/h",
        "%",
        "/min",
        "s-1",
        "kg.m/s2",
        "(kg.m)/s2",
        "{count}",
        "{piece}/h",
        "[ppm]",
        "hPa",
        "10",
        "t",
        "kcal",
        "mbar",
    ],
)
def test_ucum_accepts_valid_codes(code: str) -> None:
    assert valid_unit(code) == code


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("kWh", "kW.h"),
        ("KW", "case-sensitive"),
        ("celsius", "unknown unit"),
        ("", "empty"),
        (" kW", "spaces"),
        ("m/", "empty component"),
        ("{x", "unbalanced"),
        ("(m", "unbalanced"),
        ("m)", "unbalanced"),
        ("kmin", "unknown unit"),  # minute is not metric: no prefix
        ("{a b}", "annotation"),
    ],
)
def test_ucum_refuses_invalid_codes_with_a_reason(code: str, hint: str) -> None:
    with pytest.raises(UnitError, match=hint.replace("(", r"\(").replace("[", r"\[")):
        valid_unit(code)


def test_ucum_table_is_data_with_prefixes_and_atoms() -> None:
    table = unit_table()
    assert table.prefixes["k"] == 1e3
    assert table.atoms["W"] is True
    assert table.atoms["h"] is False


def test_ucum_uses_only_the_given_table() -> None:
    tiny = UnitTable(prefixes={"k": 1e3}, atoms={"g": True})
    assert check_unit("kg", tiny) == "kg"
    with pytest.raises(UnitError):
        check_unit("kW", tiny)
