"""REST API of a site's alerts: the list and lifecycle actions, rules, detectors and channels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from lighthouse_os.alerts import rulebook, service
from lighthouse_os.alerts.schemas import (
    AlertDetail,
    AlertPublic,
    AssignIn,
    ChannelIn,
    ChannelPublic,
    CommentIn,
    DeliveryPublic,
    DetectorIn,
    DetectorPublic,
    ResolveIn,
    RuleIn,
    RulePublic,
    TrainIn,
)
from lighthouse_os.auth.deps import PrincipalDep
from lighthouse_os.auth.service import authorize_site
from lighthouse_os.db.base import utcnow
from lighthouse_os.telemetry.api import sink_for
from lighthouse_os.web import i18n
from lighthouse_os.web.deps import SessionDep


async def _request_locale(request: Request) -> None:
    """Environmental alerts' titles follow `?lang=` (or the language cookie); async, so the
    locale is set in the context the endpoint's thread copies."""
    i18n.set_locale(request.state.locale)


router = APIRouter(
    prefix="/api/v1/sites/{site_id}/alerts",
    tags=["alerts"],
    dependencies=[Depends(_request_locale)],
)
READ, WRITE = "site.read", "site.write"


# -- rules, detectors, channels (static paths before /{alert_id}) ---------------------------


@router.get("/rules")
def list_rules(site_id: str, principal: PrincipalDep, session: SessionDep) -> list[RulePublic]:
    """The site's rules with the series each watches now."""
    target = authorize_site(session, principal, site_id, READ)
    return [rulebook.rule_public(session, r) for r in rulebook.list_rules(session, target)]


@router.post("/rules", status_code=201)
def create_rule(
    site_id: str, body: RuleIn, principal: PrincipalDep, session: SessionDep
) -> RulePublic:
    """Add a threshold, rate-of-change, absence or KPI rule (422 names each field at fault)."""
    target = authorize_site(session, principal, site_id, WRITE)
    rule = rulebook.create_rule(session, target, body, actor=principal)
    return rulebook.rule_public(session, rule)


@router.put("/rules/{rule_id}")
def update_rule(
    site_id: str, rule_id: int, body: RuleIn, principal: PrincipalDep, session: SessionDep
) -> RulePublic:
    """Replace a rule's definition; its per-series state starts afresh."""
    target = authorize_site(session, principal, site_id, WRITE)
    rule = rulebook.update_rule(session, target, rule_id, body, actor=principal)
    return rulebook.rule_public(session, rule)


@router.delete("/rules/{rule_id}", status_code=204)
def delete_rule(
    site_id: str, rule_id: int, principal: PrincipalDep, session: SessionDep
) -> Response:
    """Remove a rule; its alerts stay."""
    target = authorize_site(session, principal, site_id, WRITE)
    rulebook.delete_rule(session, target, rule_id, actor=principal)
    return Response(status_code=204)


@router.get("/detectors")
def list_detectors(
    site_id: str, principal: PrincipalDep, session: SessionDep
) -> list[DetectorPublic]:
    """The site's anomaly detectors, their reference periods and fitted signals."""
    target = authorize_site(session, principal, site_id, READ)
    found = rulebook.list_detectors(session, target)
    return [rulebook.detector_public(session, d) for d in found]


@router.post("/detectors", status_code=201)
def create_detector(
    site_id: str, body: DetectorIn, principal: PrincipalDep, session: SessionDep
) -> DetectorPublic:
    """Add a detector of one machine; train it before it scores."""
    target = authorize_site(session, principal, site_id, WRITE)
    detector = rulebook.create_detector(session, target, body, actor=principal)
    return rulebook.detector_public(session, detector)


@router.post("/detectors/{detector_id}/train")
async def train_detector(
    request: Request,
    site_id: str,
    detector_id: int,
    body: TrainIn,
    principal: PrincipalDep,
    session: SessionDep,
) -> DetectorPublic:
    """Fit the detector on the machine's data in the reference period and keep the model."""
    target = await run_in_threadpool(authorize_site, session, principal, site_id, WRITE)
    store = sink_for(request.app).store
    detector = await run_in_threadpool(
        lambda: rulebook.train_detector(
            session,
            store,
            target,
            detector_id,
            actor=principal,
            now=utcnow(),
            train_from=body.train_from,
            train_to=body.train_to,
        )
    )
    return rulebook.detector_public(session, detector)


