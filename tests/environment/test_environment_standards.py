"""Bundled standards data: every file loads, carries its source, and bad data is refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from lighthouse_os.environment import standards
from lighthouse_os.environment.standards import StandardsDataError


def test_every_data_file_names_its_source_and_status() -> None:
    for method in (standards.vn_aqi_method(), standards.epa_aqi_method()):
        assert "1459" in method.source or "EPA-454/B-24-002" in method.source
        assert method.status
    assert standards.load_yaml("qcvn05_2023.yaml")["source"].startswith("QCVN 05:2023/BTNMT")


def test_vn_method_has_every_pollutant_scale() -> None:
    keys = {s.key for s in standards.vn_aqi_method().scales}
    assert keys == {"o3_1h", "o3_8h", "co", "so2", "no2", "pm10", "pm25"}


def test_epa_pm25_good_band_ends_at_9() -> None:
    first = standards.epa_aqi_method().scale("pm25").segments[0]
    assert (first.c_low, first.c_high, first.i_high) == (Decimal(0), Decimal(9), 50)


def test_method_scale_rejects_unknown_keys() -> None:
    with pytest.raises(KeyError, match="o3_24h"):
        standards.vn_aqi_method().scale("o3_24h")


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (standards._number, True),
        (standards._number, "12"),
        (standards._pollutant, "benzene"),
        (standards._rounding, "banker"),
        (standards._date, "2025-01-01"),
        (standards._required_date, None),
    ],
)
def test_loader_checks_refuse_malformed_values(check: Any, value: object) -> None:
    with pytest.raises(StandardsDataError):
        check(value)


def test_vn_scale_must_rise() -> None:
    row = {"pollutant": "pm25", "averaging": "24h", "breakpoints": [0, 50, 25]}
    with pytest.raises(StandardsDataError, match="rise"):
        standards._vn_scale("pm25", row, [0, 50, 100], "µg/m3")


def test_coefficient_steps_refuses_a_single_value() -> None:
    with pytest.raises(StandardsDataError, match="step table"):
        standards.coefficient_steps("kq_coastal_other")


def test_choice_refuses_unknown_averaging() -> None:
    with pytest.raises(StandardsDataError, match="not one of"):
        standards._choice("2h", ("1h", "8h"))


def test_qcvn05_dates_are_dates() -> None:
    assert all(isinstance(lim.valid_from, date) for lim in standards.qcvn05_limits())
