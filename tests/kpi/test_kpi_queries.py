"""The KPI queries (Ibis, compiled per backend) against hand counts and the pure ISO 22400 core."""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.kpi.engine import Machine, Plant, good_units, group_rows, measure
from lighthouse_os.kpi.iso22400 import CountIncrement, StateEvent, compute_oee
from lighthouse_os.kpi.periods import periods
from lighthouse_os.kpi.queries import LabelledSpan, open_reader, run_concurrently, tile_plan
from lighthouse_os.kpi.shift_calendar import HCMC_TWO_SHIFT, planned_time
from lighthouse_os.simulator.factory import STATES, Point, demo_machines, simulate
from lighthouse_os.telemetry.store import POINT_SCHEMA, StoreUnavailable, TimeSeriesStore
from lighthouse_os.telemetry.store.plan import Level, tiles
from tests.kpi.conftest import Backend

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2025, 3, 3, 1, tzinfo=UTC)
SIM_START = datetime(2025, 3, 2, tzinfo=HCM)  # Sunday: one day of history before the periods
DAY1 = datetime(2025, 3, 3, tzinfo=HCM)
NOW = datetime(2025, 3, 4, 16, 30, tzinfo=HCM)  # in shift B of the second day
SIGNAL_IDS = {"state": 1, "good_count": 2, "scrap_count": 3, "energy_kwh": 4, "kvarh": 5}


def write(store: TimeSeriesStore, rows: Iterable[tuple[int, datetime, float]]) -> None:
    ids, stamps, values = zip(*rows, strict=True)
    store.write(
        pa.Table.from_arrays(
            [
                pa.array(ids, pa.int64()),
                pa.array(stamps, POINT_SCHEMA.field("ts").type),
                pa.array(values, pa.float64()),
            ],
            schema=POINT_SCHEMA,
        )
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def span(start: float, end: float, label: float = 0) -> LabelledSpan:
    return LabelledSpan(at(label), at(start), at(end))


# -- state seconds ------------------------------------------------------------------------------

# (second, code): 1 until 100, 2 until 200 (a repeat at 150), 1 until 400, 4 until 500, then 1.
STATE_POINTS = [(0, 1), (100, 2), (150, 2), (200, 1), (400, 4), (500, 1)]


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        (
            [span(50, 450)],
            {
                (0, 1.0, None): (50.0, 1),
                (0, 2.0, 1.0): (100.0, 1),
                (0, 1.0, 2.0): (200.0, 1),
                (0, 4.0, 1.0): (50.0, 1),
            },
        ),
        (
            [span(0, 120, 0), span(180, 260, 0), span(300, 700, 300)],
            {
                (0, 1.0, None): (100.0, 1),
                (0, 2.0, 1.0): (40.0, 1),
                (0, 1.0, 2.0): (60.0, 1),
                (300, 1.0, 2.0): (100.0, 1),
                (300, 4.0, 1.0): (100.0, 1),
                (300, 1.0, 4.0): (150.0, 1),
            },
        ),
        ([span(600, 700)], {(0, 1.0, 4.0): (50.0, 1)}),
    ],
    ids=["one-span", "periods-and-gaps", "after-last-change"],
)
def test_state_seconds_hold_each_state_until_the_next_change(
    backend: Backend,
    spans: list[LabelledSpan],
    expected: dict[tuple[float, float, float | None], tuple[float, int]],
) -> None:
    write(backend.store, [(7, at(s), float(v)) for s, v in STATE_POINTS])
    table = backend.reader.state_seconds([7], spans, at(650))
    found = {
        ((r["period_start"] - T0).total_seconds(), r["value"], r["prev"]): (
            r["seconds"],
            r["entries"],
        )
        for r in table.to_pylist()
    }
    assert found == expected


def test_state_seconds_are_empty_without_spans_or_series(backend: Backend) -> None:
    write(backend.store, [(7, at(s), float(v)) for s, v in STATE_POINTS])
    assert backend.reader.state_seconds([7], [], at(600)).num_rows == 0
    assert backend.reader.state_seconds([], [span(0, 10)], at(600)).num_rows == 0


# -- counter increments -------------------------------------------------------------------------


