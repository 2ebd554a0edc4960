"""Raw append rate of the time-series store (points/s) on DuckDB and PostgreSQL.

Writes `--points` points of `--series` series sampled once a second, in time order, in batches
of `--batch`, through `TimeSeriesStore.write` (dedupe, rollups and latest included). With
`--baseline` it also times the engine's own bulk append of the same batches into a bare table
(DuckDB INSERT from Arrow; PostgreSQL binary COPY), the ceiling the store is measured against.

    python benchmarks/bench_store_append.py --points 1000000 --batch 10000 --backend both
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import psycopg
import pyarrow as pa

from lighthouse_os.telemetry.store import POINT_SCHEMA, open_store
from lighthouse_os.telemetry.store.pgcopy import encode
from lighthouse_os.telemetry.store.postgres import libpq_url

T0_US = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)


def batches(points: int, size: int, series: int) -> Iterator[pa.Table]:
    """Batches of one-second samples, all series at each second, in time order."""
    rng = np.random.default_rng(0)
    for first in range(0, points, size):
        k = np.arange(first, min(first + size, points), dtype=np.int64)
        ts = pa.array(T0_US + (k // series) * 1_000_000, type=pa.int64())
        columns = [
            pa.array(k % series, type=pa.int64()),
            ts.cast(POINT_SCHEMA.field("ts").type),
            pa.array(rng.normal(100.0, 5.0, len(k))),
        ]
        yield pa.Table.from_arrays(columns, schema=POINT_SCHEMA)


def timed(write: Callable[[pa.Table], object], args: argparse.Namespace) -> float:
    """Points per second of `write` over all batches (batch generation not timed)."""
    elapsed = 0.0
    for batch in batches(args.points, args.batch, args.series):
        start = time.perf_counter()
        write(batch)
        elapsed += time.perf_counter() - start
    return float(args.points / elapsed)


def bench_duckdb(args: argparse.Namespace, folder: Path) -> None:
    with open_store(f"duckdb:///{folder / 'store.duckdb'}") as store:
        report("duckdb", "store.write", timed(store.write, args), args)
    if not args.baseline:
        return
    for label, dedupe in [("engine INSERT from Arrow", ""), ("+ anti-join on key", DEDUPE)]:
        con = duckdb.connect(str(folder / f"bare{len(dedupe)}.duckdb"))
        con.execute("CREATE TABLE bare (series_id BIGINT, ts TIMESTAMPTZ, value DOUBLE)")

        def append(
            batch: pa.Table, con: duckdb.DuckDBPyConnection = con, sql: str = dedupe
        ) -> None:
            con.register("b", batch)
            con.execute(f"INSERT INTO bare SELECT * FROM b {sql}").fetchall()
            con.unregister("b")

        report("duckdb", label, timed(append, args), args)
        con.close()


# The store's duplicate check without its rollups (bounds as in `DuckDBStore`).
DEDUPE = (
    "WHERE NOT EXISTS (SELECT 1 FROM bare p WHERE p.series_id = b.series_id AND p.ts = b.ts "
    "AND p.ts >= (SELECT min(ts) FROM b) AND p.ts <= (SELECT max(ts) FROM b))"
)
KEYED = (
    "CREATE TABLE keyed (series_id BIGINT, ts TIMESTAMPTZ, value FLOAT8, "
    "PRIMARY KEY (series_id, ts)) PARTITION BY RANGE (ts)",
    "CREATE TABLE keyed_p PARTITION OF keyed FOR VALUES FROM ('2000-01-01Z') TO ('2100-01-01Z')",
    "CREATE TEMP TABLE stage (series_id BIGINT, ts TIMESTAMPTZ, value FLOAT8)",
)


def bench_postgres(args: argparse.Namespace) -> None:
    admin, name = libpq_url(args.pg_url), f"lhos_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    try:
        with open_store(url) as store:
            report("postgres", "store.write", timed(store.write, args), args)
        if args.baseline:
            with psycopg.connect(url, autocommit=True) as conn:
                postgres_baselines(conn, args)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_baselines(conn: psycopg.Connection[Any], args: argparse.Namespace) -> None:
    conn.execute("CREATE TABLE bare (series_id BIGINT, ts TIMESTAMPTZ, value FLOAT8)")
    for statement in KEYED:
        conn.execute(statement)

    def copy(batch: pa.Table, table: str = "bare") -> None:
        with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as out:
            out.write(encode(batch))

    def keyed(batch: pa.Table) -> None:
        with conn.transaction():
            copy(batch, "stage")
            conn.execute("INSERT INTO keyed SELECT * FROM stage ON CONFLICT DO NOTHING")
            conn.execute("TRUNCATE stage")

    report("postgres", "engine binary COPY, no key", timed(copy, args), args)
    report("postgres", "+ staging, ON CONFLICT on key", timed(keyed, args), args)


def report(backend: str, what: str, rate: float, args: argparse.Namespace) -> None:
    print(
        f"{backend:<9} {what:<34} points={args.points} batch={args.batch} "
        f"series={args.series}  {rate:>12,.0f} points/s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--backend", choices=["duckdb", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--baseline", action="store_true", help="also time the bare engine")
    args = parser.parse_args()
    print(f"os.cpu_count() = {os.cpu_count()}")
    if args.backend in {"duckdb", "both"}:
        with tempfile.TemporaryDirectory(prefix="lhos_bench_") as folder:
            bench_duckdb(args, Path(folder))
    if args.backend in {"postgres", "both"}:
        bench_postgres(args)


if __name__ == "__main__":
    main()
