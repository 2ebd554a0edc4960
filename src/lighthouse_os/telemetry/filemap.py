"""Import maps: which file column feeds which tag, and how to read the timestamps (pure core).

A map is YAML like::

    timestamp:
      column: date
      format: "%d/%m/%Y %H:%M"   # strptime; or iso8601 (default), epoch_s, epoch_ms
      timezone: Asia/Ho_Chi_Minh # for stamps without a UTC offset (the default zone)
      stamps: end                # start (default) or end of the interval a row covers
      interval: 15min            # the row interval: required for `end`, used to find gaps
      midnight_rollover: false   # read "D 00:00" right after "D 23:45" as 24:00 of day D
    columns:
      Usage_kWh: {tag: main/energy_kwh, unit: kW.h}
      NSM: main/nsm_s
    csv: {delimiter: ",", decimal: "."}

End-stamped rows are shifted to the start of their interval (stored instant = stamp - interval),
because the store keys a reading by the start of the period it covers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
FORMATS_BY_NAME = ("iso8601", "epoch_s", "epoch_ms")
STAMPS = ("start", "end")
_INTERVAL = re.compile(r"^\s*(\d+)\s*(s|sec|m|min|h|d)\s*$")
_ISO_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


class MapError(ValueError):
    """The map is not valid; `problems` lists every field at fault."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


@dataclass(frozen=True)
class ColumnMap:
    """One value column: the tag it feeds and, optionally, the unit the file states for it."""

    column: str
    tag: str
    unit: str | None = None


@dataclass(frozen=True)
class FileMap:
    """How to turn a file's rows into points."""

    timestamp_column: str
    timestamp_format: str
    timezone: str
    stamps: str
    interval: timedelta | None
    columns: tuple[ColumnMap, ...]
    midnight_rollover: bool = False
    delimiter: str = ","
    decimal: str = "."

    @property
    def shift(self) -> timedelta:
        """Added to each stamp: minus one interval for end-stamped rows, else zero."""
        if self.stamps == "end" and self.interval is not None:
            return -self.interval
        return timedelta(0)


def parse_interval(text: object) -> timedelta:
    """`15min`, `15m`, `1h`, `30s`, `1d`, or ISO 8601 `PT15M`; a positive duration."""
    raw = str(text).strip()
    if match := _INTERVAL.match(raw):
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    elif (iso := _ISO_DURATION.match(raw)) and any(iso.groups()):
        days, hours, minutes, secs = (int(g or 0) for g in iso.groups())
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    else:
        raise ValueError(f"{raw!r} is not an interval such as 15min, 1h or PT15M")
    if seconds <= 0:
        raise ValueError("the interval must be positive")
    return timedelta(seconds=seconds)


def parse_file_map(data: object, *, default_timezone: str = DEFAULT_TIMEZONE) -> FileMap:
    """A FileMap from parsed YAML; MapError lists every problem at once."""
    if not isinstance(data, Mapping):
        raise MapError({"map": "expected a mapping with 'timestamp' and 'columns'"})
    problems: dict[str, str] = {}
    stamp = _section(data, "timestamp", problems)
    csv = _section(data, "csv", problems)
    interval = _interval(stamp.get("interval"), problems)
    stamps = str(stamp.get("stamps", "start"))
    if stamps not in STAMPS:
        problems["timestamp.stamps"] = "use start or end"
    elif stamps == "end" and interval is None:
        problems["timestamp.interval"] = "end-stamped rows need the interval length"
    file_map = FileMap(
        timestamp_column=_required_text(stamp, "column", "timestamp.column", problems),
        timestamp_format=str(stamp.get("format", "iso8601")),
        timezone=_timezone(stamp.get("timezone", default_timezone), problems),
        stamps=stamps,
        interval=interval,
        columns=_columns(data.get("columns"), problems),
        midnight_rollover=bool(stamp.get("midnight_rollover", False)),
        delimiter=str(csv.get("delimiter", ",")),
        decimal=str(csv.get("decimal", ".")),
    )
    _check_csv(file_map, problems)
    if problems:
        raise MapError(problems)
    return file_map


def _section(
    data: Mapping[object, object], name: str, problems: dict[str, str]
) -> dict[str, object]:
    section = data.get(name) or {}
    if not isinstance(section, Mapping):
        problems[name] = "must be a mapping"
        return {}
    return {str(k): v for k, v in section.items()}


def _required_text(
    section: Mapping[str, object], key: str, where: str, problems: dict[str, str]
) -> str:
    value = section.get(key)
    if value is None or not str(value).strip():
        problems[where] = "required"
        return ""
    return str(value)


def _interval(raw: object, problems: dict[str, str]) -> timedelta | None:
    if raw is None:
        return None
    try:
        return parse_interval(raw)
    except ValueError as err:
        problems["timestamp.interval"] = str(err)
        return None


def _timezone(raw: object, problems: dict[str, str]) -> str:
    name = str(raw)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems["timestamp.timezone"] = f"unknown IANA time zone {name!r}"
    return name


def _columns(raw: object, problems: dict[str, str]) -> tuple[ColumnMap, ...]:
    if not isinstance(raw, Mapping) or not raw:
        problems["columns"] = "map at least one column to a tag"
        return ()
    columns: list[ColumnMap] = []
    for name, target in raw.items():
        if isinstance(target, str) and target.strip():
            columns.append(ColumnMap(str(name), target.strip()))
        elif isinstance(target, Mapping) and str(target.get("tag") or "").strip():
            unit = target.get("unit")
            columns.append(ColumnMap(str(name), str(target["tag"]).strip(), _text_or_none(unit)))
        else:
            problems[f"columns.{name}"] = "give a tag path, or {tag: …, unit: …}"
    return tuple(columns)


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _check_csv(file_map: FileMap, problems: dict[str, str]) -> None:
    if len(file_map.delimiter) != 1:
        problems["csv.delimiter"] = "one character"
    if file_map.decimal not in {".", ","}:
        problems["csv.decimal"] = "'.' or ','"
    fmt = file_map.timestamp_format
    if fmt not in FORMATS_BY_NAME and "%" not in fmt:
        problems["timestamp.format"] = f"a strptime pattern or one of {', '.join(FORMATS_BY_NAME)}"
    tags = [c.tag for c in file_map.columns]
    if len(set(tags)) != len(tags):
        problems["columns"] = "two columns feed the same tag"
