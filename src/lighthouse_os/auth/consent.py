"""Programs and their sites: enrolment, and the consent that says what a program may see."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.auth import audit
from lighthouse_os.auth.models import Enrolment, Organisation
from lighthouse_os.auth.policy import Action, Consent, OrgKind, Principal
from lighthouse_os.auth.service import authorize_site
from lighthouse_os.auth.tenants import get_org, get_site
from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import InvalidInput, NotFound


def enrol(
    session: Session,
    *,
    program_ref: int | str,
    site_ref: int | str,
    consent: str = Consent.AGGREGATE,
    actor: Principal | None = None,
) -> Enrolment:
    """Enrol a site in a program (operator command); re-enrolling updates the consent."""
    program = get_org(session, program_ref)
    if program.kind != OrgKind.PROGRAM:
        raise InvalidInput(f"{program.code!r} is not a program", fields={"program": "kind"})
    site = get_site(session, site_ref)
    parsed = _parse_consent(consent)
    enrolment = session.scalar(
        select(Enrolment).where(Enrolment.program_id == program.id, Enrolment.site_id == site.id)
    )
    if enrolment is None:
        enrolment = Enrolment(program_id=program.id, site_id=site.id, consent=parsed)
        session.add(enrolment)
        audit.record(
            session,
            "program.enrolled",
            actor=actor,
            org_id=program.id,
            site_id=site.id,
            target=program.code,
            consent=parsed.value,
        )
    elif enrolment.consent != parsed:
        _change_consent(session, enrolment, parsed, actor, ip="")
    session.commit()
    return enrolment


def _parse_consent(consent: str) -> Consent:
    try:
        return Consent(consent)
    except ValueError as err:
        raise InvalidInput(
            "consent must be aggregate or details", fields={"consent": "unknown"}
        ) from err


def _change_consent(
    session: Session, enrolment: Enrolment, consent: Consent, actor: Principal | None, ip: str
) -> None:
    before = enrolment.consent
    enrolment.consent = consent
    enrolment.consent_changed_at = utcnow()
    audit.record(
        session,
        "consent.changed",
        actor=actor,
        org_id=enrolment.program_id,
        site_id=enrolment.site_id,
        target=f"program {enrolment.program_id}",
        ip=ip,
        before=before,
        after=consent.value,
    )


def set_consent(
    session: Session, principal: Principal, *, site_id: int, program_id: int, consent: str, ip: str
) -> Enrolment:
    """A site admin changes what a program may see; audited."""
    authorize_site(session, principal, site_id, Action.SITE_ADMIN)
    enrolment = session.scalar(
        select(Enrolment).where(Enrolment.program_id == program_id, Enrolment.site_id == site_id)
    )
    if enrolment is None:
        raise NotFound("enrolment not found")
    _change_consent(session, enrolment, _parse_consent(consent), principal, ip)
    session.commit()
    return enrolment


def site_enrolments(session: Session, site_id: int) -> list[tuple[Enrolment, Organisation]]:
    """The programs a site is enrolled in, with the program organisation."""
    rows = session.execute(
        select(Enrolment, Organisation)
        .join(Organisation, Organisation.id == Enrolment.program_id)
        .where(Enrolment.site_id == site_id)
    )
    return [(e, o) for e, o in rows]
