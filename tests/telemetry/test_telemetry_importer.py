"""CSV and Parquet import through the sink: shifting, idempotency, bad rows, time-line report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lighthouse_os.errors import InvalidInput, NotFound
from lighthouse_os.telemetry.filemap import FileMap, parse_file_map
from lighthouse_os.telemetry.import_report import import_report_lines, report_dict
from lighthouse_os.telemetry.importer import import_file
from lighthouse_os.telemetry.models import DeadLetter
from lighthouse_os.telemetry.service import TelemetryService

KWH, POWER, STATE = "line1/press2/kwh", "line1/press2/power", "line1/press2/state"


def _map(**timestamp: object) -> FileMap:
    return parse_file_map(
        {
            "timestamp": {"column": "date", "format": "%d/%m/%Y %H:%M", **timestamp},
            "columns": {"kWh": {"tag": KWH, "unit": "kW.h"}, "W": POWER, "mode": STATE},
        }
    )


def _csv(tmp_path: Path, rows: list[str], header: str = "date,kWh,W,mode") -> Path:
    path = tmp_path / "meter.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _series(sink: TelemetryService, path: str) -> list[tuple[datetime, float]]:
    index = sink.tag_index("a1")
    assert index is not None
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    table = sink.store.raw([index.tags[path].series_id], start, end)
    return list(zip(table["ts"].to_pylist(), table["value"].to_pylist(), strict=True))


def _quarter_rows(n: int, start: datetime = datetime(2026, 2, 1, 0, 15)) -> list[str]:
    return [
        f"{(start + timedelta(minutes=15 * i)):%d/%m/%Y %H:%M},{i}.5,{1000 * i},run"
        for i in range(n)
    ]


def test_importer_end_stamps_are_stored_at_the_interval_start(
    sf_sink: TelemetryService, tmp_path: Path
) -> None:
    path = _csv(tmp_path, _quarter_rows(4))
    report = import_file(sf_sink, "a1", path, _map(stamps="end", interval="15min"), kind="csv")
    assert (report.rows_read, report.points_written, report.rejected) == (4, 12, 0)
    kwh = _series(sf_sink, KWH)
    # 01/02/2026 00:15 in Ho Chi Minh City (UTC+7) ends the interval starting 00:00 = 17:00Z.
    assert kwh[0] == (datetime(2026, 1, 31, 17, 0, tzinfo=UTC), 0.5)
    assert [v for _t, v in _series(sf_sink, POWER)] == [0.0, 1.0, 2.0, 3.0]  # W x 0.001
    assert [v for _t, v in _series(sf_sink, STATE)] == [2.0] * 4  # "run" is state 2


def test_importer_reimporting_a_file_changes_nothing(
    sf_sink: TelemetryService, tmp_path: Path
) -> None:
    path = _csv(tmp_path, _quarter_rows(20))
    file_map = _map(stamps="end", interval="15min")
    first = import_file(sf_sink, "a1", path, file_map, kind="csv")
    stored = _series(sf_sink, KWH)
    again = import_file(sf_sink, "a1", path, file_map, kind="csv")
    assert (first.points_written, again.points_written, again.duplicates) == (60, 0, 60)
    assert _series(sf_sink, KWH) == stored


def test_importer_bad_cells_and_rows_are_reported_and_dead_lettered(
    sf_sink: TelemetryService, sf_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    rows = [
        "01/02/2026 00:15,1.0,10,run",
        "01/02/2026 00:30,n/a,20,run",
        "2026-02-01 00:45,3.0,30,run",
        "01/02/2026 01:00,4.0,,exploded",
        "01/02/2026 01:15,5.0,50,idle",
    ]
    report = import_file(sf_sink, "a1", _csv(tmp_path, rows), _map(), kind="csv")
    assert report.rejected_by_reason == {"bad_timestamp": 3, "not_a_number": 1, "unknown_state": 1}
    assert report.empty_cells == 1
    assert report.points_written == 15 - 3 - 2 - 1
    assert {(e.row, e.column) for e in report.rejected_examples} == {
        (3, "kWh"),
        (4, "date"),
        (5, "mode"),
    }
    with sf_sessions() as session:
        letters = list(session.scalars(select(DeadLetter)))
    assert len(letters) == 3  # two bad cells, one unreadable row
    assert all(d.source == "import:meter.csv" for d in letters)


def test_importer_reports_out_of_order_repeated_and_missing_stamps(
    sf_sink: TelemetryService, tmp_path: Path
) -> None:
    rows = [
        "01/02/2026 00:00,1,1,run",
        "01/02/2026 00:30,2,2,run",
        "01/02/2026 00:15,3,3,run",  # out of order
        "01/02/2026 00:30,4,4,run",  # repeated
        "01/02/2026 01:30,5,5,run",  # three intervals missing before it
    ]
    report = import_file(sf_sink, "a1", _csv(tmp_path, rows), _map(interval="15min"), kind="csv")
    assert (report.out_of_order, report.out_of_order_examples[0].row) == (1, 4)
    facts = report.timeline
    assert (facts.duplicated, facts.gaps, facts.missing_intervals) == (1, 1, 3)
    # The repeated row: "run" again is a duplicate, the two other values conflict; first kept.
    assert (report.duplicates, report.conflicts) == (1, 2)
    assert "2 points were stored already" in "\n".join(import_report_lines(report))
    text = "\n".join(import_report_lines(report))
    assert "1 rows out of order" in text
    assert "3 missing intervals" in text


def test_importer_handles_daylight_saving_zones(sf_sink: TelemetryService, tmp_path: Path) -> None:
    rows = [
        "29/03/2026 01:30,1,1,run",
        "29/03/2026 02:30,2,2,run",  # does not exist in Berlin
        "29/03/2026 03:30,3,3,run",
        "25/10/2026 02:30,4,4,run",  # first pass (CEST)
        "25/10/2026 02:45,5,5,run",
        "25/10/2026 02:30,6,6,run",  # second pass (CET): not out of order
    ]
    file_map = _map(timezone="Europe/Berlin")
    sf_sink.clock = lambda: datetime(2026, 11, 1, tzinfo=UTC)
    report = import_file(sf_sink, "a1", _csv(tmp_path, rows), file_map, kind="csv")
    assert (report.nonexistent_local_times, report.ambiguous_local_times) == (1, 3)
    assert report.out_of_order == 0
    assert report.rejected_by_reason == {"nonexistent_local_time": 3}
    stamps = [t for t, _v in _series(sf_sink, KWH)]
    assert datetime(2026, 10, 25, 0, 30, tzinfo=UTC) in stamps
    assert datetime(2026, 10, 25, 1, 30, tzinfo=UTC) in stamps


def test_importer_midnight_rollover_reads_day_end_stamps_as_24_00(
    sf_sink: TelemetryService, tmp_path: Path
) -> None:
    rows = [
        "01/02/2026 23:30,1,1,run",
        "01/02/2026 23:45,2,2,run",
        "01/02/2026 00:00,3,3,run",  # written after 23:45 of the same date: it is 24:00
        "02/02/2026 00:15,4,4,run",
    ]
    literal = import_file(sf_sink, "a1", _csv(tmp_path, rows), _map(), kind="csv")
    assert literal.out_of_order == 1
    rolled_map = _map(midnight_rollover=True, timezone="UTC")
    rolled = import_file(sf_sink, "a1", _csv(tmp_path, rows), rolled_map, kind="csv")
    assert (rolled.midnight_rollovers, rolled.out_of_order, rolled.timeline.gaps) == (1, 0, 0)
    assert report_dict(rolled)["timeline"]["last"] == "2026-02-02T00:15:00+00:00"


def test_importer_reads_parquet_with_naive_and_aware_timestamps(
    sf_sink: TelemetryService, tmp_path: Path
) -> None:
    naive = [datetime(2026, 2, 1, 8, 0) + timedelta(minutes=i) for i in range(3)]
    table = pa.table(
        {
            "date": pa.array(naive, type=pa.timestamp("us")),
            "kWh": pa.array([1.0, 2.0, None]),
            "W": pa.array([1, 2, 3], type=pa.int64()),
            "mode": pa.array(["off", "idle", "run"]),
        }
    )
    path = tmp_path / "meter.parquet"
    pq.write_table(table, path)
    report = import_file(sf_sink, "a1", path, _map(), kind="parquet")
    assert (report.rows_read, report.points_written, report.empty_cells) == (3, 8, 1)
    assert _series(sf_sink, KWH)[0][0] == datetime(2026, 2, 1, 1, 0, tzinfo=UTC)  # 08:00 UTC+7
    aware = table.set_column(0, "date", pa.array(naive, type=pa.timestamp("us", tz="UTC")))
    pq.write_table(aware, path)
    again = import_file(sf_sink, "a1", path, _map(), kind="parquet")
    assert again.points_written == 8  # the same wall times read as UTC are other instants


def test_importer_reads_semicolons_and_decimal_commas(
    sf_sink: TelemetryService, tmp_path: Path
) -> None:
    file_map = parse_file_map(
        {
            "timestamp": {"column": "date", "format": "%d/%m/%Y %H:%M"},
            "columns": {"kWh": KWH},
            "csv": {"delimiter": ";", "decimal": ","},
        }
    )
    path = _csv(tmp_path, ["01/02/2026 08:00;12,5", "01/02/2026 08:15;13,25"], header="date;kWh")
    import_file(sf_sink, "a1", path, file_map, kind="csv")
    assert [v for _t, v in _series(sf_sink, KWH)] == [12.5, 13.25]


def test_importer_refuses_up_front_when_the_map_does_not_fit(
    sf_sink: TelemetryService, tmp_path: Path
) -> None:
    path = _csv(tmp_path, _quarter_rows(2))
    wrong = parse_file_map(
        {
            "timestamp": {"column": "date"},
            "columns": {"kWh": {"tag": KWH, "unit": "W.h"}, "W": "line1/press2/ghost"},
        }
    )
    with pytest.raises(InvalidInput) as caught:
        import_file(sf_sink, "a1", path, wrong, kind="csv")
    assert set(caught.value.fields) == {"kWh", "W"}
    missing = parse_file_map({"timestamp": {"column": "time"}, "columns": {"kWh": KWH}})
    with pytest.raises(InvalidInput, match="lacks column"):
        import_file(sf_sink, "a1", path, missing, kind="csv")
    with pytest.raises(NotFound):
        import_file(sf_sink, "nowhere", path, _map(), kind="csv")


def test_importer_reports_progress_to_the_end(sf_sink: TelemetryService, tmp_path: Path) -> None:
    path = _csv(tmp_path, _quarter_rows(50))
    seen: list[tuple[int, int | None]] = []
    import_file(sf_sink, "a1", path, _map(), kind="csv", progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)
