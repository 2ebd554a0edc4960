"""OEE by machine by day over a month of one-second machine data, on DuckDB and PostgreSQL.

Usage: python benchmarks/bench_oee.py [--backend duckdb|postgres] [--machines 50] [--days 30]
           [--count-every-s 1] [--state-every-s 0] [--postgres-url URL] [--repeat 5]
           [--keep [--duckdb-dir DIR]] [--drop]

Per machine: a state tag (codes of simulator.STATES) written on every change, or every
`--state-every-s` seconds when > 0, and `good_count` / `scrap_count` counters sampled every
`--count-every-s` seconds, all through `TimeSeriesStore.write` (so rollups are maintained as in
production). The timed query is the KPI engine's `measure` + `group_rows`: ISO 22400 elements and
OEE of every machine for every day of the month (HCMC two-shift calendar).

Without `--keep` the data goes to a temporary DuckDB file or PostgreSQL schema, removed at the
end. With `--keep` it goes to a store named after the options (`bench_oee_m50_d30_c1_s0`: the
PostgreSQL schema, or that file in `--duckdb-dir`) and stays there: running the same command
again resumes an interrupted load after its last complete day (each day is one write, committed
whole) and skips the load when all days are in. `--drop` removes that kept store and exits.

The full PostgreSQL run (259 M points, about an hour at ~70 k points/s and ~20 GB of disk):

    python benchmarks/bench_oee.py --backend postgres --keep
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from lighthouse_os.kpi.engine import Machine, Plant, group_rows, measure
from lighthouse_os.kpi.periods import periods
from lighthouse_os.kpi.queries import open_reader
from lighthouse_os.kpi.shift_calendar import HCMC_TWO_SHIFT
from lighthouse_os.simulator.factory import STATES
from lighthouse_os.telemetry.store import POINT_SCHEMA, TimeSeriesStore, open_store

START = datetime(2025, 3, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
DAY_S = 86_400
PRI_S = 20.0
CODES = {name: code for code, name in enumerate(STATES)}


def machine_day(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(state code per second, running flag per second) of one machine-day, random runs."""
    codes = np.empty(DAY_S, dtype=np.int64)
    t = 0
    choices = [CODES["running"], CODES["idle"], CODES["setup"], CODES["down"]]
    weights = [0.7, 0.15, 0.08, 0.07]
    while t < DAY_S:
        state = rng.choice(choices, p=weights)
        length = int(rng.exponential(1200 if state == CODES["running"] else 300)) + 1
        codes[t : t + length] = state
        t += length
    return codes, codes == CODES["running"]


def day_batch(
    machine: int,
    day: int,
    rng: np.random.Generator,
    args: argparse.Namespace,
    totals: dict[int, float],
) -> pa.Table:
    """One machine-day of points: state on change (or every n s) and the two counters."""
    codes, running = machine_day(rng)
    base = int((START + timedelta(days=day)).timestamp()) * 1_000_000
    seconds = np.arange(DAY_S, dtype=np.int64)
    if args.state_every_s > 0:
        state_at = seconds[:: args.state_every_s]
    else:
        state_at = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    produced = totals.get(machine, 0.0) + np.floor(np.cumsum(running) / PRI_S)
    totals[machine] = float(produced[-1])
    scrap = np.floor(produced * 0.02)
    count_at = seconds[:: args.count_every_s]
    ids = machine * 10
    parts = [
        (ids + 1, state_at, codes[state_at].astype(np.float64)),
        (ids + 2, count_at, (produced - scrap)[count_at]),
        (ids + 3, count_at, scrap[count_at]),
    ]
    return pa.Table.from_arrays(
        [
            pa.array(np.concatenate([np.full(len(at), sid) for sid, at, _ in parts])),
            pa.array(
                np.concatenate([base + at * 1_000_000 for _, at, _ in parts]), pa.int64()
            ).cast(POINT_SCHEMA.field("ts").type),
            pa.array(np.concatenate([v for _, _, v in parts])),
        ],
        schema=POINT_SCHEMA,
    )


def advance(machine: int, rng: np.random.Generator, totals: dict[int, float]) -> None:
    """Skip one machine-day already stored: the same draws and totals as `day_batch`."""
    _codes, running = machine_day(rng)
    totals[machine] = totals.get(machine, 0.0) + float(np.floor(np.sum(running) / PRI_S))


