"""REST: the sites a caller may see."""

from __future__ import annotations

from fastapi import APIRouter

from lighthouse_os.auth import service
from lighthouse_os.auth.deps import PrincipalDep
from lighthouse_os.auth.policy import Action
from lighthouse_os.auth.schemas import SitePublic
from lighthouse_os.web.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["sites"])


@router.get("/sites")
def list_sites(principal: PrincipalDep, session: SessionDep) -> list[SitePublic]:
    """Only the sites the caller may read; another tenant's sites are simply absent."""
    return [SitePublic.model_validate(s) for s in service.visible_sites(session, principal)]


@router.get("/sites/{site_id}")
def get_site(site_id: int, principal: PrincipalDep, session: SessionDep) -> SitePublic:
    """One site; 404 for a site of another tenant, exactly as for a missing one."""
    site = service.authorize_site(session, principal, site_id, Action.SITE_READ)
    return SitePublic.model_validate(site)
