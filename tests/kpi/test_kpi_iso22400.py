"""Tests of the ISO 22400-2 time model and KPIs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lighthouse_os.kpi.iso22400 import (
    APT_ZERO,
    NO_FAILURES,
    PBT_ZERO,
    PQ_ZERO,
    Bucket,
    CountIncrement,
    OeeInputError,
    OeeResult,
    PlannedDowntime,
    StateEvent,
    compute_oee,
)

ICT = timezone(timedelta(hours=7))
T0 = datetime(2025, 3, 3, 6, 0, tzinfo=ICT)  # a Monday, shift A starts


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def shift(minutes: float = 480) -> list[tuple[datetime, datetime]]:
    return [(at(0), at(minutes))]


def states(*pairs: tuple[float, str]) -> list[StateEvent]:
    return [StateEvent(at(m), s) for m, s in pairs]


def oee(**kwargs: object) -> OeeResult:
    kwargs.setdefault("planned", shift())
    kwargs.setdefault("counts", [])
    kwargs.setdefault("ideal_cycle_time_s", 30.0)
    return compute_oee(**kwargs)  # type: ignore[arg-type]


def test_oee_matches_hand_calculation_for_one_shift() -> None:
    # 06:00–14:00 (480 min) with a 30-min meal break at 11:00: PBT = 450 min = 27 000 s.
    # setup 30 min, run 150 min, down 30 min, run 270 min of which 30 in the break -> APT 390 min.
    result = oee(
        planned_downtime=[PlannedDowntime(at(300), at(330), "meal")],
        states=states((0, "setup"), (30, "running"), (180, "down"), (210, "running")),
        counts=[CountIncrement(at(240), 700, 680)],
    )
    t, k = result.time, result.kpis
    assert (t.pot_s, t.pdot_s, t.pbt_s) == (28_800, 1_800, 27_000)
    assert (t.apt_s, t.aust_s, t.adet_s, t.adot_s, t.unaccounted_s) == (23_400, 1_800, 0, 1_800, 0)
    assert k.availability == pytest.approx(23_400 / 27_000)
    assert k.effectiveness == pytest.approx(30 * 700 / 23_400)
    assert k.quality_ratio == pytest.approx(680 / 700)
    assert k.oee == pytest.approx(30 * 680 / 27_000)  # A×E×Q collapses to PRI×GQ/PBT
    assert k.scrap_ratio == pytest.approx(20 / 700)
    assert k.throughput_per_h == pytest.approx(700 / 6.5)
    assert k.setup_ratio == pytest.approx(1_800 / 27_000)
    assert (result.failures, k.mtbf_s, k.mttr_s) == (1, 23_400, 1_800)
    assert result.quantities.sq == 20
    assert dict(result.undefined) == {}


@pytest.mark.parametrize(
    ("case", "kwargs", "expected"),
    [
        (
            "running through a planned break is not APT",
            {
                "planned_downtime": [PlannedDowntime(at(60), at(90))],
                "states": states((0, "running")),
            },
            {"pdot_s": 1_800, "pbt_s": 27_000, "apt_s": 27_000},
        ),
        (
            "planned_stop state inside POT is PDOT",
            {"states": states((0, "running"), (100, "planned_stop"), (130, "running"))},
            {"pdot_s": 1_800, "pbt_s": 27_000, "apt_s": 27_000},
        ),
        (
            "time before the first state is unaccounted",
            {"states": states((60, "running"))},
            {"pbt_s": 28_800, "apt_s": 25_200, "unaccounted_s": 3_600},
        ),
        (
            "states outside planned time are ignored",
            {"states": states((-120, "down"), (0, "idle"), (480, "running"))},
            {"adot_s": 0, "adet_s": 28_800, "apt_s": 0},
        ),
        (
            "overlapping planned intervals are merged",
            {"planned": [(at(0), at(300)), (at(200), at(480))], "states": states((0, "running"))},
            {"pot_s": 28_800, "apt_s": 28_800},
        ),
        (
            "now truncates POT for a live shift",
            {"now": at(120), "states": states((0, "running"), (60, "idle"))},
            {"pot_s": 7_200, "apt_s": 3_600, "adet_s": 3_600},
        ),
        (
            "state names are case-insensitive",
            {"states": states((0, " RUNNING "), (240, "Setup"), (300, "Waiting"))},
            {"apt_s": 14_400, "aust_s": 3_600, "adet_s": 10_800},
        ),
        (
            "a custom map replaces the default",
            {
                "states": states((0, "EXECUTING"), (240, "out_of_service")),
                "state_map": {"executing": Bucket.APT, "out_of_service": Bucket.ADOT},
            },
            {"apt_s": 14_400, "adot_s": 14_400},
        ),
        (
            "downtime outside POT adds nothing",
            {
                "planned_downtime": [PlannedDowntime(at(500), at(600))],
                "states": states((0, "idle")),
            },
            {"pdot_s": 0, "adet_s": 28_800},
        ),
        (
            "simultaneous events: the later one wins",
            {"states": states((0, "down"), (0, "running"))},
            {"apt_s": 28_800, "adot_s": 0},
        ),
    ],
)
def test_time_elements_follow_the_time_model(
    case: str, kwargs: dict[str, object], expected: dict[str, float]
) -> None:
    time = oee(**kwargs).time
    assert {name: getattr(time, name) for name in expected} == expected, case


@pytest.mark.parametrize(
    ("events", "failures"),
    [
        ([(0, "running"), (60, "down"), (90, "breakdown"), (120, "running")], 1),
        ([(0, "down"), (60, "running")], 1),  # already down when the shift starts
        ([(0, "running"), (60, "down"), (70, "running"), (200, "down"), (210, "idle")], 2),
        ([(0, "running"), (60, "idle"), (90, "setup")], 0),
        ([(0, "running"), (-60, "down")], 0),  # the down run ends before POT
    ],
)
def test_failures_count_down_runs_that_overlap_pbt(
    events: list[tuple[float, str]], failures: int
) -> None:
    assert oee(states=states(*events)).failures == failures


def test_failure_inside_a_planned_break_is_not_counted() -> None:
    result = oee(
        planned_downtime=[PlannedDowntime(at(60), at(90))],
        states=states((0, "running"), (65, "down"), (85, "running")),
    )
    assert (result.failures, result.time.adot_s) == (0, 0)
    assert result.undefined["mtbf_s"] == NO_FAILURES


def test_kpis_are_none_with_reasons_when_planned_time_is_zero() -> None:
    result = oee(planned=[], states=states((0, "running")))
    assert result.kpis.availability is None
    assert result.kpis.oee is None
    assert result.undefined["availability"] == PBT_ZERO
    assert result.undefined["oee"] == PBT_ZERO
    assert result.undefined["setup_ratio"] == PBT_ZERO


def test_oee_is_zero_not_undefined_when_machine_never_ran() -> None:
    result = oee(states=states((0, "down")))
    assert result.kpis.availability == 0
    assert result.kpis.effectiveness is None
    assert result.undefined["effectiveness"] == APT_ZERO
    assert result.undefined["quality_ratio"] == PQ_ZERO
    assert result.kpis.oee == 0
    assert "oee" not in result.undefined


def test_counts_outside_pbt_are_reported_not_counted() -> None:
    result = oee(
        planned_downtime=[PlannedDowntime(at(60), at(90))],
        states=states((0, "running")),
        counts=[
            CountIncrement(at(10), 10, 9),
            CountIncrement(at(60), 5, 5),  # at the break start: inside PDOT
            CountIncrement(at(90), 4, 4),  # at the break end: back in PBT
            CountIncrement(at(480), 3, 3),  # at the end of POT: outside
        ],
    )
    q = result.quantities
    assert (q.pq, q.gq, q.sq, q.pq_outside_pbt) == (14, 13, 1, 8)


def test_effectiveness_uses_each_counts_own_ideal_cycle_time() -> None:
    result = oee(
        states=states((0, "running")),
        counts=[CountIncrement(at(10), 100, 100, 60.0), CountIncrement(at(20), 100, 100)],
    )
    assert result.kpis.effectiveness == pytest.approx((100 * 60 + 100 * 30) / 28_800)


def test_effectiveness_may_exceed_one_when_ideal_cycle_time_is_too_long() -> None:
    result = oee(states=states((0, "running")), counts=[CountIncrement(at(1), 2_000, 2_000)])
    assert result.kpis.effectiveness == pytest.approx(60_000 / 28_800)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"states": states((0, "sleeping"))}, "unknown machine state 'sleeping'"),
        ({"states": [StateEvent(datetime(2025, 3, 3, 6), "running")]}, "has no UTC offset"),
        ({"planned": [(at(10), at(0))], "states": []}, "ends before it starts"),
        (
            {"planned_downtime": [PlannedDowntime(at(10), at(0))], "states": []},
            "ends before it starts",
        ),
        ({"states": [], "ideal_cycle_time_s": 0.0}, "ideal cycle time must be > 0"),
        ({"states": [], "counts": [CountIncrement(at(1), 5, 6)]}, "good <= produced"),
        ({"states": [], "counts": [CountIncrement(at(1), 5, -1)]}, "good <= produced"),
        ({"states": [], "counts": [CountIncrement(at(1), 5, 5, 0.0)]}, "must be > 0 s"),
        ({"states": [], "now": datetime(2025, 3, 3, 8)}, "has no UTC offset"),
    ],
)
def test_bad_input_raises_clear_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(OeeInputError, match=message):
        oee(**kwargs)


def test_no_states_leaves_all_planned_busy_time_unaccounted() -> None:
    result = oee(states=[])
    assert result.time.unaccounted_s == 28_800
    assert result.kpis.availability == 0


def test_last_state_after_end_of_pot_adds_nothing() -> None:
    result = oee(states=states((0, "running"), (600, "down")))
    assert (result.time.apt_s, result.time.adot_s, result.failures) == (28_800, 0, 0)


STATE_NAMES = ["running", "idle", "waiting", "setup", "down", "breakdown", "planned_stop"]
minutes = st.integers(min_value=-60, max_value=540)


@st.composite
def shifts(draw: st.DrawFn) -> dict[str, object]:
    planned = [
        (at(a), at(a + d)) for a, d in draw(st.lists(st.tuples(minutes, minutes), max_size=3))
    ]
    downtime = [
        PlannedDowntime(at(a), at(a + d))
        for a, d in draw(st.lists(st.tuples(minutes, st.integers(0, 90)), max_size=3))
    ]
    events = draw(st.lists(st.tuples(minutes, st.sampled_from(STATE_NAMES)), max_size=12))
    produced = draw(st.lists(st.tuples(minutes, st.integers(0, 500), st.floats(0, 1)), max_size=6))
    counts = [CountIncrement(at(m), p, round(p * f)) for m, p, f in produced]
    pri = draw(st.floats(min_value=0.1, max_value=120))
    return {
        "planned": [(s, e) if s <= e else (e, s) for s, e in planned],
        "planned_downtime": downtime,
        "states": states(*events),
        "counts": counts,
        "ideal_cycle_time_s": pri,
    }


@settings(deadline=None, max_examples=300)
@given(shifts())
def test_properties_of_time_elements_and_ratios(kwargs: dict[str, object]) -> None:
    result = compute_oee(**kwargs)  # type: ignore[arg-type]
    t, k = result.time, result.kpis
    assert t.pot_s == pytest.approx(t.pdot_s + t.pbt_s)
    parts = t.apt_s + t.aust_s + t.adet_s + t.adot_s + t.unaccounted_s
    assert parts == pytest.approx(t.pbt_s)
    assert min(t.apt_s, t.aust_s, t.adet_s, t.adot_s, t.unaccounted_s, t.pdot_s) >= 0
    if k.availability is not None:
        assert 0 <= k.availability <= 1
    if k.quality_ratio is not None:
        assert 0 <= k.quality_ratio <= 1
    if None not in (k.availability, k.effectiveness, k.quality_ratio):
        assert k.oee == pytest.approx(k.availability * k.effectiveness * k.quality_ratio)  # type: ignore[operator]
    assert (k.oee is None) == (t.pbt_s == 0)
    assert (result.failures > 0) == (t.adot_s > 0)
    assert set(result.undefined) == {n for n, v in vars(k).items() if v is None}
