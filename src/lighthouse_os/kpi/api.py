"""REST API of the KPI engine: OEE, energy, emissions and power factor of a site; calendar and
product master."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request

from lighthouse_os.auth.deps import PrincipalDep
from lighthouse_os.auth.policy import Action
from lighthouse_os.auth.service import authorize_site
from lighthouse_os.db.base import utcnow
from lighthouse_os.kpi import service
from lighthouse_os.kpi.engine import EnergyRow, OeeRow, PowerFactorRow
from lighthouse_os.kpi.periods import Period
from lighthouse_os.kpi.queries import KpiReader, open_reader
from lighthouse_os.kpi.schemas import CalendarIn, ProductIn
from lighthouse_os.kpi.service import EnergyReport, OeeReport
from lighthouse_os.telemetry.service import local_instant
from lighthouse_os.web.deps import SessionDep
from lighthouse_os.web.responses import JSONBytes

_reader_lock = threading.Lock()
DEFAULT_SPAN = {
    "shift": timedelta(days=2),
    "day": timedelta(days=14),
    "week": timedelta(weeks=8),
    "month": timedelta(days=366),
}
DEFINITIONS = {
    "availability": "APT / PBT (ISO 22400-2)",
    "effectiveness": "PRI × PQ / APT (ISO 22400-2 effectiveness)",
    "quality_ratio": "GQ / PQ (ISO 22400-2)",
    "oee": "availability × effectiveness × quality ratio (ISO 22400-2)",
    "pbt": "POT − PDOT: shift time minus planned breaks and planned-stop states",
    "kwh_per_unit": "kWh / GQ (ISO 50006 energy performance indicator, ratio form)",
    "t_co2": "kWh × grid emission factor / 1000 (GHG Protocol Scope 2, location-based)",
    "power_factor": "kWh / √(kWh² + kvarh²); below 0.9 reactive power is charged (Vietnam)",
}


@asynccontextmanager
async def _close_reader(app: FastAPI) -> AsyncIterator[None]:
    yield
    reader: KpiReader | None = getattr(app.state, "kpi_reader", None)
    if reader is not None:
        reader.close()


router = APIRouter(prefix="/api/v1", tags=["kpi"], lifespan=_close_reader)


def reader_for(app: FastAPI) -> KpiReader:
    """The app's KPI reader, opened on first use after the store (which creates the tables)."""
    reader: KpiReader | None = getattr(app.state, "kpi_reader", None)
    if reader is None:
        from lighthouse_os.telemetry.api import sink_for

        sink_for(app)
        with _reader_lock:
            reader = getattr(app.state, "kpi_reader", None)
            if reader is None:
                reader = open_reader(app.state.settings.resolved_timeseries_url)
                app.state.kpi_reader = reader
    return reader


def _reader(request: Request) -> KpiReader:
    return reader_for(request.app)


ReaderDep = Annotated[KpiReader, Depends(_reader)]
FromQuery = Annotated[str | None, Query(alias="from", description="Date or ISO 8601; local")]
ToQuery = Annotated[str | None, Query(alias="to", description="Date or ISO 8601; default now")]


def time_range(kind: str, start: str | None, end: str | None, tz: str) -> tuple[datetime, datetime]:
    """[from, to) of a query; `to` defaults to now and `from` to a span that suits `kind`."""
    to = local_instant(end, tz) if end else utcnow()
    since = local_instant(start, tz) if start else to - DEFAULT_SPAN.get(kind, timedelta(days=7))
    return since, to


@router.get("/sites/{site_id}/kpi/oee")
def oee(
    site_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    reader: ReaderDep,
    level: str = "machine",
    period: str = "day",
    start: FromQuery = None,
    end: ToQuery = None,
) -> JSONBytes:
    """ISO 22400-2 OEE with A, P (effectiveness), Q and the time elements, per period."""
    site = authorize_site(session, principal, site_id, Action.SITE_READ)
    since, to = time_range(period, start, end, site.timezone)
    report = service.site_oee(
        session, reader, site, level=level, kind=period, start=since, end=to, now=utcnow()
    )
    return JSONBytes(oee_answer(site.code, report))


@router.get("/sites/{site_id}/kpi/energy")
def energy(
    site_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    reader: ReaderDep,
    level: str = "machine",
    period: str = "day",
    start: FromQuery = None,
    end: ToQuery = None,
    year: int | None = None,
) -> JSONBytes:
    """kWh, kvarh, PF, kWh and kgCO2 per good unit per machine, line or site and period."""
    site = authorize_site(session, principal, site_id, Action.SITE_READ)
    since, to = time_range(period, start, end, site.timezone)
    report = service.site_energy(
        session,
        reader,
        site,
        level=level,
        kind=period,
        start=since,
        end=to,
        now=utcnow(),
        factor_year=year,
    )
    return JSONBytes(energy_answer(site.code, report))


@router.get("/sites/{site_id}/kpi/emissions")
def emissions(
    site_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    reader: ReaderDep,
    period: str = "month",
    start: FromQuery = None,
    end: ToQuery = None,
    year: int | None = None,
) -> JSONBytes:
    """Scope 2 (location-based) tCO2 of the site per period, with the grid factor used."""
    site = authorize_site(session, principal, site_id, Action.SITE_READ)
    since, to = time_range(period, start, end, site.timezone)
    report = service.site_energy(
        session,
        reader,
        site,
        level="site",
        kind=period,
        start=since,
        end=to,
        now=utcnow(),
        factor_year=year,
    )
    return JSONBytes(energy_answer(site.code, report))


