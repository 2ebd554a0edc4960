"""Who is calling: a Bearer token or a session cookie, resolved once per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lighthouse_os.auth.csrf import SESSION_COOKIE
from lighthouse_os.auth.policy import Principal
from lighthouse_os.auth.sessions import principal_from_session
from lighthouse_os.auth.tokens import principal_from_token
from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import Unauthorized
from lighthouse_os.web.deps import SessionDep

__all__ = ["SESSION_COOKIE", "OptionalPrincipalDep", "PrincipalDep", "client_ip"]


def client_ip(request: Request) -> str:
    """The peer address (a reverse proxy should be configured to set it)."""
    return request.client.host if request.client else ""


def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    """The caller, or None when anonymous. A malformed or revoked token is a 401, not anonymous."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    principal: Principal | None = None
    if header:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials:
            raise Unauthorized("use 'Authorization: Bearer <token>'")
        principal = principal_from_token(session, credentials, ip=client_ip(request), now=utcnow())
        if principal is None:
            raise Unauthorized("the API token is malformed, unknown or revoked")
    elif sid := request.cookies.get(SESSION_COOKIE):
        principal = principal_from_session(session, sid, utcnow())
    request.state.principal = principal
    return principal


def required_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The caller; anonymous requests get 401 (pages redirect to the sign-in form)."""
    if principal is None:
        raise Unauthorized("sign in or send an API token")
    return principal


OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]
PrincipalDep = Annotated[Principal, Depends(required_principal)]
