"""Factory simulator: deterministic machine states, counts, energy and reactive energy for a seed.

Each machine runs only in the shift calendar's busy time (shifts minus breaks). While running it
completes cycles (ideal cycle time / speed factor, with jitter) and scraps a share of units. It
fails after exponentially distributed running time (MTBF) and is repaired after an exponential or
lognormal time (MTTR); repairs go on through breaks and nights. Micro-stops are short idle spells;
a product change after each lot costs a setup. Power follows the state (running > setup > idle >
down > off) and each stretch gets a power factor around 0.8–0.95. Transport (MQTT, HTTP) lives
elsewhere: this module only yields points. Same arguments, same output.
"""

from __future__ import annotations

import random
import time as _time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from lighthouse_os.kpi.iso22400 import (
    CountIncrement,
    PlannedDowntime,
    Span,
    StateEvent,
    planned_busy_spans,
)
from lighthouse_os.kpi.shift_calendar import (
    HCMC_TWO_SHIFT,
    CalendarError,
    ShiftCalendar,
    planned_time,
)
from lighthouse_os.simulator.machine import (
    MS_PER_H,
    STATE_CODES,
    STATES,
    MachineRun,
    MachineSpec,
    MachineTruth,
    PowerProfile,
    Product,
    SimulatorConfigError,
    Step,
)

__all__ = [
    "HCMC_TWO_SHIFT",
    "STATES",
    "STATE_CODES",
    "MachineHistory",
    "MachineSpec",
    "MachineTruth",
    "Point",
    "PowerProfile",
    "Product",
    "ProductionPlan",
    "ShiftCalendar",
    "SimulatorConfigError",
    "demo_machines",
    "pace",
    "production_plan",
    "simulate",
    "simulate_history",
]

_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class ProductionPlan:
    """The calendar and product master a simulation used, clipped to its period."""

    planned: tuple[Span, ...]
    planned_downtime: tuple[PlannedDowntime, ...]
    products: Mapping[str, Product]


@dataclass(frozen=True)
class Point:
    """One value of one tag: `<line>/<machine>/<signal>` at `ts`."""

    tag: str
    ts: datetime
    value: float


@dataclass(frozen=True)
class MachineHistory:
    """Ground truth of one machine: state changes, unit counts (with PRI) and totals."""

    path: str
    states: tuple[StateEvent, ...]
    counts: tuple[CountIncrement, ...]
    truth: MachineTruth


def demo_machines() -> tuple[MachineSpec, ...]:
    """A small two-line plant: machining and an injection-moulding and packing line."""
    brackets = (Product("BRK-100", 42.0, 0.02), Product("BRK-200", 55.0, 0.03))
    caps = (Product("CAP-30", 12.0, 0.015), Product("CAP-38", 14.0, 0.02))
    return (
        MachineSpec("line-1", "cnc-1", brackets, lot_size=150),
        MachineSpec("line-1", "cnc-2", brackets, lot_size=150, speed_factor=0.88, mtbf_s=3 * 3600),
        MachineSpec(
            "line-2",
            "injection-1",
            caps,
            lot_size=600,
            setup_s=40 * 60,
            power=PowerProfile(running_kw=80.0, setup_kw=30.0, idle_kw=25.0),
            register_start_kwh=999_000.0,
        ),
        MachineSpec(
            "line-2",
            "packer-1",
            (Product("PACK", 6.0, 0.005),),
            speed_factor=0.95,
            power=PowerProfile(running_kw=7.5, setup_kw=3.0, idle_kw=2.0, down_kw=0.5),
        ),
    )


def production_plan(
    start: datetime,
    end: datetime,
    machines: Sequence[MachineSpec],
    calendar: ShiftCalendar = HCMC_TWO_SHIFT,
) -> ProductionPlan:
    """Planned operation intervals, planned downtime (breaks) and the product master."""
    try:
        period = planned_time(calendar, start, end)
    except CalendarError as err:
        raise SimulatorConfigError(str(err)) from err
    products = {p.code: p for m in machines for p in m.products}
    return ProductionPlan(period.planned, period.planned_downtime, MappingProxyType(products))