def test_increments_sum_samples_inside_ranges_and_survive_a_reset(backend: Backend) -> None:
    # One sample every 10 s for 3 h (so hour, minute and raw tiles all take part), +2 each,
    # with a counter reset to 0 at 5400 s (that sample's increment is its own value, 0).
    rows = []
    value = 0.0
    for s in range(0, 3 * 3600, 10):
        value = 0.0 if s == 5400 else value + 2
        rows.append((9, at(s), value))
    write(backend.store, rows)
    ranges = [span(0, 3600, 0), span(3630, 7200.5, 3600), span(7300, 10800, 7200)]
    table = backend.reader.increments([9], ranges)
    found = {(r["period_start"] - T0).total_seconds(): r["value"] for r in table.to_pylist()}
    expected = defaultdict(float)
    previous = None
    for _sid, ts, v in rows:
        step = 0.0 if previous is None else (v - previous if v >= previous else v)
        previous = v
        for r in ranges:
            if r.start <= ts < r.end:
                expected[(r.period - T0).total_seconds()] += step
    assert found == pytest.approx(dict(expected))


@given(
    cuts=st.lists(
        st.integers(min_value=1, max_value=4 * 3600 - 1), min_size=0, max_size=8, unique=True
    ),
    offset_s=st.integers(min_value=0, max_value=3599),
)
def test_tile_plan_covers_the_range_once(cuts: list[int], offset_s: int) -> None:
    lo = datetime(2025, 1, 1, tzinfo=UTC)
    hi = lo + timedelta(hours=4)
    edges = [lo + timedelta(seconds=offset_s), *(lo + timedelta(seconds=c) for c in sorted(cuts))]
    ranges = [LabelledSpan(a, a, b) for a, b in itertools.pairwise(edges) if a < b]
    plan = tile_plan(ranges, lo, hi)
    tiles = sorted(
        zip(plan.table["bucket"].to_pylist(), plan.table["bucket_end"].to_pylist(), strict=True)
    )
    assert tiles[0][0] == lo
    assert tiles[-1][1] == hi
    assert all(a[1] == b[0] for a, b in itertools.pairwise(tiles))


def _store_tiles(
    ranges: list[LabelledSpan], lo: datetime, hi: datetime
) -> list[tuple[int, datetime, datetime, datetime | None]]:
    """The tiles as the store plans them (`plan.tiles`), each rollup tile listed by bucket."""
    regions: list[tuple[datetime, datetime, datetime | None]] = []
    cursor = lo
    for r in sorted(ranges, key=lambda r: r.start):
        start, end = max(r.start, cursor), min(r.end, hi)
        if start < end:
            regions += [(cursor, start, None), (start, end, r.period)]
            cursor = end
    regions.append((cursor, hi, None))
    rows = []
    for start, end, label in regions:
        for tile in tiles(start, end, Level.HOUR):
            if tile.level is Level.RAW:
                rows.append((0, tile.start, tile.end, label))
                continue
            bucket = tile.start
            while bucket < tile.end:
                rows.append((tile.level.value, bucket, bucket + tile.level.grain, label))
                bucket += tile.level.grain
    return rows


@given(
    edges=st.lists(st.integers(min_value=0, max_value=3 * 86_400_000_000), max_size=12),
    labels=st.lists(st.integers(min_value=-86_400, max_value=86_400), min_size=6, max_size=6),
    lo_us=st.integers(min_value=0, max_value=3_600_000_000),
    length_us=st.integers(min_value=1, max_value=3 * 86_400_000_000),
)
def test_tile_plan_lists_the_store_tiles_of_each_range(
    edges: list[int], labels: list[int], lo_us: int, length_us: int
) -> None:
    base = datetime(2025, 3, 1, tzinfo=UTC)
    lo = base + timedelta(microseconds=lo_us)
    hi = lo + timedelta(microseconds=length_us)
    cuts = sorted(base + timedelta(microseconds=e) for e in edges)
    ranges = [
        LabelledSpan(a + timedelta(seconds=labels[i % 6]), a, b)
        for i, (a, b) in enumerate(zip(cuts[::2], cuts[1::2], strict=False))
        if a < b
    ]
    plan = tile_plan(ranges, lo, hi)
    found = list(zip(*(plan.table[c].to_pylist() for c in plan.table.column_names), strict=True))
    expected = _store_tiles(ranges, lo, hi)
    assert sorted(found, key=str) == sorted(expected, key=str)
    raw = [(start, end) for level, start, end, _label in expected if level == 0]
    (head_lo, head_hi), (tail_lo, tail_hi) = plan.raw
    for start, end in raw:  # every raw tile lies inside one of the two raw windows
        assert head_lo <= start < end <= head_hi or tail_lo <= start < end <= tail_hi
    if not raw:
        assert plan.raw == ((lo, lo), (lo, lo))


