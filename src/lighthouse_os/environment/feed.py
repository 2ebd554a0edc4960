"""Circular 10/2021/TT-BTNMT continuous-monitoring files: tolerant parser and strict writer (pure).

A file is named `<Province>_<Facility>_<Station>_<yyyyMMddHHmmss>.txt` and holds TAB-separated
groups of five fields: symbol, value, unit, time (yyyyMMddHHmmss, local time), status (00
measuring, 01 calibrating, 02 fault). See shared/design/MONITORING-FEED.md. The parser accepts
what real senders do (BOM, CRLF, all groups on one line, `---`/empty/`0` for missing) and reports
every problem with its line and group; a file it cannot use at all raises `FeedError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Literal

from lighthouse_os.environment.averaging import ICT

STATUSES = ("00", "01", "02")
FAULT = "02"
MISSING_MARKERS = ("", "---")
KINDS = {"NUO": "water", "KHI": "stack"}
GROUP = 5

_NAME = re.compile(
    r"^(?P<province>[^_]+)_(?P<facility>.+)_"
    r"(?P<station>(?P<kind>NUO|KHI)\d{3})_(?P<ts>\d{14})\.txt$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_DATE_DIRS = re.compile(r"^\d{4}$")

# Problem codes → (English, Vietnamese) texts for pages and the dead-letter store.
MESSAGES: dict[str, tuple[str, str]] = {
    "bad_group_length": (
        "Field count is not a multiple of 5; the line was skipped.",
        "Số trường không chia hết cho 5; bỏ qua dòng này.",
    ),
    "empty_symbol": ("Empty parameter symbol.", "Thiếu ký hiệu thông số."),
    "bad_time": (
        "Time is not a valid yyyyMMddHHmmss; the reading was skipped.",
        "Thời gian không đúng dạng yyyyMMddHHmmss; bỏ qua giá trị này.",
    ),
    "unknown_status": (
        "Unknown device status (expected 00, 01 or 02).",
        "Trạng thái thiết bị không hợp lệ (phải là 00, 01 hoặc 02).",
    ),
    "non_numeric_value": (
        "Value is not a number with a decimal point; kept as missing.",
        "Giá trị không phải số thập phân; coi như thiếu số liệu.",
    ),
    "folder_date_mismatch": (
        "The /yyyy/MM/dd/ folder does not match the time in the file name.",
        "Thư mục /yyyy/MM/dd/ không khớp với thời gian trong tên tệp.",
    ),
}


class FeedError(ValueError):
    """The file cannot be used at all; the receiver dead-letters it with this reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class StationFile:
    """What a file name says: who sent it, from which station, for which time."""

    province: str
    facility: str
    station: str
    kind: str
    time: datetime
    folder_station: str | None = None
    folder_date: date | None = None


@dataclass(frozen=True)
class FeedReading:
    """One parameter reading; `value` None means missing (`---`, empty, or `0` with status 02)."""

    symbol: str
    value: float | None
    unit: str
    time: datetime
    status: str

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the time in ISO 8601 (+07:00)."""
        return {
            "symbol": self.symbol,
            "value": self.value,
            "unit": self.unit,
            "time": self.time.isoformat(),
            "status": self.status,
        }


@dataclass(frozen=True)
class FeedProblem:
    """A problem found while parsing, located by line, group and field (1-based)."""

    code: str
    line: int | None = None
    group: int | None = None
    field: str | None = None
    text: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready dict including the English and Vietnamese messages."""
        en, vi = MESSAGES[self.code]
        return {
            "code": self.code,
            "line": self.line,
            "group": self.group,
            "field": self.field,
            "text": self.text,
            "message": en,
            "message_vi": vi,
        }


