"""Tests of the factory simulator against its own ground truth and the KPI cores."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lighthouse_os.kpi.energy import (
    IntervalFlag,
    RegisterReading,
    RegisterRules,
    power_factor,
    register_intervals,
)
from lighthouse_os.kpi.iso22400 import OeeResult, compute_oee, planned_busy_spans
from lighthouse_os.simulator.factory import (
    STATE_CODES,
    MachineHistory,
    MachineSpec,
    Point,
    Product,
    ProductionPlan,
    SimulatorConfigError,
    demo_machines,
    production_plan,
    simulate,
    simulate_history,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2025, 3, 3, tzinfo=HCM)  # Monday 00:00
WEEK = START + timedelta(days=7)
MACHINES = demo_machines()


@pytest.fixture(scope="module")
def week() -> tuple[ProductionPlan, dict[str, MachineHistory]]:
    return production_plan(START, WEEK, MACHINES), simulate_history(START, WEEK, MACHINES, seed=11)


@pytest.fixture(scope="module")
def points() -> list[Point]:
    return list(simulate(START, START + timedelta(days=2), MACHINES, seed=11))


def oee_of(plan: ProductionPlan, history: MachineHistory) -> OeeResult:
    # The top-level PRI is a fallback; every simulated count carries its product's own PRI.
    return compute_oee(
        planned=plan.planned,
        planned_downtime=plan.planned_downtime,
        states=history.states,
        counts=history.counts,
        ideal_cycle_time_s=1.0,
    )


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.path)
def test_oee_from_simulated_events_matches_ground_truth(
    week: tuple[ProductionPlan, dict[str, MachineHistory]], machine: MachineSpec
) -> None:
    plan, histories = week
    history = histories[machine.path]
    result, truth = oee_of(plan, history), history.truth
    time = result.time
    measured = {"running": time.apt_s, "setup": time.aust_s, "idle": time.adet_s}
    assert measured == pytest.approx({s: truth.seconds[s] for s in measured}, abs=1e-6)
    assert time.adot_s == pytest.approx(truth.seconds["down"], abs=1e-6)
    assert (result.failures, result.quantities.pq, result.quantities.gq) == (
        truth.failures,
        truth.produced,
        truth.good,
    )
    assert (time.unaccounted_s, result.quantities.pq_outside_pbt) == (0, 0)


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.path)
def test_simulated_kpis_lie_in_realistic_bounds(
    week: tuple[ProductionPlan, dict[str, MachineHistory]], machine: MachineSpec
) -> None:
    plan, histories = week
    kpis = oee_of(plan, histories[machine.path]).kpis
    assert kpis.oee is not None
    assert 0.5 <= kpis.oee <= 0.95
    assert kpis.availability is not None
    assert 0.6 <= kpis.availability <= 0.98
    # Effectiveness is the speed factor: stops do not slow the cycles that do run.
    assert kpis.effectiveness == pytest.approx(machine.speed_factor, abs=0.01)
    scrap = max(p.scrap_rate for p in machine.products)
    assert kpis.quality_ratio is not None
    assert 1 - 2 * scrap <= kpis.quality_ratio <= 1


def test_machines_work_only_in_planned_busy_time(
    week: tuple[ProductionPlan, dict[str, MachineHistory]],
) -> None:
    plan, histories = week
    busy = planned_busy_spans(plan.planned, plan.planned_downtime)
    for history in histories.values():
        for event in history.states:
            inside = any(s <= event.ts < e for s, e in busy)
            if event.state in {"running", "idle", "setup"}:
                assert inside, event
            if event.state == "planned_stop":
                assert not inside, event


def test_simulation_is_deterministic_for_a_seed(points: list[Point]) -> None:
    again = list(simulate(START, START + timedelta(days=2), MACHINES, seed=11))
    other = list(simulate(START, START + timedelta(days=2), MACHINES, seed=12))
    assert again == points
    assert other != points


def test_adding_a_machine_leaves_the_others_unchanged() -> None:
    end = START + timedelta(days=1)
    alone = simulate_history(START, end, MACHINES[:1], seed=3)
    together = simulate_history(START, end, MACHINES, seed=3)
    assert alone[MACHINES[0].path] == together[MACHINES[0].path]


def test_points_are_time_ordered_with_six_tags_per_machine(points: list[Point]) -> None:
    assert [p.ts for p in points] == sorted(p.ts for p in points)
    signals = {"state", "good_count", "scrap_count", "energy_kwh", "kvarh", "power_kw"}
    assert {p.tag for p in points} == {f"{m.path}/{s}" for m in MACHINES for s in signals}
    assert all(p.ts.utcoffset() == timedelta(hours=7) for p in points)
    states = {p.value for p in points if p.tag.endswith("/state")}
    assert states == set(STATE_CODES.values())


def _series(points: list[Point], tag: str) -> list[Point]:
    return [p for p in points if p.tag == tag]


def test_counters_are_monotonic_and_match_history(points: list[Point]) -> None:
    history = simulate_history(START, START + timedelta(days=2), MACHINES, seed=11)
    for machine in MACHINES:
        good = [p.value for p in _series(points, f"{machine.path}/good_count")]
        assert good == sorted(good)
        counted = history[machine.path].counts
        last_sample = _series(points, f"{machine.path}/good_count")[-1].ts
        assert good[-1] == sum(c.good for c in counted if c.ts <= last_sample)


def test_energy_registers_read_back_through_the_energy_core(points: list[Point]) -> None:
    machine = MACHINES[2]  # its register starts near the top and rolls over
    readings = [
        RegisterReading(p.ts, p.value) for p in _series(points, f"{machine.path}/energy_kwh")
    ]
    rules = RegisterRules(register_max=machine.register_max_kwh, resolution=0.1)
    result = register_intervals(readings, rules)
    assert result.rejected == ()
    assert sum(IntervalFlag.ROLLOVER in i.flags for i in result.intervals) == 1
    total = sum(i.energy for i in result.intervals)
    history = simulate_history(START, START + timedelta(days=2), [machine], seed=11)
    # The samples stop up to one minute before the end, at off-shift load.
    assert history[machine.path].truth.kwh - total == pytest.approx(0, abs=0.05)


def test_power_follows_the_state(points: list[Point]) -> None:
    machine = MACHINES[0]
    state_at: dict[datetime, float] = {}
    current = None
    for p in points:
        if p.tag == f"{machine.path}/state":
            current = p.value
        elif p.tag == f"{machine.path}/power_kw":
            state_at[p.ts] = current  # type: ignore[assignment]
    by_state: dict[float, list[float]] = defaultdict(list)
    for p in _series(points, f"{machine.path}/power_kw"):
        by_state[state_at[p.ts]].append(p.value)
    mean = {code: sum(v) / len(v) for code, v in by_state.items()}
    codes = STATE_CODES
    assert mean[codes["running"]] > mean[codes["idle"]] > mean[codes["planned_stop"]]
    assert mean[codes["setup"]] > mean[codes["idle"]]


def test_power_factor_stays_between_0_78_and_0_95(
    week: tuple[ProductionPlan, dict[str, MachineHistory]],
) -> None:
    for history in week[1].values():
        pf = power_factor(history.truth.kwh, history.truth.kvarh).value
        assert pf is not None
        assert 0.78 <= pf <= 0.95


def test_single_product_machine_never_sets_up(
    week: tuple[ProductionPlan, dict[str, MachineHistory]],
) -> None:
    packer = week[1]["line-2/packer-1"]
    assert packer.truth.seconds["setup"] == 0


def test_exponential_repairs_average_near_mttr() -> None:
    machine = dataclasses.replace(
        MACHINES[0], name="exp", repair="exponential", mtbf_s=1800.0, mttr_s=600.0
    )
    end = START + timedelta(days=28)
    result = oee_of(
        production_plan(START, end, [machine]),
        simulate_history(START, end, [machine], 5)["line-1/exp"],
    )
    # Repairs that run into breaks or nights are cut at PBT, so the measured MTTR is a bit lower.
    assert result.kpis.mttr_s is not None
    assert 400 <= result.kpis.mttr_s <= 700


@settings(deadline=None, max_examples=8)
@given(
    seed=st.integers(0, 10_000),
    mtbf_h=st.floats(0.2, 8),
    mttr_min=st.floats(1, 120),
    cycle_s=st.floats(1, 120),
)
def test_event_accounting_holds_for_any_machine(
    seed: int, mtbf_h: float, mttr_min: float, cycle_s: float
) -> None:
    machine = MachineSpec(
        "line-x",
        "m",
        (Product("A", cycle_s, 0.05), Product("B", cycle_s * 1.5, 0.1)),
        lot_size=50,
        mtbf_s=mtbf_h * 3600,
        mttr_s=mttr_min * 60,
    )
    end = START + timedelta(days=2)
    history = simulate_history(START, end, [machine], seed)[machine.path]
    result = oee_of(production_plan(START, end, [machine]), history)
    assert result.time.apt_s == pytest.approx(history.truth.seconds["running"], abs=1e-6)
    assert result.failures == history.truth.failures
    assert result.quantities.gq == history.truth.good


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"products": ()}, "at least one product"),
        ({"lot_size": 0}, "lot_size"),
        ({"speed_factor": 0.0}, "speed_factor"),
        ({"mttr_s": 0.0}, "MTTR"),
        ({"products": (Product("X", 10.0, 1.0),)}, "scrap_rate"),
        ({"products": (Product("X", 0.0, 0.0),)}, "ideal_cycle_time_s"),
    ],
)
def test_bad_machine_spec_is_refused(change: dict[str, object], message: str) -> None:
    machine = dataclasses.replace(MACHINES[0], **change)  # type: ignore[arg-type]
    with pytest.raises(SimulatorConfigError, match=message):
        simulate(START, WEEK, [machine], seed=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"machines": MACHINES[:1] * 2}, "unique"),
        ({"start": datetime(2025, 3, 3)}, "time zone"),
        ({"end": START}, "after start"),
        ({"sample_s": 0.0}, "sample_s"),
    ],
)
def test_bad_simulation_arguments_are_refused_before_iterating(
    kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"start": START, "end": WEEK, "machines": MACHINES, "seed": 1}
    with pytest.raises(SimulatorConfigError, match=message):
        simulate(**{**arguments, **kwargs})  # type: ignore[arg-type]


def test_simulation_streams_lazily() -> None:
    year = START + timedelta(days=365)
    first = list(islice(simulate(START, year, MACHINES, seed=2, sample_s=300), 10))
    assert len(first) == 10
