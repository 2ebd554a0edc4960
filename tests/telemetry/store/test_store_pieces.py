"""Tests of the in-memory rollup pieces and of the write path's append fast path."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lighthouse_os.telemetry.store import TimeSeriesStore
from lighthouse_os.telemetry.store.pieces import (
    PIECE_SCHEMA,
    combine,
    latest_points,
    overlapping,
    point_pieces,
)
from lighthouse_os.telemetry.store.sql import SqlStore
from tests.telemetry.store.store_reference import Point, batch, increment

T0 = datetime(2024, 3, 1, 8, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
_series_ids = itertools.count(5000, 10)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def as_dicts(table: pa.Table) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda row: (row["series_id"], row["bucket"]))


def reference_rollup(points: list[Point], grain: timedelta) -> list[dict[str, Any]]:
    """Rollup rows computed sample by sample, as the SQL refresh defines them."""
    rows: dict[tuple[int, datetime], dict[str, Any]] = {}
    for sid, ts, value in sorted(points):
        bucket = T0 + ((ts - T0) // grain) * grain
        row = rows.get((sid, bucket))
        if row is None:
            rows[(sid, bucket)] = {
                "series_id": sid,
                "bucket": bucket,
                "count": 1,
                "sum": value,
                "min": value,
                "max": value,
                "first": value,
                "last": value,
                "first_ts": ts,
                "last_ts": ts,
                "delta_in": 0.0,
            }
            continue
        row["delta_in"] += increment(row["last"], value)
        row["count"] += 1
        row["sum"] += value
        row["min"], row["max"] = min(row["min"], value), max(row["max"], value)
        row["last"], row["last_ts"] = value, ts
    return [rows[key] for key in sorted(rows)]


def test_combine_counts_increments_across_pieces_and_resets() -> None:
    # A counter 10, 12 | 3 (reset), 5 in one minute, written as two pieces.
    first = combine(point_pieces(batch([(1, at(0), 10.0), (1, at(10), 12.0)])), MINUTE)
    second = combine(point_pieces(batch([(1, at(20), 3.0), (1, at(30), 5.0)])), MINUTE)
    [row] = combine(pa.concat_tables([second, first]), MINUTE).to_pylist()
    assert (row["count"], row["sum"], row["min"], row["max"]) == (4, 30.0, 3.0, 12.0)
    assert (row["first"], row["last"], row["first_ts"], row["last_ts"]) == (
        10.0,
        5.0,
        at(0),
        at(30),
    )
    # 12 - 10 inside the first piece, 3 after the reset, 5 - 3 inside the second piece.
    assert row["delta_in"] == 2.0 + 3.0 + 2.0


def test_combine_of_minutes_into_hours_equals_points_into_hours() -> None:
    points = [(1, at(s), float((s * 7) % 13)) for s in range(0, 7200, 17)]
    points += [(2, at(s), float(s)) for s in range(0, 7200, 300)]
    minutes = combine(point_pieces(batch(points)), MINUTE)
    assert as_dicts(combine(minutes, HOUR)) == reference_rollup(points, HOUR)


@given(
    st.lists(
        st.tuples(st.integers(1, 3), st.integers(0, 7200), st.integers(-5, 50)),
        max_size=80,
        unique_by=lambda p: (p[0], p[1]),
    )
)
def test_point_pieces_combine_like_the_sample_by_sample_rollup(
    raw: list[tuple[int, int, int]],
) -> None:
    points = [(sid, at(off), float(v)) for sid, off, v in raw]
    for grain in (MINUTE, HOUR):
        got = as_dicts(combine(point_pieces(batch(points)), grain))
        assert got == reference_rollup(points, grain)  # small integers: sums are exact


def test_overlapping_sees_interleaved_pieces_of_the_same_bucket_only() -> None:
    stored = combine(point_pieces(batch([(1, at(0), 1.0), (1, at(40), 2.0)])), MINUTE)
    after = combine(point_pieces(batch([(1, at(50), 3.0)])), MINUTE)
    between = combine(point_pieces(batch([(1, at(20), 3.0)])), MINUTE)
    other_series = combine(point_pieces(batch([(2, at(20), 3.0)])), MINUTE)
    assert not overlapping(stored, after)
    assert overlapping(stored, between)
    assert not overlapping(stored, other_series)
    assert not overlapping(PIECE_SCHEMA.empty_table(), between)


def test_latest_points_are_the_last_sample_of_each_series() -> None:
    pieces = point_pieces(batch([(1, at(5), 1.0), (2, at(1), 7.0), (1, at(9), 4.0)]))
    got = latest_points(combine(pieces, MINUTE)).to_pylist()
    assert got == [
        {"series_id": 1, "ts": at(9), "value": 4.0},
        {"series_id": 2, "ts": at(1), "value": 7.0},
    ]


# -- the write path on both backends -----------------------------------------------------


def stored_rollup(store: TimeSeriesStore, table: str, series: list[int]) -> list[dict[str, Any]]:
    assert isinstance(store, SqlStore)
    ids = ", ".join(map(str, series))
    sql = f"SELECT * FROM {store.schema}.{table} WHERE series_id IN ({ids})"
    return as_dicts(store._read(sql, PIECE_SCHEMA))


def count_recomputes(store: TimeSeriesStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record each write that had to recompute its buckets from stored data."""
    assert isinstance(store, SqlStore)
    calls: list[int] = []
    recompute = store._roll_up

    def spy(first: datetime, last: datetime) -> None:
        calls.append(1)
        recompute(first, last)

    monkeypatch.setattr(store, "_roll_up", spy)
    return calls


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    samples=st.lists(st.tuples(st.integers(0, 1), st.integers(-3, 40)), min_size=1, max_size=90),
    cuts=st.lists(st.integers(1, 89), max_size=6),
)
def test_appending_batches_gives_the_rollups_of_one_batch_without_recomputing(
    store: TimeSeriesStore,
    monkeypatch: pytest.MonkeyPatch,
    samples: list[tuple[int, int]],
    cuts: list[int],
) -> None:
    base = next(_series_ids)
    # Samples 37 s apart, so batches cross minute and hour boundaries.
    points = [(base + s, at(i * 37), float(v)) for i, (s, v) in enumerate(samples)]
    edges = [0, *sorted(c for c in cuts if c < len(points)), len(points)]
    recomputed = count_recomputes(store, monkeypatch)
    for start, end in itertools.pairwise(edges):
        store.write(batch(points[start:end]))
    assert recomputed == []
    series = [base, base + 1]
    for table, grain in (("rollup_1m", MINUTE), ("rollup_1h", HOUR)):
        assert stored_rollup(store, table, series) == reference_rollup(points, grain)
    latest = {
        row["series_id"]: (row["ts"], row["value"]) for row in store.latest(series).to_pylist()
    }
    written = {sid for sid, _, _ in points}
    assert latest == {sid: max((ts, v) for s, ts, v in points if s == sid) for sid in written}


def test_a_late_point_between_stored_samples_recomputes_its_buckets(
    store: TimeSeriesStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = next(_series_ids)
    early = [(sid, at(0), 10.0), (sid, at(40), 30.0)]
    late = [(sid, at(20), 5.0)]  # a reset between 10 and 30: the stored delta changes
    store.write(batch(early))
    recomputed = count_recomputes(store, monkeypatch)
    store.write(batch(late))
    assert recomputed == [1]
    assert stored_rollup(store, "rollup_1m", [sid]) == reference_rollup(early + late, MINUTE)