def _busy_windows(plan: ProductionPlan, start: datetime) -> list[tuple[int, int]]:
    spans = planned_busy_spans(plan.planned, plan.planned_downtime)
    return [((s - start) // _MS, (e - start) // _MS) for s, e in spans]


_Chunk = tuple[int, int, int]  # planned stop from [0], busy time [1], [2] (ms from start)


def _prepare(
    start: datetime,
    end: datetime,
    machines: Sequence[MachineSpec],
    seed: int,
    calendar: ShiftCalendar,
) -> tuple[list[MachineRun], list[_Chunk]]:
    paths = [m.path for m in machines]
    if len(set(paths)) != len(paths):
        raise SimulatorConfigError("machine paths (<line>/<machine>) must be unique")
    plan = production_plan(start, end, machines, calendar)
    # One generator per machine, seeded by its path: adding a machine leaves the others unchanged.
    runs = [MachineRun(m, random.Random(f"{seed}/{m.path}")) for m in machines]
    total = (end - start) // _MS
    chunks, cursor = [], 0
    for busy_start, busy_end in [*_busy_windows(plan, start), (total, total)]:
        chunks.append((cursor, busy_start, busy_end))
        cursor = busy_end
    return runs, chunks


def simulate_history(
    start: datetime,
    end: datetime,
    machines: Sequence[MachineSpec],
    seed: int,
    *,
    calendar: ShiftCalendar = HCMC_TWO_SHIFT,
) -> dict[str, MachineHistory]:
    """Ground truth per machine path: state changes, unit counts and the simulator's totals."""
    zone = ZoneInfo(calendar.tz)
    origin = start.astimezone(zone)
    runs, chunks = _prepare(start, end, machines, seed, calendar)
    states: dict[str, list[StateEvent]] = {m.path: [] for m in machines}
    counts: dict[str, list[CountIncrement]] = {m.path: [] for m in machines}
    for chunk in chunks:
        for run in runs:
            run.run_chunk(*chunk)
            _collect(run, origin, states[run.spec.path], counts[run.spec.path])
    return {
        r.spec.path: MachineHistory(
            r.spec.path, tuple(states[r.spec.path]), tuple(counts[r.spec.path]), r.truth()
        )
        for r in runs
    }


def _at(origin: datetime, ms: int) -> datetime:
    return origin + timedelta(milliseconds=ms)


def _collect(
    run: MachineRun, origin: datetime, states: list[StateEvent], counts: list[CountIncrement]
) -> None:
    for step in run.steps:
        if not states or states[-1].state != step.state:
            states.append(StateEvent(_at(origin, step.start), step.state))
    for t, good, product in run.counts:
        counts.append(CountIncrement(_at(origin, t), 1, int(good), product.ideal_cycle_time_s))


def simulate(
    start: datetime,
    end: datetime,
    machines: Sequence[MachineSpec],
    seed: int,
    *,
    calendar: ShiftCalendar = HCMC_TWO_SHIFT,
    sample_s: float = 60.0,
) -> Iterator[Point]:
    """Points in time order: `<path>/state` (a code of `STATE_CODES`) on every change, and every
    `sample_s` the cumulative `good_count`, `scrap_count`, `energy_kwh` and `kvarh` registers
    (energy wraps after `register_max_kwh`) and the instantaneous `power_kw`."""
    sample_ms = round(sample_s * 1000)
    if sample_ms < 1:
        raise SimulatorConfigError("sample_s must be at least 0.001 s")
    runs, chunks = _prepare(start, end, machines, seed, calendar)
    return _points(runs, chunks, start.astimezone(ZoneInfo(calendar.tz)), sample_ms)


def _points(
    runs: list[MachineRun], chunks: list[_Chunk], origin: datetime, sample_ms: int
) -> Iterator[Point]:
    samplers = [_Sampler(run.spec) for run in runs]
    for chunk in chunks:
        first = -(-chunk[0] // sample_ms) * sample_ms  # the first sample time >= chunk start
        times = range(first, chunk[2], sample_ms)
        points = []
        for run, sampler in zip(runs, samplers, strict=True):
            run.run_chunk(*chunk)
            points += sampler.points(run, times, origin)
        yield from sorted(points, key=lambda p: (p.ts, p.tag))


class _Sampler:
    """Running totals of one machine's registers and counters across chunks."""

    def __init__(self, spec: MachineSpec) -> None:
        self.spec = spec
        self.kwh = spec.register_start_kwh
        self.kvarh = 0.0
        self.good = self.scrap = 0
        self.state: str | None = None

    def points(self, run: MachineRun, times: range, origin: datetime) -> list[Point]:
        """State changes and samples of one chunk; advances the running totals."""
        path = self.spec.path
        out = []
        for step in run.steps:
            if step.state != self.state:
                out.append(Point(f"{path}/state", _at(origin, step.start), STATE_CODES[step.state]))
                self.state = step.state
        out += self._samples(run, times, origin)
        return out

    def _samples(self, run: MachineRun, times: range, origin: datetime) -> list[Point]:
        out: list[Point] = []
        steps, counts, i, j = run.steps, run.counts, 0, 0
        for t in times:
            while steps[i].end <= t:
                self._add_step(steps[i])
                i += 1
            while j < len(counts) and counts[j][0] <= t:
                self.good, self.scrap = self.good + counts[j][1], self.scrap + (not counts[j][1])
                j += 1
            out += self._sample(steps[i], t, _at(origin, t))
        for step in steps[i:]:
            self._add_step(step)
        for _, good, _ in counts[j:]:
            self.good, self.scrap = self.good + good, self.scrap + (not good)
        return out

    def _add_step(self, step: Step) -> None:
        hours = (step.end - step.start) / MS_PER_H
        self.kwh += step.kw * hours
        self.kvarh += step.kvar * hours

    def _sample(self, step: Step, t: int, ts: datetime) -> list[Point]:
        spec, path = self.spec, self.spec.path
        hours = (t - step.start) / MS_PER_H
        modulus = spec.register_max_kwh + spec.register_resolution_kwh
        return [
            Point(f"{path}/good_count", ts, self.good),
            Point(f"{path}/scrap_count", ts, self.scrap),
            Point(f"{path}/energy_kwh", ts, round(self.kwh + step.kw * hours, 4) % modulus),
            Point(f"{path}/kvarh", ts, round(self.kvarh + step.kvar * hours, 4) % modulus),
            Point(f"{path}/power_kw", ts, round(step.kw, 3)),
        ]


class Timed(Protocol):
    """Anything stamped with a simulated instant: a point, or all points of one instant."""

    @property
    def ts(self) -> datetime: ...


TimedT = TypeVar("TimedT", bound=Timed)


def pace(
    items: Iterable[TimedT],
    *,
    sleep: Callable[[float], None],
    speed: float = 1.0,
    monotonic: Callable[[], float] = _time.monotonic,
) -> Iterator[TimedT]:
    """Yield items no sooner than their simulated time allows: an item `Δt` after the first is
    released `Δt / speed` seconds (on `monotonic`) after the first was, sleeping via `sleep`."""
    if speed <= 0:
        raise SimulatorConfigError("speed must be > 0")
    first: datetime | None = None
    began = 0.0
    for item in items:
        if first is None:
            first, began = item.ts, monotonic()
        due = began + (item.ts - first).total_seconds() / speed
        delay = due - monotonic()
        if delay > 0:
            sleep(delay)
        yield item
