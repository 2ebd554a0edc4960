"""Pages of the KPI engine: the live factory dashboard and the shift calendar / product master."""

from __future__ import annotations

import threading
import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from lighthouse_os.auth.deps import PrincipalDep
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.policy import Action, Principal
from lighthouse_os.auth.service import authorize_site, visible_sites
from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import Forbidden, InvalidInput
from lighthouse_os.kpi import service
from lighthouse_os.kpi.api import ReaderDep
from lighthouse_os.kpi.queries import KpiReader
from lighthouse_os.kpi.schemas import CalendarIn, ProductIn
from lighthouse_os.kpi.service import Dashboard
from lighthouse_os.text import N_
from lighthouse_os.web.deps import SessionDep
from lighthouse_os.web.forms import form_problems
from lighthouse_os.web.templating import render

router = APIRouter(include_in_schema=False)

BOARD_TTL_S = 0.5  # several viewers polling every second share one computation
BOARD_KINDS = ("shift", "day", "month")
SHIFT_ROWS = 4  # shift rows shown in the calendar form (empty rows are ignored)
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
_board_lock = threading.Lock()


def _kind(period: str) -> str:
    return period if period in BOARD_KINDS else "shift"


def live_board(
    request: Request, session: Session, reader: KpiReader, site: Site, kind: str
) -> Dashboard:
    """The site's dashboard, recomputed at most every `BOARD_TTL_S` (staleness stays < 2 s)."""
    cache: dict[tuple[int, str], tuple[float, Dashboard]] = request.app.state.__dict__.setdefault(
        "kpi_boards", {}
    )
    key = (site.id, kind)
    with _board_lock:
        hit = cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < BOARD_TTL_S:
        return hit[1]
    board = service.dashboard(session, reader, site, kind, utcnow())
    with _board_lock:
        cache[key] = (time.monotonic(), board)
    return board


def _can_write(session: Session, principal: Principal, site: Site) -> bool:
    try:
        authorize_site(session, principal, site.id, Action.SITE_WRITE)
    except Forbidden:
        return False
    return True


@router.get("/kpi", response_class=HTMLResponse)
def kpi_index(request: Request, principal: PrincipalDep, session: SessionDep) -> HTMLResponse:
    """The sites whose factory dashboard the caller may open."""
    sites = visible_sites(session, principal)
    return render(request, "kpi/index.html", {"sites": sites})


@router.get("/sites/{site_id}/kpi", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    site_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    reader: ReaderDep,
    period: str = "shift",
) -> HTMLResponse:
    site = authorize_site(session, principal, site_id, Action.SITE_READ)
    board = live_board(request, session, reader, site, _kind(period))
    context = {"site": site, "board": board, "kind": _kind(period), "kinds": BOARD_KINDS}
    return render(request, "kpi/dashboard.html", context)


@router.get("/sites/{site_id}/kpi/live", response_class=HTMLResponse)
def dashboard_live(
    request: Request,
    site_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    reader: ReaderDep,
    period: str = "shift",
) -> HTMLResponse:
    site = authorize_site(session, principal, site_id, Action.SITE_READ)
    board = live_board(request, session, reader, site, _kind(period))
    return live_partial(request, site, board, _kind(period))


def live_partial(request: Request, site: Site, board: Dashboard, kind: str) -> HTMLResponse:
    """The partial of `board`, rendered once per board and locale for every viewer who polls
    it: rendering formats a few hundred numbers, costlier than a cached board."""
    cache: dict[tuple[int, str, str], tuple[Dashboard, bytes]] = (
        request.app.state.__dict__.setdefault("kpi_live_html", {})
    )
    key = (site.id, kind, request.state.locale)
    with _board_lock:
        hit = cache.get(key)
    if hit is not None and hit[0] is board:
        return HTMLResponse(hit[1])
    response = render(request, "kpi/_live.html", {"site": site, "board": board, "kind": kind})
    with _board_lock:
        cache[key] = (board, bytes(response.body))
    return response