def stored_days(store: TimeSeriesStore, args: argparse.Namespace) -> int:
    """How many whole days the store already holds (each day was one write, all or nothing)."""
    ids = [m * 10 + k for m in range(args.machines) for k in (1, 2, 3)]
    latest: list[datetime] = store.latest(ids)["ts"].to_pylist()
    if not latest:
        return 0
    return min(args.days, (max(latest) - START) // timedelta(days=1) + 1)


def load(store: TimeSeriesStore, args: argparse.Namespace) -> tuple[int, float]:
    """Write every machine-day in time order (a day of all machines per write), after the days
    already stored; (points written, seconds)."""
    rng = np.random.default_rng(2025)
    totals: dict[int, float] = {}
    done = stored_days(store, args)
    if done == args.days:
        print(f"  all {done} days already stored: reusing them")
    elif done:
        print(f"  {done}/{args.days} days already stored: resuming after them")
    points, began = 0, time.perf_counter()
    for day in range(args.days):
        if day < done:
            for m in range(args.machines):
                advance(m, rng, totals)
            continue
        batch = pa.concat_tables(
            [day_batch(m, day, rng, args, totals) for m in range(args.machines)]
        )
        points += store.write(batch).inserted
        took = time.perf_counter() - began
        left = (args.days - day - 1) * took / (day + 1 - done)
        print(
            f"  day {day + 1}/{args.days}: {points:,} points in {took:.0f} s "
            f"({points / took:,.0f} points/s), about {left / 60:.0f} min left",
            flush=True,
        )
    return points, time.perf_counter() - began


def plant(machines: int) -> Plant:
    """The benchmark machines as the engine sees them (one PRI each)."""
    return Plant(
        "bench",
        "Bench",
        tuple(
            Machine(
                f"line-{m // 10}/m-{m}",
                f"m-{m}",
                f"line-{m // 10}",
                f"line-{m // 10}",
                {"state": m * 10 + 1, "good_count": m * 10 + 2, "scrap_count": m * 10 + 3},
                STATES,
                PRI_S,
                "P",
            )
            for m in range(machines)
        ),
    )


def main() -> None:
    """Load (or resume, or reuse), then time the monthly OEE query; print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["duckdb", "postgres"], default="duckdb")
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--count-every-s", type=int, default=1)
    parser.add_argument("--state-every-s", type=int, default=0)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the data; resume or reuse it")
    parser.add_argument("--duckdb-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--drop", action="store_true", help="remove the kept data and exit")
    args = parser.parse_args()
    print(f"os.cpu_count() = {os.cpu_count()}")
    kept = args.keep or args.drop
    name = f"bench_oee_m{args.machines}_d{args.days}_c{args.count_every_s}_s{args.state_every_s}"
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend == "duckdb":
            path = (args.duckdb_dir if kept else Path(tmp)) / f"{name}.duckdb"
            if args.drop:
                path.unlink(missing_ok=True)
                print(f"removed {path}")
                return
            url, schema = f"duckdb:///{path}", "lhos_ts"
        else:
            url, schema = args.postgres_url, name if kept else f"bench_oee_{uuid.uuid4().hex[:8]}"
        store = open_store(url, schema=schema)
        try:
            if args.drop:
                print(f"dropping PostgreSQL schema {schema}")
                return
            print(f"store: {url} schema {schema}" + (" (kept)" if kept else " (temporary)"))
            run(store, url, schema, args)
        finally:
            if args.backend == "postgres" and not args.keep:
                store._execute(f"DROP SCHEMA {schema} CASCADE")  # type: ignore[attr-defined]
            store.close()


def run(store: TimeSeriesStore, url: str, schema: str, args: argparse.Namespace) -> None:
    """Load the data and time the query."""
    print(f"loading {args.machines} machines x {args.days} days into {args.backend} ...")
    points, took = load(store, args)
    if points:
        print(f"loaded {points:,} points in {took:.0f} s ({points / took:,.0f} points/s)")
    if points and args.backend == "postgres":
        # Fresh tables have no planner statistics yet (autovacuum would gather them later).
        for table in ("points", "rollup_1m", "rollup_1h"):
            store._execute(f"ANALYZE {schema}.{table}")  # type: ignore[attr-defined]
    reader = open_reader(url, schema)
    machines = plant(args.machines)
    end = START + timedelta(days=args.days)
    period_list = periods(HCMC_TWO_SHIFT, "day", START, end, now=datetime.now(UTC))
    timings = []
    for _ in range(args.repeat + 1):
        began = time.perf_counter()
        rows = group_rows(
            machines, period_list, measure(reader, machines, period_list, end), "machine"
        )
        timings.append(time.perf_counter() - began)
    reader.close()
    oee = [r.kpis.oee for r in rows if r.kpis.oee is not None]
    first, rest = timings[0], timings[1:]
    print(
        f"OEE by machine by day: {len(rows)} rows (mean OEE {statistics.mean(oee):.3f}); "
        f"first run {first:.3f} s, then median {statistics.median(rest):.3f} s, "
        f"min {min(rest):.3f} s over {len(rest)} runs [{args.backend}]"
    )


if __name__ == "__main__":
    main()
