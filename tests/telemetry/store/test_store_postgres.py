"""PostgreSQL-only behaviour: monthly partitions, concurrent writers, schema isolation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from lighthouse_os.telemetry.store import Retention
from lighthouse_os.telemetry.store.postgres import libpq_url
from tests.telemetry.store.store_reference import Point, StoreFactory, batch, expected, rows

pytestmark = pytest.mark.postgres
T0 = datetime(2024, 1, 31, 23, 58, tzinfo=UTC)
FNS = ("avg", "min", "max", "sum", "last", "count", "delta")


def partitions(url: str, schema: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        found = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'",
            (schema,),
        ).fetchall()
    return {str(name) for (name,) in found}


def test_write_creates_monthly_partitions_and_retention_drops_whole_ones(
    pg_store_factory: StoreFactory, postgres_url: str
) -> None:
    store = pg_store_factory(schema="lhos_ts_parts", retention=Retention(raw=timedelta(days=1)))
    store.write(batch([(1, T0, 1.0), (1, T0 + timedelta(minutes=5), 2.0)]))
    store.write(batch([(1, datetime(2024, 3, 10, tzinfo=UTC), 3.0)]))
    names = {"points_p202401", "points_p202402", "points_p202403"}
    names |= {f"rollup_1m_p2024{m:02d}" for m in (1, 2, 3)}
    assert partitions(postgres_url, "lhos_ts_parts") == names
    store.apply_retention(datetime(2024, 3, 5, tzinfo=UTC))
    assert partitions(postgres_url, "lhos_ts_parts") == {
        "points_p202403",
        "rollup_1m_p202401",
        "rollup_1m_p202402",
        "rollup_1m_p202403",
    }


def test_concurrent_writers_to_the_same_buckets_leave_correct_rollups(
    pg_store_factory: StoreFactory,
) -> None:
    stores = [pg_store_factory(schema="lhos_ts_race") for _ in range(2)]
    seconds = range(0, 600, 3)
    points: list[list[Point]] = [
        [(s % 2, T0 + timedelta(seconds=t), float(t % 17)) for t in seconds if t % 2 == w]
        for w in range(2)
        for s in (0, 1)
    ]

    def write(worker: int) -> None:
        mine = points[2 * worker] + points[2 * worker + 1]
        for i in range(0, len(mine), 10):  # small batches interleave with the other writer
            stores[worker].write(batch(mine[i : i + 10]))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [p for chunk in points for p in chunk]
    span = (T0, T0 + timedelta(hours=1))
    for every in ("1m", "1h"):
        for fn in FNS:
            got = rows(stores[0].aggregate([0, 1], *span, every, fn))  # type: ignore[arg-type]
            assert got == expected(everything, span, every, fn), (every, fn)


def test_stores_in_different_schemas_do_not_see_each_other(
    pg_store_factory: StoreFactory,
) -> None:
    first, second = pg_store_factory(), pg_store_factory()
    first.write(batch([(1, T0, 1.0)]))
    assert second.latest([1]).num_rows == 0
    assert rows(first.latest([1])) == [(1, T0, 1.0)]