def test_open_reader_refuses_an_in_memory_duckdb_store() -> None:
    with pytest.raises(StoreUnavailable):
        open_reader("duckdb:///:memory:")


# -- the engine against the pure core on simulated machines -------------------------------------


def _simulated(machines: int) -> tuple[list[Point], list[Machine]]:
    specs = demo_machines()[:machines]
    points = list(simulate(SIM_START, NOW, specs, seed=7, sample_s=30.0))
    plant = [
        Machine(
            spec.path,
            spec.name,
            spec.line,
            spec.line,
            {signal: 10 * (i + 1) + sid for signal, sid in SIGNAL_IDS.items()},
            STATES,
            spec.products[0].ideal_cycle_time_s,
            spec.products[0].code,
        )
        for i, spec in enumerate(specs)
    ]
    return points, plant


def _store_points(backend: Backend, points: list[Point], plant: list[Machine]) -> None:
    ids = {f"{m.path}/{signal}": sid for m in plant for signal, sid in m.tags.items()}
    write(backend.store, [(ids[p.tag], p.ts, float(p.value)) for p in points if p.tag in ids])


def _core_inputs(
    points: list[Point], machine: Machine
) -> tuple[list[StateEvent], list[CountIncrement]]:
    states = [
        StateEvent(p.ts, STATES[int(p.value)]) for p in points if p.tag == f"{machine.path}/state"
    ]
    last: dict[str, float] = {}
    counts = []
    for p in points:
        signal = p.tag.removeprefix(f"{machine.path}/")
        if signal not in ("good_count", "scrap_count") or not p.tag.startswith(machine.path + "/"):
            continue
        step = p.value - last[signal] if signal in last else 0.0
        last[signal] = p.value
        if step:
            counts.append(CountIncrement(p.ts, step, step if signal == "good_count" else 0.0))
    return states, counts


@pytest.mark.parametrize("kind", ["day", "shift"])
@pytest.mark.parametrize(
    ("since", "now"),
    [
        (DAY1, NOW),
        # Unaligned ends (inside a shift, `now` between samples): raw tiles at both ends.
        (DAY1 + timedelta(hours=7, seconds=27.5), NOW - timedelta(seconds=41.25)),
    ],
    ids=["aligned", "unaligned"],
)
def test_engine_oee_matches_the_pure_core_on_simulated_machines(
    backend: Backend, kind: str, since: datetime, now: datetime
) -> None:
    points, machines = _simulated(3)
    _store_points(backend, points, machines)
    plant = Plant("s", "S", tuple(machines))
    period_list = periods(HCMC_TWO_SHIFT, kind, since, now + timedelta(hours=8), now)
    rows = group_rows(
        plant, period_list, measure(backend.reader, plant, period_list, now), "machine"
    )
    assert len(rows) == len(period_list) * len(machines)
    for row in rows:
        machine = next(m for m in machines if m.path == row.key)
        if row.period.start >= now:  # a future period has no planned time yet
            assert (row.time.pot_s, row.kpis.oee) == (0.0, None)
            continue
        states, counts = _core_inputs(points, machine)
        plan = planned_time(HCMC_TWO_SHIFT, row.period.start, min(row.period.end, now))
        core = compute_oee(
            planned=plan.planned,
            planned_downtime=plan.planned_downtime,
            states=states,
            counts=counts,
            ideal_cycle_time_s=machine.pri_s or 1.0,
        )
        assert asdict(row.time) == pytest.approx(asdict(core.time), abs=1e-3)
        assert (row.quantities.pq, row.quantities.gq) == pytest.approx(
            (core.quantities.pq, core.quantities.gq)
        )
        ours, theirs = asdict(row.kpis), asdict(core.kpis)
        assert [k for k, v in ours.items() if v is None] == [
            k for k, v in theirs.items() if v is None
        ]
        defined = {k: v for k, v in theirs.items() if v is not None}
        assert {k: ours[k] for k in defined} == pytest.approx(defined, rel=1e-9, abs=1e-9)
        assert row.undefined.keys() == core.undefined.keys()


