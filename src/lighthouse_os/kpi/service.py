"""KPI use cases: shift calendar, product master, and ISO 22400 KPIs, energy and power factor
of a site's machines over the time-series store (see `engine.py`); one commit per change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.assets.models import AssetNode, Tag
from lighthouse_os.auth.models import Site
from lighthouse_os.errors import InvalidInput, NotFound
from lighthouse_os.kpi import factors
from lighthouse_os.kpi.emissions import EmissionsInputError, GridFactor, default_grid_factor
from lighthouse_os.kpi.engine import (
    LEVELS,
    SIGNALS,
    Elements,
    EnergyRow,
    Machine,
    OeeRow,
    Plant,
    PowerFactorRow,
    current_states,
    energy_row,
    energy_rows,
    good_units,
    group_rows,
    measure,
    pareto,
    period_energy,
    power_factor_rows,
)
from lighthouse_os.kpi.models import ProductRecord, ShiftCalendarRecord
from lighthouse_os.kpi.periods import Period, PeriodError, current_period, periods
from lighthouse_os.kpi.queries import KpiReader, run_concurrently
from lighthouse_os.kpi.schemas import CalendarIn, ProductIn
from lighthouse_os.kpi.shift_calendar import HCMC_TWO_SHIFT, Shift, ShiftCalendar
from lighthouse_os.text import N_, Text

MAX_PF_RANGE = timedelta(days=93)


# -- shift calendar -----------------------------------------------------------------------------


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def calendar_from_input(data: CalendarIn) -> ShiftCalendar:
    """The core calendar of validated input."""
    try:
        ZoneInfo(data.timezone)
    except (KeyError, ValueError) as err:
        problem = Text(N_("unknown time zone {zone!r}"), zone=data.timezone)
        raise InvalidInput(problem, fields={"timezone": problem}) from err
    shifts = tuple(
        Shift(
            s.name,
            _hhmm(s.start),
            _hhmm(s.end),
            tuple((_hhmm(b.start), _hhmm(b.end), b.reason) for b in s.breaks),
        )
        for s in data.shifts
    )
    return ShiftCalendar(data.timezone, frozenset(data.workdays), shifts)


def calendar_input(calendar: ShiftCalendar) -> CalendarIn:
    """The editable form of a core calendar."""
    return CalendarIn.model_validate(
        {
            "timezone": calendar.tz,
            "workdays": sorted(calendar.workdays),
            "shifts": [
                {
                    "name": s.name,
                    "start": s.start.strftime("%H:%M"),
                    "end": s.end.strftime("%H:%M"),
                    "breaks": [
                        {
                            "start": b[0].strftime("%H:%M"),
                            "end": b[1].strftime("%H:%M"),
                            "reason": b[2],
                        }
                        for b in s.breaks
                    ],
                }
                for s in calendar.shifts
            ],
        }
    )


def site_calendar(session: Session, site: Site) -> tuple[ShiftCalendar, bool]:
    """The site's calendar and whether it is the HCMC two-shift default (in the site's zone)."""
    record = session.scalar(
        select(ShiftCalendarRecord).where(ShiftCalendarRecord.site_id == site.id)
    )
    if record is None:
        return ShiftCalendar(site.timezone, HCMC_TWO_SHIFT.workdays, HCMC_TWO_SHIFT.shifts), True
    data = CalendarIn(timezone=record.timezone, workdays=record.workdays, shifts=record.shifts)
    return calendar_from_input(data), False


def save_calendar(session: Session, site: Site, data: CalendarIn) -> ShiftCalendar:
    """Store the site's calendar (replacing the previous one)."""
    calendar = calendar_from_input(data)
    record = session.scalar(
        select(ShiftCalendarRecord).where(ShiftCalendarRecord.site_id == site.id)
    ) or ShiftCalendarRecord(site_id=site.id)
    record.timezone = data.timezone
    record.workdays = sorted(set(data.workdays))
    record.shifts = [s.model_dump() for s in data.shifts]
    session.add(record)
    session.commit()
    return calendar


# -- product master -----------------------------------------------------------------------------


def list_products(session: Session, site: Site) -> list[tuple[ProductRecord, str]]:
    """The site's products with their machine paths, by machine and code."""
    rows = session.execute(
        select(ProductRecord, AssetNode.path)
        .join(AssetNode, AssetNode.id == ProductRecord.node_id)
        .where(ProductRecord.site_id == site.id)
        .order_by(AssetNode.path, ProductRecord.code)
    )
    return [(product, str(path)) for product, path in rows]


