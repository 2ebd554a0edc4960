"""Load the bundled standards data (YAML in `data/`) into the cores' frozen value objects."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, cast

import yaml

from lighthouse_os.environment.aqi import AqiMethod
from lighthouse_os.environment.compliance import EffluentStandard, Medium, ParameterLimit
from lighthouse_os.environment.qcvn import AmbientLimit, Averaging
from lighthouse_os.environment.scale import (
    POLLUTANTS,
    Band,
    GasConversion,
    Pollutant,
    Rounding,
    Scale,
    Segment,
)

Steps = tuple[tuple[float | None, float], ...]


class StandardsDataError(ValueError):
    """A bundled data file is malformed (a packaging or editing mistake)."""


def load_yaml(name: str) -> dict[str, Any]:
    """Parse `data/<name>` from the package."""
    text = (
        resources.files("lighthouse_os.environment")
        .joinpath("data")
        .joinpath(name)
        .read_text("utf-8")
    )
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise StandardsDataError(f"{name}: top level must be a mapping")
    return cast(dict[str, Any], data)


def _number(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StandardsDataError(f"expected a number, got {value!r}")
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def _pollutant(value: object) -> Pollutant:
    if value not in POLLUTANTS:
        raise StandardsDataError(f"unknown pollutant {value!r}")
    return value


def _rounding(value: object) -> Rounding:
    if value not in ("ceiling", "half_up"):
        raise StandardsDataError(f"unknown rounding {value!r}")
    return value


def _band(row: dict[str, Any]) -> Band:
    r, g, b = (int(c) for c in row["rgb"])
    texts = {k: str(row[k]) for k in ("name_vi", "name_en", "general_vi", "general_en")}
    sensitive = {k: str(row[k]) for k in ("sensitive_vi", "sensitive_en")}
    return Band(
        str(row["key"]), int(row["low"]), int(row["high"]), rgb=(r, g, b), **texts, **sensitive
    )


def _vn_scale(key: str, row: dict[str, Any], index: list[int], unit: str) -> Scale:
    points = [_number(c) for c in row["breakpoints"]]
    if len(points) > len(index) or points != sorted(points):
        raise StandardsDataError(f"vn_aqi scale {key}: breakpoints must rise, one per index value")
    segments = tuple(
        Segment(points[k], points[k + 1], index[k], index[k + 1]) for k in range(len(points) - 1)
    )
    return Scale(key, _pollutant(row["pollutant"]), str(row["averaging"]), unit, segments)


def _segment_scale(key: str, row: dict[str, Any]) -> Scale:
    segments = tuple(
        Segment(_number(lo), _number(hi), int(ilo), int(ihi))
        for lo, hi, ilo, ihi in row["segments"]
    )
    decimals = row.get("decimals")
    return Scale(
        key, _pollutant(row["pollutant"]), str(row["averaging"]), str(row["unit"]), segments,
        decimals=None if decimals is None else int(decimals),
    )  # fmt: skip


def _method(data: dict[str, Any], scales: tuple[Scale, ...], **extra: Any) -> AqiMethod:
    return AqiMethod(
        key=str(data["key"]),
        name_vi=str(data["name_vi"]),
        name_en=str(data["name_en"]),
        source=str(data["source"]),
        status=str(data["status"]),
        rounding=_rounding(data["rounding"]),
        scales=scales,
        bands=tuple(_band(b) for b in data["bands"]),
        **extra,
    )


@cache
def vn_aqi_method() -> AqiMethod:
    """VN_AQI (Decision 1459/QĐ-TCMT) from `data/vn_aqi.yaml`."""
    data = load_yaml("vn_aqi.yaml")
    index = [int(i) for i in data["index"]]
    scales = tuple(_vn_scale(k, row, index, str(data["unit"])) for k, row in data["scales"].items())
    return _method(data, scales, requires_pm=True)


@cache
def epa_aqi_method() -> AqiMethod:
    """US EPA AQI (May 2024) from `data/us_epa_aqi.yaml`, with its µg/m³ → ppb conversion."""
    data = load_yaml("us_epa_aqi.yaml")
    scales = tuple(_segment_scale(k, row) for k, row in data["scales"].items())
    masses = tuple((_pollutant(p), float(m)) for p, m in data["molar_mass_g"].items())
    conversion = GasConversion(float(data["molar_volume_l"]), masses)
    return _method(data, scales, requires_pm=False, conversion=conversion)


def _date(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    raise StandardsDataError(f"expected a date, got {value!r}")


def _required_date(value: object) -> date:
    found = _date(value)
    if found is None:
        raise StandardsDataError("valid_from is required")
    return found


@cache
def qcvn05_limits() -> tuple[AmbientLimit, ...]:
    """QCVN 05:2023/BTNMT ambient limits (µg/Nm³), dated, from `data/qcvn05_2023.yaml`."""
    data = load_yaml("qcvn05_2023.yaml")
    return tuple(
        AmbientLimit(
            parameter=str(row["parameter"]),
            averaging=cast(Averaging, _choice(row["averaging"], ("1h", "8h", "24h", "year"))),
            value=float(row["value"]),
            unit=str(data["unit"]),
            valid_from=_required_date(row["valid_from"]),
            valid_to=_date(row["valid_to"]),
            source=str(data["standard"]),
        )
        for row in data["limits"]
    )


def _choice(value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise StandardsDataError(f"{value!r} is not one of {allowed}")
    return str(value)


def _parameter_limit(row: dict[str, Any], column: str) -> ParameterLimit:
    value = row[column]
    low, high = (value[0], value[1]) if isinstance(value, list) else (None, value)
    return ParameterLimit(
        parameter=str(row["parameter"]),
        unit=str(row["unit"]),
        low=None if low is None else float(low),
        high=float(high),
        coefficients=bool(row["coefficients"]),
    )


def _effluent(row: dict[str, Any]) -> EffluentStandard:
    columns = sorted({c for p in row["parameters"] for c in p if c in ("A", "B")})
    successor = row.get("successor") or {}
    return EffluentStandard(
        key=str(row["key"]),
        standard=str(row["standard"]),
        medium=cast(Medium, _choice(row["medium"], ("water", "stack"))),
        source=str(row["source"]),
        status=str(row["status"]),
        valid_from=_required_date(row["valid_from"]),
        valid_to=_date(row["valid_to"]),
        successor=successor.get("standard"),
        successor_from=_date(successor.get("valid_from")),
        successor_loaded=bool(successor.get("loaded", False)),
        columns=tuple(
            (c, tuple(_parameter_limit(p, c) for p in row["parameters"] if c in p)) for c in columns
        ),
    )


@cache
def effluent_standards() -> tuple[EffluentStandard, ...]:
    """QCVN 40:2011 (water) and QCVN 19:2009 (stack) tables, `data/effluent_limits.yaml`."""
    return tuple(_effluent(row) for row in load_yaml("effluent_limits.yaml")["standards"])


def _steps(rows: list[list[Any]]) -> Steps:
    return tuple((None if b is None else float(b), float(k)) for b, k in rows)


@cache
def coefficient_steps(name: str) -> Steps:
    """A step table of `coefficients` (e.g. `kf_discharge_m3_day`) for `compliance.step_lookup`."""
    table = load_yaml("effluent_limits.yaml")["coefficients"][name]
    if not isinstance(table, list):
        raise StandardsDataError(f"coefficients.{name} is not a step table")
    return _steps(table)


@cache
def coefficient_value(name: str, key: str | int | None = None) -> float:
    """A single coefficient (`kq_coastal_other`) or one entry of a map (`kv_region`, 3)."""
    value = load_yaml("effluent_limits.yaml")["coefficients"][name]
    return float(value if key is None else value[key])
