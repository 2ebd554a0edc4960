"""CSV and Parquet import through the one write path, with a report on values and time stamps.

Files are read with pyarrow in chunks; each chunk becomes one `ingest` call of the same sink
HTTP and MQTT use, so validation, dead letters and idempotency are identical: importing a file
twice stores nothing new the second time (the store keys points by series and instant).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lighthouse_os.errors import InvalidInput, NotFound
from lighthouse_os.telemetry.filemap import FileMap
from lighthouse_os.telemetry.import_report import FileImportReport, RejectedCell, RowNote
from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.service import TagIndex, TelemetryService
from lighthouse_os.telemetry.timeline import (
    MAX_EXAMPLES,
    NonexistentTime,
    resolve_local,
    roll_midnight,
    timeline_facts,
)
from lighthouse_os.telemetry.validation import Reason, reason_code

FileKind = Literal["csv", "parquet"]
Progress = Callable[[int, int | None], None]
CSV_BLOCK_BYTES = 1 << 20
PARQUET_BATCH_ROWS = 50_000
MAX_REJECTED_EXAMPLES = 10
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class _Tally:
    """Mutable counts while the chunks stream by."""

    rows: int = 0
    written: int = 0
    duplicates: int = 0
    empty_cells: int = 0
    rollovers: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejected_examples: list[RejectedCell] = field(default_factory=list)
    out_of_order: list[RowNote] = field(default_factory=list)
    ambiguous: list[RowNote] = field(default_factory=list)
    nonexistent: list[RowNote] = field(default_factory=list)
    out_of_order_count: int = 0
    ambiguous_count: int = 0
    nonexistent_count: int = 0
    stamps_us: list[int] = field(default_factory=list)
    previous_naive: datetime | None = None
    previous_instant: datetime | None = None
    previous_raw: str = ""
    current_raw: str = ""
    conflicts: int = 0

    def note(self, kind: str, row: int, stamp: object, detail: str) -> None:
        examples: list[RowNote] = getattr(self, kind)
        setattr(self, f"{kind}_count", getattr(self, f"{kind}_count") + 1)
        if len(examples) < MAX_EXAMPLES:
            examples.append(RowNote(row, str(stamp), detail))


@dataclass(frozen=True)
class _Cell:
    row: int
    column: str
    raw: object


def import_file(
    sink: TelemetryService,
    site: str,
    path: Path,
    file_map: FileMap,
    *,
    kind: FileKind,
    progress: Progress = lambda _done, _total: None,
) -> FileImportReport:
    """Import `path` for the site `site`; refused up front when tags or columns do not fit."""
    index = _preflight(sink, site, file_map)
    tally = _Tally()
    source = f"import:{path.name}"[:60]
    for chunk, first_row in _chunks(path, file_map, kind, progress):
        _import_chunk(sink, index, file_map, chunk, first_row, tally, source)
    return _report(path, site, file_map, tally)


def read_map_columns(path: Path, kind: FileKind, delimiter: str = ",") -> list[str]:
    """The column names of a CSV header or a Parquet schema."""
    if kind == "parquet":
        return list(pq.ParquetFile(path).schema_arrow.names)
    with path.open("rb") as handle:
        reader = pacsv.open_csv(handle, parse_options=pacsv.ParseOptions(delimiter=delimiter))
        return list(reader.schema.names)


# -- preflight ------------------------------------------------------------------------------


def _preflight(sink: TelemetryService, site: str, file_map: FileMap) -> TagIndex:
    index = sink.tag_index(site)
    if index is None:
        raise NotFound(f"site {site!r} not found")
    problems: dict[str, str] = {}
    for column in file_map.columns:
        tag = index.tags.get(column.tag)
        if tag is None:
            problems[column.column] = f"tag {column.tag!r} does not exist; import the assets first"
        elif column.unit is not None and column.unit != tag.unit:
            problems[column.column] = f"the map says {column.unit!r}, the tag is in {tag.unit!r}"
    if problems:
        detail = "; ".join(f"{k}: {v}" for k, v in problems.items())
        raise InvalidInput(f"the map does not fit the site's tags: {detail}", fields=problems)
    return index


# -- reading --------------------------------------------------------------------------------


def _chunks(
    path: Path, file_map: FileMap, kind: FileKind, progress: Progress
) -> Iterator[tuple[pa.RecordBatch, int]]:
    wanted = [file_map.timestamp_column, *(c.column for c in file_map.columns)]
    _check_columns(read_map_columns(path, kind, file_map.delimiter), wanted)
    if kind == "parquet":
        yield from _parquet_chunks(path, wanted, progress)
    else:
        yield from _csv_chunks(path, file_map, wanted, progress)


def _check_columns(present: Sequence[str], wanted: Sequence[str]) -> None:
    missing = [name for name in wanted if name not in present]
    if missing:
        raise InvalidInput(
            f"the file lacks column(s) {missing}; it has {list(present)}",
            fields=dict.fromkeys(missing, "missing"),
        )


class _CountingReader(io.RawIOBase):
    """A file wrapper that reports how many bytes pyarrow has read so far."""

    def __init__(self, handle: io.BufferedReader, on_read: Callable[[int], None]) -> None:
        self.handle, self.on_read, self.done = handle, on_read, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.handle.readinto(buffer)
        self.done += count or 0
        self.on_read(self.done)
        return count or 0


def _csv_chunks(
    path: Path, file_map: FileMap, wanted: Sequence[str], progress: Progress
) -> Iterator[tuple[pa.RecordBatch, int]]:
    total = path.stat().st_size
    convert = pacsv.ConvertOptions(
        include_columns=list(wanted), column_types=dict.fromkeys(wanted, pa.string())
    )
    with path.open("rb") as handle:
        counted = _CountingReader(handle, lambda done: progress(done, total))
        reader = pacsv.open_csv(
            counted,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=file_map.delimiter),
            convert_options=convert,
        )
        row = 2  # the header is line 1
        for batch in reader:
            yield batch, row
            row += batch.num_rows
    progress(total, total)


def _parquet_chunks(
    path: Path, wanted: Sequence[str], progress: Progress
) -> Iterator[tuple[pa.RecordBatch, int]]:
    parquet = pq.ParquetFile(path)
    total = parquet.metadata.num_rows
    row = 1
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=list(wanted)):
        yield batch, row
        row += batch.num_rows
        progress(row - 1, total)


# -- one chunk ------------------------------------------------------------------------------


def _import_chunk(
    sink: TelemetryService,
    index: TagIndex,
    file_map: FileMap,
    chunk: pa.RecordBatch,
    first_row: int,
    tally: _Tally,
    source: str,
) -> None:
    raw_stamps = chunk.column(file_map.timestamp_column)
    stamps = raw_stamps.to_pylist()
    parsed = _vector_strptime(raw_stamps, file_map.timestamp_format)
    columns = [(c, _values(chunk.column(c.column), file_map.decimal)) for c in file_map.columns]
    zone = ZoneInfo(file_map.timezone)
    points: list[RawPoint] = []
    cells: list[_Cell] = []
    bad_rows: list[tuple[int, str, dict[str, object]]] = []
    for offset, raw_stamp in enumerate(stamps):
        row = first_row + offset
        tally.rows += 1
        try:
            stamp = parsed[offset] if parsed is not None else None
            instant = _instant(stamp or raw_stamp, raw_stamp, row, file_map, zone, tally)
        except ValueError as err:
            values = {c.column: v[offset] for c, v in columns}
            bad_rows.append((row, str(err), {"row": row, "stamp": raw_stamp, **values}))
            continue
        for column, cells_of_column in columns:
            raw = _cell(cells_of_column[offset], file_map.decimal)
            if raw is None:
                tally.empty_cells += 1
                continue
            points.append(RawPoint(column.tag, instant, raw))
            cells.append(_Cell(row, column.column, raw))
    _dead_letter_rows(sink, index, file_map, bad_rows, tally, source)
    _ingest(sink, index.site_code, points, cells, tally, source)


def _instant(
    value: object, raw: object, row: int, file_map: FileMap, zone: ZoneInfo, tally: _Tally
) -> datetime:
    """The stored instant of a row's stamp (`value`: parsed already or the cell; `raw`: as
    written in the file, for the report)."""
    stamp = _parse_stamp(value, file_map.timestamp_format)
    tally.current_raw = str(raw)
    if stamp.tzinfo is None:
        stamp = _local(stamp, row, file_map, zone, tally)
    instant = stamp.astimezone(UTC) + file_map.shift
    previous = tally.previous_instant
    if previous is not None and instant < previous:
        tally.note("out_of_order", row, raw, f"comes after {tally.previous_raw} (row {row - 1})")
    tally.previous_instant, tally.previous_raw = instant, str(raw)
    tally.stamps_us.append((instant - EPOCH) // timedelta(microseconds=1))
    return instant


def _local(naive: datetime, row: int, file_map: FileMap, zone: ZoneInfo, tally: _Tally) -> datetime:
    if file_map.midnight_rollover:
        rolled = roll_midnight(naive, tally.previous_naive)
        tally.rollovers += rolled != naive
        naive = rolled
    tally.previous_naive = naive
    previous = tally.previous_instant - file_map.shift if tally.previous_instant else None
    try:
        resolved = resolve_local(naive, zone, previous)
    except NonexistentTime as err:
        tally.note("nonexistent", row, tally.current_raw, str(err))
        raise ValueError(f"{Reason.NONEXISTENT_LOCAL_TIME}: {err}") from None
    if resolved.ambiguous:
        detail = f"read as {resolved.instant.astimezone(zone).isoformat()}"
        tally.note("ambiguous", row, tally.current_raw, detail)
    return resolved.instant


def _vector_strptime(column: pa.Array, fmt: str) -> list[datetime | None] | None:
    """strptime over a whole string column in Arrow (40x faster than row by row); None when
    the format is not a strptime pattern. Unparseable cells are None and parsed again per row,
    so their error message is the usual one."""
    if "%" not in fmt or not pa.types.is_string(column.type):
        return None
    parsed = pc.strptime(pc.utf8_trim_whitespace(column), format=fmt, unit="us", error_is_null=True)
    values: list[datetime | None] = parsed.to_pylist()
    return values


def _parse_stamp(raw: object, fmt: str) -> datetime:
    """A datetime (aware or naive) from a cell; ValueError with a reason code otherwise."""
    if isinstance(raw, datetime):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueError(f"{Reason.BAD_TIMESTAMP}: the time stamp cell is empty")
    try:
        if fmt == "iso8601":
            return datetime.fromisoformat(str(raw).strip())
        if fmt in {"epoch_s", "epoch_ms"}:
            seconds = float(str(raw)) / (1000 if fmt == "epoch_ms" else 1)
            return EPOCH + timedelta(seconds=seconds)
        return datetime.strptime(str(raw).strip(), fmt)
    except (ValueError, OverflowError) as err:
        raise ValueError(
            f"{Reason.BAD_TIMESTAMP}: {str(raw)[:40]!r} does not match {fmt!r}"
        ) from err


def _values(column: pa.Array, decimal: str) -> list[Any]:
    """The cells of a value column; a text column that is all numbers is converted in Arrow."""
    if pa.types.is_string(column.type):
        text = pc.utf8_trim_whitespace(column)
        if decimal == ",":
            text = pc.replace_substring(text, ",", ".")
        numbers = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
        try:
            return list(numbers.cast(pa.float64()).to_pylist())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return list(column.to_pylist())  # some cells are not numbers: validation says which
    return list(column.to_pylist())


def _cell(raw: object, decimal: str) -> object | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        return text.replace(",", ".") if decimal == "," else text
    return raw


def _ingest(
    sink: TelemetryService,
    site: str,
    points: list[RawPoint],
    cells: list[_Cell],
    tally: _Tally,
    source: str,
) -> None:
    if not points:
        return
    result, written = sink.ingest_counted(site, points, source=source)
    tally.written += result.accepted
    tally.duplicates += written.duplicates
    tally.conflicts += written.conflicts
    for rejection in result.rejected:
        tally.rejected[reason_code(rejection.reason)] += 1
        if len(tally.rejected_examples) < MAX_REJECTED_EXAMPLES:
            cell = cells[rejection.index]
            example = RejectedCell(
                cell.row, cell.column, rejection.tag, str(cell.raw)[:40], rejection.reason
            )
            tally.rejected_examples.append(example)


def _dead_letter_rows(
    sink: TelemetryService,
    index: TagIndex,
    file_map: FileMap,
    bad_rows: Sequence[tuple[int, str, dict[str, object]]],
    tally: _Tally,
    source: str,
) -> None:
    """A row whose time stamp cannot be read loses all its cells: one dead letter per row."""
    letters = []
    for row, reason, payload in bad_rows:
        cells = sum(1 for c in file_map.columns if _cell(payload.get(c.column), ".") is not None)
        tally.rejected[reason_code(reason)] += cells
        if len(tally.rejected_examples) < MAX_REJECTED_EXAMPLES:
            stamp = str(payload.get("stamp"))[:40]
            tally.rejected_examples.append(
                RejectedCell(row, file_map.timestamp_column, "", stamp, reason)
            )
        letters.append((reason, orjson.dumps(payload, default=str)))
    if letters:
        sink.dead_letter_many(source=source, site=index.site_code, letters=letters)


# -- report ---------------------------------------------------------------------------------


def _report(path: Path, site: str, file_map: FileMap, tally: _Tally) -> FileImportReport:
    ordered = np.sort(np.asarray(tally.stamps_us, dtype=np.int64)).tolist()
    return FileImportReport(
        file=str(path),
        site=site,
        rows_read=tally.rows,
        points_written=tally.written,
        duplicates=tally.duplicates,
        conflicts=tally.conflicts,
        rejected=sum(tally.rejected.values()),
        rejected_by_reason=dict(tally.rejected.most_common()),
        rejected_examples=tuple(tally.rejected_examples),
        empty_cells=tally.empty_cells,
        out_of_order=tally.out_of_order_count,
        out_of_order_examples=tuple(tally.out_of_order),
        ambiguous_local_times=tally.ambiguous_count,
        ambiguous_examples=tuple(tally.ambiguous),
        nonexistent_local_times=tally.nonexistent_count,
        nonexistent_examples=tuple(tally.nonexistent),
        midnight_rollovers=tally.rollovers,
        stamps=file_map.stamps,
        shift=file_map.shift,
        timezone=file_map.timezone,
        timeline=timeline_facts(ordered, file_map.interval),
    )