def save_product(session: Session, site: Site, data: ProductIn) -> ProductRecord:
    """Create or update the product `code` of a machine; an active product deactivates the
    machine's others, so each machine has at most one PRI in force."""
    node = session.scalar(
        select(AssetNode).where(AssetNode.site_id == site.id, AssetNode.path == data.machine)
    )
    if node is None or node.level != "machine":
        problem = Text(N_("no machine {path!r} at this site"), path=data.machine)
        raise InvalidInput(problem, fields={"machine": problem})
    product = session.scalar(
        select(ProductRecord).where(
            ProductRecord.node_id == node.id, ProductRecord.code == data.code
        )
    ) or ProductRecord(site_id=site.id, node_id=node.id, code=data.code)
    product.name, product.ideal_cycle_time_s = data.name, data.ideal_cycle_time_s
    product.active = data.active
    if data.active:
        for other in session.scalars(select(ProductRecord).where(ProductRecord.node_id == node.id)):
            if other is not product:
                other.active = False
    session.add(product)
    session.commit()
    return product


def delete_product(session: Session, site: Site, machine: str, code: str) -> None:
    """Remove the product `code` of a machine of this site."""
    product = session.scalar(
        select(ProductRecord)
        .join(AssetNode, AssetNode.id == ProductRecord.node_id)
        .where(
            ProductRecord.site_id == site.id, AssetNode.path == machine, ProductRecord.code == code
        )
    )
    if product is None:
        raise NotFound(f"no product {code!r} on machine {machine!r}")
    session.delete(product)
    session.commit()


# -- the plant: machines, their tags and PRI ----------------------------------------------------


def _display(node: AssetNode) -> str:
    return node.name_en or node.name_vi or node.key


def site_plant(session: Session, site: Site) -> Plant:
    """The site's machines with their conventional tags and active product's PRI."""
    nodes = list(session.scalars(select(AssetNode).where(AssetNode.site_id == site.id)))
    lines = {n.path: n for n in nodes if n.level == "line"}
    tags = list(session.scalars(select(Tag).where(Tag.site_id == site.id)))
    by_path = {t.path: t for t in tags}
    active = {
        p.node_id: p
        for p in session.scalars(
            select(ProductRecord).where(ProductRecord.site_id == site.id, ProductRecord.active)
        )
    }
    machines = []
    for node in sorted((n for n in nodes if n.level == "machine"), key=lambda n: n.path):
        line = _line_of(node.path, lines)
        found = {s: by_path[f"{node.path}/{s}"] for s in SIGNALS if f"{node.path}/{s}" in by_path}
        product = active.get(node.id)
        machines.append(
            Machine(
                node.path,
                _display(node),
                line.path if line else "",
                _display(line) if line else "",
                {s: t.id for s, t in found.items()},
                tuple(found["state"].states or ()) if "state" in found else (),
                product.ideal_cycle_time_s if product else None,
                product.code if product else None,
            )
        )
    return Plant(site.code, site.name, tuple(machines))


def _line_of(path: str, lines: dict[str, AssetNode]) -> AssetNode | None:
    parts = path.split("/")
    for cut in range(len(parts) - 1, 0, -1):
        found = lines.get("/".join(parts[:cut]))
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class Measured:
    """A site's calendar, machines and periods, and every machine's elements in each period."""

    calendar: ShiftCalendar
    calendar_default: bool
    plant: Plant
    periods: tuple[Period, ...]
    elements: dict[tuple[str, datetime], Elements]


def _measured(
    session: Session,
    reader: KpiReader,
    site: Site,
    calendar: tuple[ShiftCalendar, bool],
    period_list: list[Period] | None,
    now: datetime,
) -> Measured:
    plant = site_plant(session, site)
    chosen = period_list or []
    return Measured(*calendar, plant, tuple(chosen), measure(reader, plant, chosen, now))


def _periods(
    calendar: ShiftCalendar, kind: str, start: datetime, end: datetime, now: datetime
) -> list[Period]:
    try:
        return periods(calendar, kind, start, end, now)
    except PeriodError as err:
        raise InvalidInput(str(err), fields={"period": "invalid"}) from err


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}", fields={"level": level})


@dataclass(frozen=True)
class OeeReport:
    """OEE rows of a site at one level over a range of periods."""

    level: str
    kind: str
    measured: Measured
    rows: tuple[OeeRow, ...]


