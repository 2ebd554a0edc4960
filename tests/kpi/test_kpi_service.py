"""KPI use cases: periods, shift calendar, product master, KPIs from elements, site reports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from lighthouse_os.auth.models import Site
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.db.base import utcnow
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.errors import InvalidInput, NotFound
from lighthouse_os.kpi import api, service
from lighthouse_os.kpi.engine import NO_PRI, Elements, kpis
from lighthouse_os.kpi.iso22400 import APT_ZERO, PBT_ZERO, PQ_ZERO
from lighthouse_os.kpi.periods import PeriodError, current_period, periods
from lighthouse_os.kpi.queries import open_reader
from lighthouse_os.kpi.schemas import CalendarIn, ProductIn
from lighthouse_os.kpi.shift_calendar import HCMC_TWO_SHIFT, Shift, ShiftCalendar
from lighthouse_os.settings import Settings
from tests.support import World

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = datetime(2025, 3, 3, tzinfo=HCM)


# -- periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "start", "end", "labels"),
    [
        ("day", MONDAY, MONDAY + timedelta(days=3), ["2025-03-03", "2025-03-04", "2025-03-05"]),
        (
            "week",
            MONDAY + timedelta(days=2),
            MONDAY + timedelta(days=9),
            ["2025-03-03", "2025-03-10"],
        ),
        ("month", MONDAY, MONDAY + timedelta(days=40), ["2025-03", "2025-04"]),
        ("shift", MONDAY, MONDAY + timedelta(days=1), ["2025-03-03 A", "2025-03-03 B"]),
        ("shift", MONDAY - timedelta(days=1), MONDAY, []),  # Sunday: no shift
    ],
)
def test_periods_follow_the_local_calendar(
    kind: str, start: datetime, end: datetime, labels: list[str]
) -> None:
    found = periods(HCMC_TWO_SHIFT, kind, start, end, now=MONDAY + timedelta(days=60))
    assert [p.label for p in found] == labels


def test_periods_count_planned_time_only_until_now() -> None:
    now = MONDAY + timedelta(hours=12)  # shift A ran 6 h, with its 30-minute break
    (day,) = periods(HCMC_TWO_SHIFT, "day", MONDAY, MONDAY + timedelta(days=1), now)
    assert day.pot_s == 6 * 3600
    assert sum((e - s).total_seconds() for s, e in day.busy) == 5.5 * 3600


def test_periods_handle_a_night_shift_across_midnight() -> None:
    night = ShiftCalendar("Asia/Ho_Chi_Minh", frozenset({0}), (Shift("N", time(22), time(6)),))
    found = periods(night, "shift", MONDAY, MONDAY + timedelta(days=2), MONDAY + timedelta(days=9))
    assert [(p.label, p.pot_s) for p in found] == [("2025-03-03 N", 8 * 3600)]


@pytest.mark.parametrize(
    ("kind", "start", "end"),
    [
        ("year", MONDAY, MONDAY + timedelta(days=1)),
        ("day", MONDAY, MONDAY),
        ("day", MONDAY, MONDAY + timedelta(days=500)),
    ],
)
def test_periods_refuse_bad_requests(kind: str, start: datetime, end: datetime) -> None:
    with pytest.raises(PeriodError):
        periods(HCMC_TWO_SHIFT, kind, start, end, now=MONDAY)


@pytest.mark.parametrize(
    ("now", "kind", "label"),
    [
        (MONDAY + timedelta(hours=15), "shift", "2025-03-03 B"),
        (MONDAY + timedelta(hours=23), "shift", "2025-03-03 B"),  # after the last shift
        (MONDAY + timedelta(hours=3), "day", "2025-03-03"),
        (MONDAY + timedelta(days=20), "month", "2025-03"),
    ],
)
def test_current_period_is_the_whole_period_holding_now(
    now: datetime, kind: str, label: str
) -> None:
    period = current_period(HCMC_TWO_SHIFT, kind, now)
    assert period is not None
    assert period.label == label
    assert period.start <= now < period.end or kind == "shift"


# -- KPIs from elements -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elements", "undefined"),
    [
        (Elements(), {"availability": PBT_ZERO, "oee": PBT_ZERO, "quality_ratio": PQ_ZERO}),
        (
            Elements(pot_s=100, pbt_calendar_s=100),
            {"effectiveness": APT_ZERO, "quality_ratio": PQ_ZERO},
        ),
        (
            Elements(
                pot_s=100, pbt_calendar_s=100, apt_s=50, pq=5, gq=5, ideal_s=None, ideal_good_s=None
            ),
            {"effectiveness": NO_PRI, "oee": NO_PRI},
        ),
    ],
)
def test_kpis_are_undefined_with_a_reason_never_zero(
    elements: Elements, undefined: dict[str, str]
) -> None:
    values, reasons = kpis(elements)
    for name, reason in undefined.items():
        assert getattr(values, name) is None
        assert reasons[name] == reason


def test_kpis_follow_iso_22400_formulas() -> None:
    # 8 h planned, 30 min planned stop state, 6 h running; 500 units at 36 s, 490 good.
    e = Elements(
        pot_s=8 * 3600,
        pbt_calendar_s=8 * 3600,
        pdot_state_s=1800,
        apt_s=6 * 3600,
        adot_s=3600,
        adet_s=1800,
        pq=500,
        gq=490,
        failures=2,
        ideal_s=500 * 36.0,
        ideal_good_s=490 * 36.0,
    )
    values, reasons = kpis(e)
    assert reasons == {}
    assert values.availability == pytest.approx(6 / 7.5)
    assert values.effectiveness == pytest.approx(500 * 36 / (6 * 3600))
    assert values.quality_ratio == pytest.approx(0.98)
    assert values.oee == pytest.approx(490 * 36 / (7.5 * 3600))
    assert (values.mtbf_s, values.mttr_s) == (3 * 3600, 1800)


# -- calendar and product master ----------------------------------------------------------------


@pytest.fixture
def session(initialised_settings: Settings, world: World) -> Iterator[Session]:
    engine = make_engine(initialised_settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


@pytest.fixture
def site(session: Session) -> Site:
    return get_site(session, "a1")


NIGHT = {
    "timezone": "Asia/Ho_Chi_Minh",
    "workdays": [0, 1, 2],
    "shifts": [
        {
            "name": "D",
            "start": "07:00",
            "end": "19:00",
            "breaks": [{"start": "12:00", "end": "13:00"}],
        },
        {"name": "N", "start": "19:00", "end": "07:00"},
    ],
}


def test_site_calendar_is_the_hcmc_default_until_saved(session: Session, site: Site) -> None:
    calendar, is_default = service.site_calendar(session, site)
    assert is_default
    assert calendar.shifts == HCMC_TWO_SHIFT.shifts
    service.save_calendar(session, site, CalendarIn.model_validate(NIGHT))
    calendar, is_default = service.site_calendar(session, site)
    assert not is_default
    assert (
        service.calendar_input(calendar).model_dump()
        == CalendarIn.model_validate(NIGHT).model_dump()
    )


@pytest.mark.parametrize(
    "change",
    [
        {"timezone": "Mars/Olympus"},
        {"workdays": [7]},
        {"shifts": []},
        {"shifts": [{"name": "A", "start": "6:00", "end": "14:00"}]},
    ],
)
def test_save_calendar_refuses_bad_input(
    session: Session, site: Site, change: dict[str, object]
) -> None:
    with pytest.raises((InvalidInput, ValueError)):
        service.save_calendar(session, site, CalendarIn.model_validate({**NIGHT, **change}))


def test_save_product_keeps_one_active_product_per_machine(
    session: Session, site: Site, factory_site: Settings
) -> None:
    for code in ("BRK-A", "X-1"):
        service.save_product(
            session, site, ProductIn(machine="line-1/cnc-1", code=code, ideal_cycle_time_s=40.0)
        )
    products = {(path, p.code): p.active for p, path in service.list_products(session, site)}
    assert products[("line-1/cnc-1", "X-1")]
    assert not products[("line-1/cnc-1", "BRK-A")]
    service.delete_product(session, site, "line-1/cnc-1", "X-1")
    with pytest.raises(NotFound):
        service.delete_product(session, site, "line-1/cnc-1", "X-1")
    with pytest.raises(InvalidInput):
        service.save_product(
            session, site, ProductIn(machine="nope", code="P", ideal_cycle_time_s=1)
        )


# -- site reports over the store ----------------------------------------------------------------


def test_site_oee_reports_every_level_from_the_store(
    factory_site: Settings, session: Session
) -> None:
    site = get_site(session, "a1")
    reader = open_reader(factory_site.resolved_timeseries_url)
    now = utcnow()
    try:
        reports = {
            level: service.site_oee(
                session,
                reader,
                site,
                level=level,
                kind="day",
                start=now - timedelta(days=2),
                end=now,
                now=now,
            )
            for level in ("machine", "line", "site")
        }
        energy = service.site_energy(
            session,
            reader,
            site,
            level="site",
            kind="day",
            start=now - timedelta(days=2),
            end=now,
            now=now,
        )
        board = service.dashboard(session, reader, site, "day", now)
    finally:
        reader.close()
    machines = reports["machine"].rows
    assert {r.key for r in machines} == {"line-1/cnc-1", "line-1/press-2"}
    assert sum(r.quantities.gq for r in machines) == pytest.approx(
        sum(r.quantities.gq for r in reports["site"].rows)
    )
    assert sum(r.kwh for r in energy.rows) > 0
    assert energy.factor.year == 2023
    assert energy.factor.status == "official"
    assert board.total is not None
    assert board.factor is not None
    assert set(board.current_states) == {"line-1/cnc-1", "line-1/press-2"}


def test_site_oee_refuses_an_unknown_level(factory_site: Settings, session: Session) -> None:
    reader = open_reader(factory_site.resolved_timeseries_url)
    try:
        with pytest.raises(InvalidInput):
            service.site_oee(
                session,
                reader,
                get_site(session, "a1"),
                level="plant",
                kind="day",
                start=utcnow() - timedelta(days=1),
                end=utcnow(),
                now=utcnow(),
            )
    finally:
        reader.close()


def test_answers_carry_every_field_of_the_report_rows(
    factory_site: Settings, session: Session
) -> None:
    site = get_site(session, "a1")
    reader = open_reader(factory_site.resolved_timeseries_url)
    now = utcnow()
    common = {"kind": "day", "start": now - timedelta(days=2), "end": now, "now": now}
    try:
        oee = service.site_oee(session, reader, site, level="machine", **common)
        energy = service.site_energy(session, reader, site, level="line", **common)
        power = service.site_power_factor(
            session, reader, site, start=now - timedelta(days=1), end=now, now=now
        )
    finally:
        reader.close()
    assert oee.rows
    assert energy.rows
    assert power
    for row in oee.rows:
        answer = api.oee_row_dict(row)
        assert answer["time_elements"] == asdict(row.time)
        assert answer["quantities"] == asdict(row.quantities)
        assert answer["kpis"] == asdict(row.kpis)
    for energy_row in energy.rows:
        p = energy_row.period
        fields = {k: v for k, v in asdict(energy_row).items() if k != "period"}
        period = {"period_start": p.start, "period_end": p.end, "label": p.label}
        assert api.energy_row_dict(energy_row) == {**fields, **period}
    assert [api.pf_dict(r) for r in power] == [asdict(r) for r in power]