def _settings_context(
    session: Session, principal: Principal, site: Site, errors: dict[str, str] | None = None
) -> dict[str, object]:
    calendar, is_default = service.site_calendar(session, site)
    plant = service.site_plant(session, site)
    return {
        "site": site,
        "calendar": service.calendar_input(calendar),
        "calendar_default": is_default,
        "shift_rows": SHIFT_ROWS,
        "weekdays": WEEKDAYS,
        "products": service.list_products(session, site),
        "machines": [m.path for m in plant.machines],
        "can_write": _can_write(session, principal, site),
        "errors": errors or {},
    }


@router.get("/sites/{site_id}/kpi/settings", response_class=HTMLResponse)
def settings_page(
    request: Request, site_id: str, principal: PrincipalDep, session: SessionDep
) -> HTMLResponse:
    site = authorize_site(session, principal, site_id, Action.SITE_READ)
    return render(request, "kpi/settings.html", _settings_context(session, principal, site))


def calendar_from_form(form: dict[str, list[str]]) -> CalendarIn:
    """The calendar of the settings form: timezone, `workday` boxes and shift rows `i`."""
    shifts = []
    for i in range(SHIFT_ROWS):
        name = _one(form, f"name_{i}")
        if not name:
            continue
        breaks = []
        if _one(form, f"break_start_{i}"):
            breaks.append(
                {"start": _one(form, f"break_start_{i}"), "end": _one(form, f"break_end_{i}")}
            )
        shifts.append(
            {
                "name": name,
                "start": _one(form, f"start_{i}"),
                "end": _one(form, f"end_{i}"),
                "breaks": breaks,
            }
        )
    workdays = [int(d) for d in form.get("workday", []) if d.isdigit()]
    return CalendarIn.model_validate(
        {"timezone": _one(form, "timezone"), "workdays": workdays, "shifts": shifts}
    )


def _one(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def _errors(err: ValidationError | InvalidInput) -> dict[str, str]:
    if isinstance(err, InvalidInput):
        return {**err.fields, "form": err.message}
    return form_problems(err)


@router.post("/sites/{site_id}/kpi/calendar", response_model=None)
async def save_calendar(
    request: Request, site_id: str, principal: PrincipalDep, session: SessionDep
) -> Response:
    site = authorize_site(session, principal, site_id, Action.SITE_WRITE)
    form = await request.form()
    values = {key: [str(v) for v in form.getlist(key)] for key in form}
    try:
        service.save_calendar(session, site, calendar_from_form(values))
    except (ValidationError, InvalidInput) as err:
        context = _settings_context(session, principal, site, _errors(err))
        return render(request, "kpi/settings.html", context, status_code=422)
    return RedirectResponse(f"/sites/{site.id}/kpi/settings", status_code=303)


@router.post("/sites/{site_id}/kpi/products", response_model=None)
def save_product(
    request: Request,
    site_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    machine: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    ideal_cycle_time_s: Annotated[str, Form()] = "",
    active: Annotated[bool, Form()] = False,
) -> Response:
    site = authorize_site(session, principal, site_id, Action.SITE_WRITE)
    data = {"machine": machine, "code": code, "name": name, "active": active}
    try:
        product = ProductIn.model_validate(
            {**data, "ideal_cycle_time_s": ideal_cycle_time_s or None}
        )
        service.save_product(session, site, product)
    except (ValidationError, InvalidInput) as err:
        context = _settings_context(session, principal, site, _errors(err))
        return render(request, "kpi/settings.html", context, status_code=422)
    return RedirectResponse(f"/sites/{site.id}/kpi/settings", status_code=303)


@router.post("/sites/{site_id}/kpi/products/delete")
def delete_product(
    site_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    machine: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
) -> RedirectResponse:
    site = authorize_site(session, principal, site_id, Action.SITE_WRITE)
    service.delete_product(session, site, machine, code)
    return RedirectResponse(f"/sites/{site.id}/kpi/settings", status_code=303)