@router.get("/sites/{site_id}/kpi/power-factor")
def power_factor(
    site_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    reader: ReaderDep,
    start: FromQuery = None,
    end: ToQuery = None,
) -> JSONBytes:
    """Hourly power factor of each machine: intervals below 0.9 and the period's PF."""
    site = authorize_site(session, principal, site_id, Action.SITE_READ)
    since, to = time_range("day", start, end, site.timezone)
    rows = service.site_power_factor(session, reader, site, start=since, end=to, now=utcnow())
    return JSONBytes({"site": site.code, "threshold": 0.9, "rows": [pf_dict(r) for r in rows]})


@router.get("/sites/{site_id}/kpi/calendar")
def get_calendar(site_id: str, principal: PrincipalDep, session: SessionDep) -> JSONBytes:
    """The shift calendar in force (the HCMC two-shift default until the site saves one)."""
    site = authorize_site(session, principal, site_id, Action.SITE_READ)
    calendar, is_default = service.site_calendar(session, site)
    body = service.calendar_input(calendar).model_dump()
    return JSONBytes({**body, "is_default": is_default})


@router.put("/sites/{site_id}/kpi/calendar")
def put_calendar(
    site_id: str, body: CalendarIn, principal: PrincipalDep, session: SessionDep
) -> JSONBytes:
    """Replace the site's shift calendar."""
    site = authorize_site(session, principal, site_id, Action.SITE_WRITE)
    calendar = service.save_calendar(session, site, body)
    return JSONBytes({**service.calendar_input(calendar).model_dump(), "is_default": False})


@router.get("/sites/{site_id}/kpi/products")
def get_products(site_id: str, principal: PrincipalDep, session: SessionDep) -> JSONBytes:
    """The product master: ideal cycle time per product per machine."""
    site = authorize_site(session, principal, site_id, Action.SITE_READ)
    rows = service.list_products(session, site)
    return JSONBytes({"products": [product_dict(p, path) for p, path in rows]})


@router.post("/sites/{site_id}/kpi/products")
def post_product(
    site_id: str, body: ProductIn, principal: PrincipalDep, session: SessionDep
) -> JSONBytes:
    """Create or update a product of a machine (an active one replaces the machine's PRI)."""
    site = authorize_site(session, principal, site_id, Action.SITE_WRITE)
    product = service.save_product(session, site, body)
    return JSONBytes(product_dict(product, body.machine))


@router.delete("/sites/{site_id}/kpi/products")
def delete_product(
    site_id: str, principal: PrincipalDep, session: SessionDep, machine: str = "", code: str = ""
) -> JSONBytes:
    """Remove the product `code` of `machine` (query parameters)."""
    site = authorize_site(session, principal, site_id, Action.SITE_WRITE)
    service.delete_product(session, site, machine, code)
    return JSONBytes({"deleted": {"machine": machine, "code": code}})


# -- JSON shapes ----------------------------------------------------------------------------------


def _shallow(value: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, values as they are: `dataclasses.asdict` deep-copies
    every value, a tenth of a 14-day OEE answer's time for rows of plain numbers."""
    return {f.name: getattr(value, f.name) for f in fields(value)}


def _period(p: Period) -> dict[str, Any]:
    return {"period_start": p.start, "period_end": p.end, "label": p.label}


def oee_row_dict(row: OeeRow) -> dict[str, Any]:
    """One OEE row with its time elements, quantities and reasons for undefined KPIs."""
    return {
        "level": row.level,
        "key": row.key,
        "name": row.name,
        **_period(row.period),
        "time_elements": _shallow(row.time),
        "quantities": _shallow(row.quantities),
        "failures": row.elements.failures,
        "ideal_time_s": row.elements.ideal_s,
        "kpis": _shallow(row.kpis),
        "undefined": row.undefined,
    }


def oee_answer(site: str, report: OeeReport) -> dict[str, Any]:
    """The OEE answer (see `schemas.OeeAnswer`)."""
    return {
        "site": site,
        "level": report.level,
        "period": report.kind,
        "timezone": report.measured.calendar.tz,
        "calendar_default": report.measured.calendar_default,
        "rows": [oee_row_dict(r) for r in report.rows],
        "definitions": DEFINITIONS,
    }


def energy_row_dict(row: EnergyRow) -> dict[str, Any]:
    """One energy row."""
    values = {k: v for k, v in _shallow(row).items() if k != "period"}
    return {**values, **_period(row.period)}


def energy_answer(site: str, report: EnergyReport) -> dict[str, Any]:
    """The energy and emissions answer, naming the grid factor used."""
    factor = report.factor
    return {
        "site": site,
        "level": report.level,
        "period": report.kind,
        "factor": {
            "year": factor.year,
            "t_co2_per_mwh": factor.t_co2_per_mwh,
            "status": factor.status,
            "source": factor.source,
        },
        "rows": [energy_row_dict(r) for r in report.rows],
        "definitions": DEFINITIONS,
    }


def pf_dict(row: PowerFactorRow) -> dict[str, Any]:
    """One machine's power-factor summary."""
    return _shallow(row)


def product_dict(product: Any, machine: str) -> dict[str, Any]:
    """A product of the product master."""
    return {
        "id": product.id,
        "machine": machine,
        "code": product.code,
        "name": product.name,
        "ideal_cycle_time_s": product.ideal_cycle_time_s,
        "active": product.active,
    }