def test_engine_sums_lines_and_site_from_their_machines(backend: Backend) -> None:
    points, machines = _simulated(4)
    _store_points(backend, points, machines)
    plant = Plant("s", "S", tuple(machines))
    period_list = periods(HCMC_TWO_SHIFT, "day", DAY1, DAY1 + timedelta(days=1), NOW)
    measured = measure(backend.reader, plant, period_list, NOW)
    by_level = {
        lvl: group_rows(plant, period_list, measured, lvl) for lvl in ("machine", "line", "site")
    }
    site = by_level["site"][0]
    assert site.time.apt_s == pytest.approx(sum(r.time.apt_s for r in by_level["machine"]))
    assert site.quantities.gq == pytest.approx(sum(r.quantities.gq for r in by_level["line"]))
    assert [r.key for r in by_level["line"]] == ["line-1", "line-2"]
    ideal = sum(
        m.pri_s * r.quantities.pq for m, r in zip(machines, by_level["machine"], strict=True)
    )  # type: ignore[operator]
    assert site.kpis.effectiveness == pytest.approx(ideal / site.time.apt_s)


@pytest.mark.parametrize("kind", ["day", "shift"])
def test_good_units_are_the_gq_of_the_measured_time_model(backend: Backend, kind: str) -> None:
    points, machines = _simulated(3)
    _store_points(backend, points, machines)
    plant = Plant("s", "S", tuple(machines))
    # Unaligned ends (inside a shift, and a `now` between samples) give raw tiles at both ends.
    since, now = DAY1 + timedelta(hours=7, seconds=27.5), NOW - timedelta(seconds=41.25)
    period_list = periods(HCMC_TWO_SHIFT, kind, since, now, now)
    measured = measure(backend.reader, plant, period_list, now)
    good = good_units(backend.reader, plant, period_list)
    assert good == {key: elements.gq for key, elements in measured.items()}
    assert sum(good.values()) > 0


# -- independent queries side by side -----------------------------------------------------------


@dataclass
class _Reader:
    concurrent: bool


def test_run_concurrently_returns_results_in_order_from_several_threads() -> None:
    threads: dict[int, str] = {}
    together = threading.Barrier(3, timeout=30)  # passes only if all three run at once

    def call(value: int, wait: bool = True) -> int:
        threads[value] = threading.current_thread().name
        if wait:
            together.wait()
        return value

    found = run_concurrently(_Reader(True), lambda: call(1), lambda: call(2), lambda: call(3))
    assert found == (1, 2, 3)
    assert threads[1] == threading.current_thread().name  # the first runs in the caller
    assert len(set(threads.values())) == 3
    threads.clear()
    sequential = run_concurrently(_Reader(False), lambda: call(1, False), lambda: call(2, False))
    assert sequential == (1, 2)
    assert set(threads.values()) == {threading.current_thread().name}  # in turn (PostgreSQL)


def test_run_concurrently_raises_the_error_of_a_call() -> None:
    finished = threading.Event()

    started = threading.Event()

    def fail(message: str, after: threading.Event | None = None) -> int:
        if after is not None:
            assert after.wait(30)
            time.sleep(0.2)
            finished.set()
        raise ValueError(message)

    def first() -> int:
        started.set()
        return fail("first")

    with pytest.raises(ValueError, match="second"):
        run_concurrently(_Reader(True), lambda: 1, lambda: fail("second"))
    with pytest.raises(ValueError, match="first"):
        run_concurrently(_Reader(True), first, lambda: fail("second", after=started))
    assert finished.is_set()  # the others were waited for before the error was raised


def test_run_concurrently_runs_in_turn_inside_the_pool() -> None:
    # Nested from pool threads, waiting on the pool could exhaust it; they run in turn instead.
    reader = _Reader(True)

    def nested() -> tuple[str, str]:
        return run_concurrently(
            reader, lambda: threading.current_thread().name, lambda: threading.current_thread().name
        )

    results = run_concurrently(reader, nested, nested, nested)
    for names in results[1:]:
        assert len(set(names)) == 1
        assert names[0].startswith("lhos-kpi")
