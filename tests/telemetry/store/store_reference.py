"""A plain-Python model of what the store should answer, to check both SQL backends against."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa

from lighthouse_os.telemetry.store import POINT_SCHEMA, TimeSeriesStore

Point = tuple[int, datetime, float]
Row = tuple[int, datetime, float]
StoreFactory = Callable[..., TimeSeriesStore]


def batch(points: Iterable[Point]) -> pa.Table:
    """An Arrow batch of (series_id, ts, value) points."""
    rows = list(points)
    return pa.Table.from_pydict(
        {
            "series_id": [p[0] for p in rows],
            "ts": [p[1] for p in rows],
            "value": [p[2] for p in rows],
        },
        schema=POINT_SCHEMA,
    )


def rows(table: pa.Table) -> list[Row]:
    """A result table as (series_id, instant, value) tuples with UTC datetimes."""
    columns = table.to_pydict()
    names = table.column_names
    return [
        (sid, ts.astimezone(UTC), value)
        for sid, ts, value in zip(
            columns[names[0]], columns[names[1]], columns[names[2]], strict=True
        )
    ]


def stored(points: Iterable[Point]) -> dict[int, list[tuple[datetime, float]]]:
    """What the store keeps: the first value written for each key, per series in time order."""
    first: dict[tuple[int, datetime], float] = {}
    for sid, ts, value in points:
        first.setdefault((sid, ts), value)
    series: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for (sid, ts), value in sorted(first.items()):
        series[sid].append((ts, value))
    return dict(series)


def bucket_start(ts: datetime, every: str, tz: str) -> datetime:
    """The instant the local calendar bucket holding `ts` starts."""
    local = ts.astimezone(ZoneInfo(tz)).replace(second=0, microsecond=0)
    if every in {"1h", "1d", "1mo"}:
        local = local.replace(minute=0)
    if every in {"1d", "1mo"}:
        local = local.replace(hour=0)
    if every == "1mo":
        local = local.replace(day=1)
    return local.replace(tzinfo=None).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def increment(previous: float | None, current: float) -> float:
    """Counter increment: a drop is a reset, after which the new value is the increment."""
    if previous is None:
        return 0.0
    return current - previous if current >= previous else current


def expected(
    points: Iterable[Point],
    span: tuple[datetime, datetime],
    every: str,
    fn: str,
    tz: str = "Asia/Ho_Chi_Minh",
    lookback: timedelta = timedelta(days=1),
) -> list[Row]:
    """The aggregate the store should return for all series of `points`."""
    start, end = span
    groups: dict[tuple[int, datetime], list[tuple[datetime, float, float]]] = defaultdict(list)
    for sid, series in stored(points).items():
        for i, (ts, value) in enumerate(series):
            if not start <= ts < end:
                continue
            before = series[i - 1] if i > 0 and series[i - 1][0] >= start - lookback else None
            step = increment(before[1] if before else None, value)
            groups[(sid, bucket_start(ts, every, tz))].append((ts, value, step))
    return [(sid, bucket, _apply(fn, group)) for (sid, bucket), group in sorted(groups.items())]


def _apply(fn: str, group: list[tuple[datetime, float, float]]) -> float:
    values = [value for _, value, _ in group]
    results = {
        "avg": lambda: sum(values) / len(values),
        "min": lambda: min(values),
        "max": lambda: max(values),
        "sum": lambda: float(sum(values)),
        "count": lambda: float(len(values)),
        "last": lambda: max(group)[1],
        "delta": lambda: float(sum(step for _, _, step in group)),
    }
    return results[fn]()
