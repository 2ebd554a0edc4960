"""Access to sites and organisations: load one and ask the policy (`auth/policy.py`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.auth.models import Enrolment, Organisation, Site
from lighthouse_os.auth.policy import (
    Action,
    Consent,
    OrgKind,
    Principal,
    SiteFacts,
    decide_org,
    decide_site,
)
from lighthouse_os.auth.tenants import get_org, get_site
from lighthouse_os.errors import Forbidden, NotFound


def site_facts(session: Session, site: Site) -> SiteFacts:
    """The policy's view of a site: tenant and program consents."""
    rows = session.execute(
        select(Enrolment.program_id, Enrolment.consent).where(Enrolment.site_id == site.id)
    )
    return SiteFacts(site.id, site.org_id, {pid: Consent(c) for pid, c in rows})


def authorize_site(
    session: Session, principal: Principal, site_ref: int | str, action: str | Action
) -> Site:
    """Load a site and check `action` on it: 404 when the caller may not see it, 403 when it
    may see it but not act."""
    try:
        site = get_site(session, site_ref)
    except NotFound:
        raise NotFound("site not found") from None
    decision = decide_site(principal, Action(action), site_facts(session, site))
    if not decision.visible:
        raise NotFound("site not found")
    if not decision.allowed:
        raise Forbidden(decision.reason)
    return site


def visible_sites(session: Session, principal: Principal) -> list[Site]:
    """Every site the caller may read, by name."""
    sites = list(session.scalars(select(Site).order_by(Site.name)))
    consents: dict[int, dict[int, Consent]] = {}
    for site_id, program_id, consent in session.execute(
        select(Enrolment.site_id, Enrolment.program_id, Enrolment.consent)
    ):  # one query for every site's consents, not one per site
        consents.setdefault(site_id, {})[program_id] = Consent(consent)
    return [
        s
        for s in sites
        if decide_site(
            principal, Action.SITE_READ, SiteFacts(s.id, s.org_id, consents.get(s.id, {}))
        ).allowed
    ]


def authorize_org(
    session: Session, principal: Principal, org_ref: int | str, action: Action
) -> Organisation:
    """Load an organisation and check an org-level action on it (404 when not a member)."""
    org = get_org(session, org_ref)
    decision = decide_org(principal, action, org.id, OrgKind(org.kind))
    if not decision.visible:
        raise NotFound("organisation not found")
    if not decision.allowed:
        raise Forbidden(decision.reason)
    return org
