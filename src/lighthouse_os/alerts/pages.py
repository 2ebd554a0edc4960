"""HTML pages of alerts: the list per site, the detail with HTMX actions, rules and deliveries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from lighthouse_os.alerts import rulebook, service
from lighthouse_os.alerts.models import Alert
from lighthouse_os.auth.deps import PrincipalDep
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.policy import Principal
from lighthouse_os.auth.service import authorize_site, visible_sites
from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import Conflict, Forbidden, InvalidInput
from lighthouse_os.text import N_
from lighthouse_os.web import i18n
from lighthouse_os.web.deps import SessionDep
from lighthouse_os.web.templating import render

router = APIRouter(include_in_schema=False)
FormText = Annotated[str, Form()]
STATUS_FILTERS = (
    ("active", N_("Active")),
    ("open", N_("Unacknowledged")),
    ("acknowledged", N_("Acknowledged")),
    ("resolved", N_("Resolved")),
    ("", N_("All")),
)
Action = Callable[[Session, Site, Alert, Principal], object]


def _can_write(session: Session, principal: Principal, site: Site) -> bool:
    try:
        authorize_site(session, principal, site.id, "site.write")
    except Forbidden:
        return False
    return True


@router.get("/alerts", response_class=HTMLResponse)
def sites(request: Request, principal: PrincipalDep, session: SessionDep) -> HTMLResponse:
    """The sites the caller may see, with how many alerts are active at each."""
    found = visible_sites(session, principal)
    counts = {s.id: len(service.list_alerts(session, s, status="active")) for s in found}
    return render(request, "alerts/index.html", {"sites": found, "counts": counts})


@router.get("/sites/{site_id}/alerts", response_class=HTMLResponse)
def alert_list(
    request: Request,
    site_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    status: str = "active",
) -> HTMLResponse:
    """The site's alerts, active ones by default."""
    site = authorize_site(session, principal, site_id, "site.read")
    i18n.set_locale(request.state.locale)  # environmental alerts' titles are rendered in it
    alerts = [
        service.alert_public(session, a)
        for a in service.list_alerts(session, site, status=status or None)
    ]
    context = {"site": site, "alerts": alerts, "status": status, "filters": STATUS_FILTERS}
    return render(request, "alerts/list.html", context)


@router.get("/sites/{site_id}/alerts/rules", response_class=HTMLResponse)
def rules_page(
    request: Request, site_id: str, principal: PrincipalDep, session: SessionDep
) -> HTMLResponse:
    """The site's rules, detectors, channels and the newest deliveries (read-only)."""
    site = authorize_site(session, principal, site_id, "site.read")
    context = {
        "site": site,
        "rules": [rulebook.rule_public(session, r) for r in rulebook.list_rules(session, site)],
        "detectors": [
            rulebook.detector_public(session, d) for d in rulebook.list_detectors(session, site)
        ],
        "channels": service.list_channels(session, site),
        "deliveries": service.list_deliveries(session, site, limit=50),
    }
    return render(request, "alerts/rules.html", context)


def _detail_context(
    session: Session, principal: Principal, site: Site, alert: Alert, errors: dict[str, str]
) -> dict[str, Any]:
    can_write = _can_write(session, principal, site)
    return {
        "site": site,
        "alert": service.alert_detail(session, alert),
        "can_write": can_write,
        "users": service.assignable_users(session, site) if can_write else [],
        "errors": errors,
    }


@router.get("/sites/{site_id}/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(
    request: Request, site_id: str, alert_id: int, principal: PrincipalDep, session: SessionDep
) -> HTMLResponse:
    """One alert: what raised it, its history and comments, and the actions."""
    site = authorize_site(session, principal, site_id, "site.read")
    alert = service.get_alert(session, site, alert_id)
    i18n.set_locale(request.state.locale)
    return render(
        request, "alerts/detail.html", _detail_context(session, principal, site, alert, {})
    )


def _act(
    request: Request,
    session: Session,
    principal: Principal,
    site_id: str,
    alert_id: int,
    action: Action,
) -> Response:
    """Run an action; HTMX gets the refreshed card, a plain form a redirect to the page.

    A refused action (bad input, or a status that forbids it) re-renders the card with the
    reason beside the field.
    """
    site = authorize_site(session, principal, site_id, "site.write")
    alert = service.get_alert(session, site, alert_id)
    errors: dict[str, str] = {}
    try:
        action(session, site, alert, principal)
    except InvalidInput as err:
        session.rollback()
        errors = dict.fromkeys(err.fields, err.message) or {"form": err.message}
    except Conflict as err:
        session.rollback()
        errors = {"form": err.message}
    if not errors and "hx-request" not in request.headers:
        return RedirectResponse(f"/sites/{site.code}/alerts/{alert.id}", status_code=303)
    i18n.set_locale(request.state.locale)
    context = _detail_context(session, principal, site, alert, errors)
    status = 422 if errors else 200
    return render(request, "alerts/_alert.html", context, status_code=status)


@router.post("/sites/{site_id}/alerts/{alert_id}/acknowledge", response_model=None)
def acknowledge(
    request: Request, site_id: str, alert_id: int, principal: PrincipalDep, session: SessionDep
) -> Response:
    def step(s: Session, site: Site, alert: Alert, who: Principal) -> object:
        return service.acknowledge(s, site, alert.id, actor=who, now=utcnow())

    return _act(request, session, principal, site_id, alert_id, step)


@router.post("/sites/{site_id}/alerts/{alert_id}/assign", response_model=None)
def assign(
    request: Request,
    site_id: str,
    alert_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    assignee: FormText = "",
) -> Response:
    def step(s: Session, site: Site, alert: Alert, who: Principal) -> object:
        return service.assign(s, site, alert.id, assignee=assignee or None, actor=who, now=utcnow())

    return _act(request, session, principal, site_id, alert_id, step)


@router.post("/sites/{site_id}/alerts/{alert_id}/comment", response_model=None)
def comment(
    request: Request,
    site_id: str,
    alert_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    text: FormText = "",
) -> Response:
    def step(s: Session, site: Site, alert: Alert, who: Principal) -> object:
        return service.add_comment(s, site, alert.id, text=text, actor=who, now=utcnow())

    return _act(request, session, principal, site_id, alert_id, step)


@router.post("/sites/{site_id}/alerts/{alert_id}/resolve", response_model=None)
def resolve(
    request: Request,
    site_id: str,
    alert_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    note: FormText = "",
) -> Response:
    def step(s: Session, site: Site, alert: Alert, who: Principal) -> object:
        return service.resolve(s, site, alert.id, actor=who, now=utcnow(), note=note)

    return _act(request, session, principal, site_id, alert_id, step)