@dataclass(frozen=True)
class FeedFile:
    """A parsed file: its name, station, readings and the problems met on the way."""

    file: str
    station: StationFile
    readings: tuple[FeedReading, ...]
    problems: tuple[FeedProblem, ...]

    def to_json_dict(self) -> dict[str, Any]:
        """`{file, station, readings, problems}` ready for JSON."""
        st = self.station
        return {
            "file": self.file,
            "station": {
                "province": st.province,
                "facility": st.facility,
                "code": st.station,
                "kind": st.kind,
                "file_time": st.time.isoformat(),
            },
            "readings": [r.to_json_dict() for r in self.readings],
            "problems": [p.to_json_dict() for p in self.problems],
        }


def parse_time(text: str) -> datetime | None:
    """`yyyyMMddHHmmss` local (Vietnam) time as an aware datetime, None when invalid."""
    if len(text) != 14 or not text.isdigit():
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=ICT)
    except ValueError:
        return None


def parse_file_name(path: str) -> StationFile:
    """Parse a file name or a path ending in one (station folder and /yyyy/MM/dd/ allowed)."""
    parts = PureWindowsPath(path).parts if "\\" in path else PurePosixPath(path).parts
    if not parts:
        raise FeedError("bad_file_name", "empty file name")
    match = _NAME.match(parts[-1])
    time = parse_time(match["ts"]) if match else None
    if match is None or time is None:
        raise FeedError(
            "bad_file_name",
            f"{parts[-1]!r} is not <Province>_<Facility>_<NUO|KHI###>_<yyyyMMddHHmmss>.txt",
        )
    folder_station, folder_date = _folders(parts[:-1])
    return StationFile(
        province=match["province"],
        facility=match["facility"],
        station=match["station"].upper(),
        kind=KINDS[match["kind"].upper()],
        time=time,
        folder_station=folder_station,
        folder_date=folder_date,
    )


def _folders(dirs: Sequence[str]) -> tuple[str | None, date | None]:
    """Find a trailing /yyyy/MM/dd/ and the folder just before it (a station folder, if any)."""
    if len(dirs) >= 3 and _DATE_DIRS.match(dirs[-3]) and dirs[-2].isdigit() and dirs[-1].isdigit():
        try:
            day = date(int(dirs[-3]), int(dirs[-2]), int(dirs[-1]))
        except ValueError:
            return None, None
        before = [d for d in dirs[:-3] if d not in ("/", "\\")]
        return (before[-1] if before else None), day
    return None, None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise FeedError("not_utf8", f"not UTF-8 text (byte {err.start})") from err


def _fields(line: str) -> list[str]:
    """Split on TAB, keeping empty fields; drop one trailing empty field left by a final TAB."""
    fields = [f.strip(" ") for f in line.split("\t")]
    if len(fields) % GROUP == 1 and fields[-1] == "":
        fields.pop()
    return fields


def _value(text: str, status: str) -> tuple[float | None, bool]:
    """(value, ok): `---`/empty → None; a zero with status 02 is the fault marker → None."""
    if text in MISSING_MARKERS:
        return None, True
    if not _NUMBER.match(text):
        return None, False
    value = float(text)
    if value == 0 and status == FAULT:
        return None, True
    return value, True


def _group(
    fields: Sequence[str], line: int, group: int
) -> tuple[FeedReading | None, list[FeedProblem]]:
    symbol, raw_value, unit, raw_time, status = fields

    def problem(code: str, field: str, text: str | None = None) -> FeedProblem:
        return FeedProblem(code, line=line, group=group, field=field, text=text)

    if not symbol:
        return None, [problem("empty_symbol", "symbol")]
    time = parse_time(raw_time)
    if time is None:
        return None, [problem("bad_time", "time", raw_time)]
    problems = [] if status in STATUSES else [problem("unknown_status", "status", status)]
    value, ok = _value(raw_value, status)
    if not ok:
        problems.append(problem("non_numeric_value", "value", raw_value))
    return FeedReading(symbol, value, unit, time, status), problems


