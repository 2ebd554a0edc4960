"""AQI calculator: hourly-means CSV text in, AQI results and their JSON shape out (pure)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from lighthouse_os.environment import aqi, epa
from lighthouse_os.environment.aqi import MESSAGES, AqiMethod, AqiResult
from lighthouse_os.environment.averaging import ICT, HourlyMeans
from lighthouse_os.environment.scale import POLLUTANTS, Band, Pollutant

Kind = Literal["hourly", "daily"]


class CsvInputError(ValueError):
    """The CSV cannot be used; the message names the line and column at fault."""


def _number(text: str, line: int, column: str) -> float | None:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise CsvInputError(f"line {line}, column {column}: {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise CsvInputError(f"line {line}, column {column}: {text!r} must be a number ≥ 0")
    return value


def _time(text: str, line: int) -> datetime:
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise CsvInputError(f"line {line}, column time: {text!r} is not ISO 8601") from None
    # A time without an offset is Vietnam local time, the stations' own clock.
    start = start if start.tzinfo is not None else start.replace(tzinfo=ICT)
    if (start.minute, start.second, start.microsecond) != (0, 0, 0):
        raise CsvInputError(f"line {line}, column time: {text!r} is not an hour start")
    return start


def _header(reader: Sequence[str] | None) -> list[str]:
    if reader is None:
        raise CsvInputError("the file is empty (expected a header: time,pm25,pm10,o3,no2,so2,co)")
    names = [h.strip().lstrip("\ufeff").lower() for h in reader]
    unknown = [n for n in names if n not in ("time", *POLLUTANTS)]
    if "time" not in names or unknown:
        extra = f"; unknown column(s): {', '.join(unknown)}" if unknown else ""
        raise CsvInputError(f"line 1: header needs 'time' and pollutant columns{extra}")
    if len(set(names)) != len(names):
        raise CsvInputError("line 1: a column appears twice")
    return names


def parse_hourly_csv(text: str) -> list[HourlyMeans]:
    """Rows of `time,pm25,pm10,o3,no2,so2,co` (µg/m³, CO too; hour start; empty = missing).

    Pollutant columns may be left out. Raises CsvInputError with the line number on any problem.
    """
    rows = csv.reader(io.StringIO(text))
    names = _header(next(rows, None))
    hours: list[HourlyMeans] = []
    seen: set[datetime] = set()
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            raise CsvInputError(f"line {line}: {len(row)} cells, expected {len(names)}")
        cells = dict(zip(names, (c.strip() for c in row), strict=True))
        start = _time(cells.pop("time"), line)
        if start in seen:
            raise CsvInputError(f"line {line}: hour {start.isoformat()} appears twice")
        seen.add(start)
        values = {k: _number(v, line, k) for k, v in cells.items()}
        hours.append(HourlyMeans(start, **values))
    if not hours:
        raise CsvInputError("no data rows")
    return hours


def compute(method: AqiMethod, kind: Kind, hours: Sequence[HourlyMeans]) -> list[AqiResult]:
    """Hourly or daily results for every hour or day in `hours`, by the method's own rules."""
    if method.key == "vn_aqi":
        if kind == "hourly":
            return aqi.vn_hourly_series(method, hours)
        return aqi.vn_daily_series(method, hours)
    if method.key == "us_epa_2024":
        if kind == "hourly":
            return epa.epa_hourly_series(method, hours)
        return epa.epa_daily_series(method, hours)
    raise ValueError(f"no calculator for method {method.key!r}")


def band_json(band: Band | None) -> dict[str, Any] | None:
    """A band with names, colour and advice for both audiences in both languages."""
    if band is None:
        return None
    return {
        "key": band.key,
        "name_vi": band.name_vi,
        "name_en": band.name_en,
        "rgb": list(band.rgb),
        "hex": band.hex,
        "advice": {
            "general": {"vi": band.general_vi, "en": band.general_en},
            "sensitive": {"vi": band.sensitive_vi, "en": band.sensitive_en},
        },
    }


def _message(code: str) -> dict[str, str]:
    en, vi = MESSAGES[code]
    return {"code": code, "en": en, "vi": vi}


def result_json(result: AqiResult) -> dict[str, Any]:
    """`{time|date, aqi, band, dominant, sub_indices, …}`; `reason` when the AQI is null."""
    when: dict[str, Any] = (
        {"time": result.start.isoformat()}
        if result.kind == "hourly"
        else {"date": result.start.date().isoformat()}
    )
    out: dict[str, Any] = when | {
        "method": result.method,
        "aqi": result.aqi,
        "band": band_json(result.band),
        "dominant": result.dominant,
        "sub_indices": {p: _value(result, p) for p in POLLUTANTS},
    }
    if result.kind == "hourly":
        by_pm = {n.pollutant: n.value for n in result.nowcasts}
        out["nowcast"] = {"pm25": by_pm.get("pm25"), "pm10": by_pm.get("pm10")}
    out["concentrations"] = {
        s.pollutant: {"value": s.concentration, "unit": s.unit, "averaging": s.averaging}
        for s in result.sub_indices
    }
    out["missing"] = {p: _message(code) for p, code in result.missing}
    out["notes"] = [_message(code) for code in result.notes]
    if result.reason is not None:
        en, vi = MESSAGES[result.reason]
        out |= {"reason": en, "reason_vi": vi, "reason_code": result.reason}
    return out


def _value(result: AqiResult, pollutant: Pollutant) -> int | None:
    sub = result.sub_index(pollutant)
    return None if sub is None else sub.value
