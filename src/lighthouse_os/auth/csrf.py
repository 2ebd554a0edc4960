"""CSRF protection for cookie-authenticated requests: a signed token bound to a per-browser id.

The browser gets a random id in the `lhos_csrf` cookie; forms carry `csrf_token`, and HTMX sends
`X-CSRF-Token`. The token is the id signed with the secret key, so a page on another site can
neither read nor forge it. Every form post is checked, signed in or not (that also stops login
CSRF). Other unsafe requests are checked when they carry the session cookie; requests with an
`Authorization` header (API tokens) or without any cookie credential cannot be forged this way.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from itsdangerous import BadSignature, URLSafeSerializer

from lighthouse_os.errors import Forbidden

COOKIE_NAME = "lhos_csrf"
SESSION_COOKIE = "lhos_session"  # holds the browser session id (auth.deps reads it)
FIELD_NAME = "csrf_token"
HEADER_NAME = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt="lhos-csrf")


def browser_id(request: Request) -> tuple[str, bool]:
    """The browser's CSRF id and whether it is new (then the response must set the cookie)."""
    existing = request.cookies.get(COOKIE_NAME)
    if existing and len(existing) >= 16:
        return existing, False
    return secrets.token_urlsafe(24), True


def token_for(secret_key: str, browser: str) -> str:
    """The token that forms of this browser must send back."""
    return str(_serializer(secret_key).dumps(browser))


def _token_is_valid(secret_key: str, token: str, browser: str | None) -> bool:
    if not token or not browser:
        return False
    try:
        return bool(_serializer(secret_key).loads(token) == browser)
    except BadSignature:
        return False


async def verify_csrf(request: Request) -> None:
    """App-wide dependency: every unsafe, cookie-authenticated request must carry the token."""
    if request.method in SAFE_METHODS or "authorization" in request.headers:
        return
    is_form = request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    )
    if not is_form and SESSION_COOKIE not in request.cookies:
        return  # no ambient credential to abuse: authentication will answer 401
    token = request.headers.get(HEADER_NAME, "")
    if not token and is_form:
        form = await request.form()  # Starlette caches it, so the endpoint can read it again
        token = str(form.get(FIELD_NAME, ""))
    secret_key = request.app.state.settings.secret_key_value()
    if not _token_is_valid(secret_key, token, request.cookies.get(COOKIE_NAME)):
        raise Forbidden("the form has expired or did not come from this site; reload and retry")
