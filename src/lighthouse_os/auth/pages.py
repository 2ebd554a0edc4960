"""Sign-in, sign-out, and the site pages where admins manage consent and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lighthouse_os.auth.consent import set_consent, site_enrolments
from lighthouse_os.auth.deps import SESSION_COOKIE, PrincipalDep, client_ip
from lighthouse_os.auth.policy import Action
from lighthouse_os.auth.service import authorize_site, visible_sites
from lighthouse_os.auth.sessions import SESSION_LIFETIME, sign_in, sign_out
from lighthouse_os.auth.tokens import create_token, revoke_token, site_tokens
from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import Forbidden, InvalidInput, TooManyRequests
from lighthouse_os.text import N_
from lighthouse_os.web.deps import SessionDep
from lighthouse_os.web.templating import render

router = APIRouter(include_in_schema=False)

LOGIN_MESSAGES: dict[type[Exception], str] = {
    InvalidInput: N_("Wrong email or password."),
    TooManyRequests: N_("Too many failed sign-ins. Wait 15 minutes and try again."),
}


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "auth/login.html", {"next": _safe_next(next), "errors": {}})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password; on failure re-render the form with the reason beside the field."""
    try:
        _user, sid = sign_in(
            session,
            email=email,
            password=password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            now=utcnow(),
        )
    except (InvalidInput, TooManyRequests) as err:
        message = LOGIN_MESSAGES[type(err)]
        context = {"next": _safe_next(next), "email": email, "errors": {"password": message}}
        return render(request, "auth/login.html", context, status_code=err.status)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> RedirectResponse:
    if sid := request.cookies.get(SESSION_COOKIE):
        sign_out(session, sid)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/sites", response_class=HTMLResponse)
def sites_page(request: Request, principal: PrincipalDep, session: SessionDep) -> HTMLResponse:
    sites = visible_sites(session, principal)
    return render(request, "auth/sites.html", {"sites": sites})


def _site_context(session: SessionDep, principal: PrincipalDep, site_id: int) -> dict[str, object]:
    site = authorize_site(session, principal, site_id, Action.SITE_READ)
    is_admin = _can_admin(session, principal, site_id)
    return {
        "site": site,
        "is_admin": is_admin,
        "enrolments": site_enrolments(session, site.id),
        "tokens": site_tokens(session, principal, site.id) if is_admin else [],
    }


def _can_admin(session: SessionDep, principal: PrincipalDep, site_id: int) -> bool:
    try:
        authorize_site(session, principal, site_id, Action.SITE_ADMIN)
    except Forbidden:
        return False
    return True


@router.get("/sites/{site_id}", response_class=HTMLResponse)
def site_page(
    request: Request, site_id: int, principal: PrincipalDep, session: SessionDep
) -> HTMLResponse:
    return render(request, "auth/site.html", _site_context(session, principal, site_id))


@router.post("/sites/{site_id}/consent")
def change_consent(
    request: Request,
    site_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    program_id: Annotated[int, Form()],
    consent: Annotated[str, Form()],
) -> RedirectResponse:
    set_consent(
        session,
        principal,
        site_id=site_id,
        program_id=program_id,
        consent=consent,
        ip=client_ip(request),
    )
    return RedirectResponse(f"/sites/{site_id}", status_code=303)


@router.post("/sites/{site_id}/tokens", response_class=HTMLResponse)
def create_site_token(
    request: Request,
    site_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    scope: Annotated[str, Form()] = "write",
    name: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Mint a site token and show its secret once on the site page."""
    site = authorize_site(session, principal, site_id, Action.SITE_ADMIN)
    _token, plaintext = create_token(
        session, org_ref=site.org_id, site_ref=site.id, scope=scope, name=name, actor=principal
    )
    context = _site_context(session, principal, site_id) | {"new_token": plaintext}
    return render(request, "auth/site.html", context)


@router.post("/sites/{site_id}/tokens/{token_id}/revoke")
def revoke_site_token(
    site_id: int, token_id: int, principal: PrincipalDep, session: SessionDep
) -> RedirectResponse:
    token = revoke_token(session, principal, token_id, utcnow())
    return RedirectResponse(f"/sites/{token.site_id or site_id}", status_code=303)