@router.delete("/detectors/{detector_id}", status_code=204)
def delete_detector(
    site_id: str, detector_id: int, principal: PrincipalDep, session: SessionDep
) -> Response:
    target = authorize_site(session, principal, site_id, WRITE)
    rulebook.delete_detector(session, target, detector_id, actor=principal)
    return Response(status_code=204)


@router.get("/channels")
def list_channels(
    site_id: str, principal: PrincipalDep, session: SessionDep
) -> list[ChannelPublic]:
    target = authorize_site(session, principal, site_id, READ)
    found = service.list_channels(session, target)
    return [ChannelPublic.model_validate(c, from_attributes=True) for c in found]


@router.post("/channels", status_code=201)
def create_channel(
    site_id: str, body: ChannelIn, principal: PrincipalDep, session: SessionDep
) -> ChannelPublic:
    """Add a webhook or e-mail channel for the site's alerts."""
    target = authorize_site(session, principal, site_id, WRITE)
    channel = service.create_channel(session, target, body, actor=principal)
    return ChannelPublic.model_validate(channel, from_attributes=True)


@router.delete("/channels/{channel_id}", status_code=204)
def delete_channel(
    site_id: str, channel_id: int, principal: PrincipalDep, session: SessionDep
) -> Response:
    target = authorize_site(session, principal, site_id, WRITE)
    service.delete_channel(session, target, channel_id, actor=principal)
    return Response(status_code=204)


@router.get("/deliveries")
def deliveries(
    site_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryPublic]:
    """The delivery log: each notification, its attempts and last error."""
    target = authorize_site(session, principal, site_id, READ)
    found = service.list_deliveries(session, target, limit=limit)
    return [DeliveryPublic.model_validate(d, from_attributes=True) for d in found]


# -- alerts ---------------------------------------------------------------------------------


@router.get("")
def list_alerts(
    site_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    status: Annotated[
        str | None, Query(description="open, acknowledged, resolved or active")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AlertPublic]:
    """The site's alerts, newest first."""
    target = authorize_site(session, principal, site_id, READ)
    found = service.list_alerts(session, target, status=status, limit=limit)
    return [service.alert_public(session, a) for a in found]


@router.get("/{alert_id}")
def get_alert(
    site_id: str, alert_id: int, principal: PrincipalDep, session: SessionDep
) -> AlertDetail:
    """One alert with its comments."""
    target = authorize_site(session, principal, site_id, READ)
    return service.alert_detail(session, service.get_alert(session, target, alert_id))


@router.post("/{alert_id}/acknowledge")
def acknowledge(
    site_id: str, alert_id: int, principal: PrincipalDep, session: SessionDep
) -> AlertDetail:
    """open → acknowledged (409 from any other status)."""
    target = authorize_site(session, principal, site_id, WRITE)
    alert = service.acknowledge(session, target, alert_id, actor=principal, now=utcnow())
    return service.alert_detail(session, alert)


@router.post("/{alert_id}/assign")
def assign(
    site_id: str, alert_id: int, body: AssignIn, principal: PrincipalDep, session: SessionDep
) -> AlertDetail:
    """Set or clear the assignee (a member of the site's organisation)."""
    target = authorize_site(session, principal, site_id, WRITE)
    alert = service.assign(
        session, target, alert_id, assignee=body.assignee, actor=principal, now=utcnow()
    )
    return service.alert_detail(session, alert)


@router.post("/{alert_id}/comments", status_code=201)
def comment(
    site_id: str, alert_id: int, body: CommentIn, principal: PrincipalDep, session: SessionDep
) -> AlertDetail:
    """Add a comment (any status)."""
    target = authorize_site(session, principal, site_id, WRITE)
    alert = service.add_comment(
        session, target, alert_id, text=body.text, actor=principal, now=utcnow()
    )
    return service.alert_detail(session, alert)


@router.post("/{alert_id}/resolve")
def resolve(
    site_id: str, alert_id: int, body: ResolveIn, principal: PrincipalDep, session: SessionDep
) -> AlertDetail:
    """open/acknowledged → resolved, with an optional closing note."""
    target = authorize_site(session, principal, site_id, WRITE)
    alert = service.resolve(
        session, target, alert_id, actor=principal, now=utcnow(), note=body.note
    )
    return service.alert_detail(session, alert)