def site_oee(
    session: Session,
    reader: KpiReader,
    site: Site,
    *,
    level: str,
    kind: str,
    start: datetime,
    end: datetime,
    now: datetime,
) -> OeeReport:
    """ISO 22400-2 KPIs of the site's machines, lines or the whole site for each period."""
    _check_level(level)
    calendar = site_calendar(session, site)
    period_list = _periods(calendar[0], kind, start, end, now)
    found = _measured(session, reader, site, calendar, period_list, now)
    rows = group_rows(found.plant, found.periods, found.elements, level)
    return OeeReport(level, kind, found, tuple(rows))


@dataclass(frozen=True)
class EnergyReport:
    """Energy rows and the grid emission factor used for CO2 (GHG Protocol Scope 2, location)."""

    level: str
    kind: str
    factor: GridFactor
    rows: tuple[EnergyRow, ...]


def site_energy(
    session: Session,
    reader: KpiReader,
    site: Site,
    *,
    level: str,
    kind: str,
    start: datetime,
    end: datetime,
    now: datetime,
    factor_year: int | None = None,
) -> EnergyReport:
    """kWh, kvarh, PF, kWh and kgCO2 per good unit per machine, line or site and period."""
    _check_level(level)
    calendar, _default = site_calendar(session, site)
    period_list = _periods(calendar, kind, start, end, now)
    plant = site_plant(session, site)
    # GQ from the good counters alone (no time model), beside the energy registers.
    good, energy = run_concurrently(
        reader,
        lambda: good_units(reader, plant, period_list),
        lambda: period_energy(reader, plant, period_list, now),
    )
    try:
        factor, rows = energy_rows(plant, period_list, energy, good, level, factor_year)
    except EmissionsInputError as err:
        raise InvalidInput(str(err), fields={"year": "unknown"}) from err
    return EnergyReport(level, kind, factor, rows)


def site_power_factor(
    session: Session,
    reader: KpiReader,
    site: Site,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
) -> tuple[PowerFactorRow, ...]:
    """Per machine: hourly intervals' PF = kWh/√(kWh²+kvarh²) and how many fall below 0.9."""
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise InvalidInput("need from < to", fields={"from": "range"})
    if end - start > MAX_PF_RANGE:
        raise InvalidInput("at most 93 days of hourly intervals", fields={"from": "range"})
    return power_factor_rows(reader, site_plant(session, site), start, min(end, now))


# -- live dashboard -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    """Everything the live factory page shows for the current shift, day or month."""

    site: Site
    kind: str
    period: Period | None
    calendar_default: bool
    machines: tuple[OeeRow, ...]
    lines: tuple[OeeRow, ...]
    total: OeeRow | None
    pareto: tuple[tuple[str, float], ...]
    energy: EnergyRow | None
    factor: GridFactor | None
    power: tuple[PowerFactorRow, ...]
    current_states: dict[str, str]
    computed_at: datetime


def dashboard(
    session: Session, reader: KpiReader, site: Site, kind: str, now: datetime
) -> Dashboard:
    """The live numbers of a site for the current shift, day or month."""
    calendar, calendar_default = site_calendar(session, site)
    try:
        found = current_period(calendar, kind, now)
    except PeriodError as err:
        raise InvalidInput(str(err), fields={"period": "invalid"}) from err
    if found is None:
        return Dashboard(
            site, kind, None, calendar_default, (), (), None, (), None, None, (), {}, now
        )
    period, plant = found, site_plant(session, site)
    # Independent reads side by side: the time model (states and counts), the hourly energy
    # (which gives both the PF intervals and the period's energy) and the last states.
    elements, power, states = run_concurrently(
        reader,
        lambda: measure(reader, plant, [period], now),
        lambda: power_factor_rows(reader, plant, period.start, min(period.end, now)),
        lambda: current_states(reader, plant),
    )
    site_rows = group_rows(plant, [period], elements, "site")
    factor = default_grid_factor(factors.grid_factors())
    kwh, kvarh = sum(p.kwh for p in power), sum(p.kvarh for p in power)
    gq = site_rows[0].quantities.gq if site_rows else 0.0
    energy = energy_row("site", site.code, site.name, period, kwh, kvarh, gq, factor.t_co2_per_mwh)
    return Dashboard(
        site=site,
        kind=kind,
        period=period,
        calendar_default=calendar_default,
        machines=tuple(group_rows(plant, [period], elements, "machine")),
        lines=tuple(group_rows(plant, [period], elements, "line")),
        total=site_rows[0] if site_rows else None,
        pareto=pareto(site_rows[0].elements) if site_rows else (),
        energy=energy,
        factor=factor,
        power=power,
        current_states=states,
        computed_at=now,
    )