def _line(text: str, number: int) -> tuple[list[FeedReading], list[FeedProblem]]:
    fields = _fields(text)
    if len(fields) % GROUP:
        return [], [FeedProblem("bad_group_length", line=number, text=f"{len(fields)} fields")]
    readings: list[FeedReading] = []
    problems: list[FeedProblem] = []
    for k in range(0, len(fields), GROUP):
        reading, found = _group(fields[k : k + GROUP], number, k // GROUP + 1)
        problems += found
        if reading is not None:
            readings.append(reading)
    return readings, problems


def parse_feed(data: bytes, name: str) -> FeedFile:
    """Parse one file's bytes; `name` is its file name or path.

    Raises FeedError when the name is not a monitoring file name, the bytes are not UTF-8, or no
    reading at all can be read (the problems found are summarised in the message).
    """
    station = parse_file_name(name)
    readings: list[FeedReading] = []
    problems: list[FeedProblem] = []
    if station.folder_date is not None and station.folder_date != station.time.date():
        problems.append(FeedProblem("folder_date_mismatch", text=station.folder_date.isoformat()))
    for number, text in enumerate(re.split(r"\r\n|\r|\n", _decode(data)), start=1):
        if text.strip(" \t"):
            found, bad = _line(text, number)
            readings += found
            problems += bad
    if not readings:
        summary = "; ".join(f"line {p.line}: {p.code}" for p in problems[:5]) or "file is empty"
        raise FeedError("no_readings", f"no reading could be read ({summary})")
    file_name = PurePosixPath(name.replace("\\", "/")).name
    return FeedFile(file_name, station, tuple(readings), tuple(problems))


def feed_file_name(province: str, facility: str, station: str, time: datetime) -> str:
    """`<Province>_<Facility>_<Station>_<yyyyMMddHHmmss>.txt` with the time in Vietnam time."""
    if not re.fullmatch(r"(NUO|KHI)\d{3}", station):
        raise ValueError(f"station code {station!r} must be NUO or KHI followed by 3 digits")
    if not province or "_" in province or not facility:
        raise ValueError("province must be non-empty without '_', facility non-empty")
    return f"{province}_{facility}_{station}_{_stamp(time)}.txt"


def _stamp(time: datetime) -> str:
    if time.tzinfo is None:
        raise ValueError(f"time {time.isoformat()} has no time zone")
    return time.astimezone(ICT).strftime("%Y%m%d%H%M%S")


def format_value(value: float | None) -> str:
    """A value with a decimal point and no exponent, exact to the float; None → `---`."""
    if value is None:
        return "---"
    if not math.isfinite(value):
        raise ValueError(f"value must be finite, got {value!r}")
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else f"{text}.0"


def _check(reading: FeedReading) -> None:
    if not reading.symbol or any(c in reading.symbol for c in "\t\r\n"):
        raise ValueError(f"symbol {reading.symbol!r} must be non-empty, without TAB or newline")
    if any(c in reading.unit for c in "\t\r\n"):
        raise ValueError(f"unit {reading.unit!r} must not contain TAB or newline")
    if reading.status not in STATUSES:
        raise ValueError(f"status {reading.status!r} must be one of {STATUSES}")


def write_feed(
    readings: Sequence[FeedReading],
    *,
    layout: Literal["lines", "single_line"] = "lines",
    newline: str = "\r\n",
    bom: bool = False,
) -> bytes:
    """A valid file body: one group per line (or all on one line), UTF-8, times in +07:00.

    Seconds resolution: sub-second parts of times are dropped. Missing values are written `---`.
    """
    if not readings:
        raise ValueError("a monitoring file needs at least one reading")
    groups = []
    for r in readings:
        _check(r)
        groups.append(
            "\t".join([r.symbol, format_value(r.value), r.unit, _stamp(r.time), r.status])
        )
    body = newline.join(groups) + newline if layout == "lines" else "\t".join(groups) + newline
    return ("\ufeff" if bom else "").encode() + body.encode("utf-8")


def normalise_symbol(symbol: str) -> str:
    """Canonical symbol: trimmed, decimal comma to point (`PM2,5` → `PM2.5`)."""
    return symbol.strip().replace(",", ".")
