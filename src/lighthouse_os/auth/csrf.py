"""CSRF protection for cookie-authenticated requests: a signed token bound to a per-browser id.

The browser gets a random id in the `lhos_csrf` cookie; forms carry `csrf_token`, and HTMX sends
`X-CSRF-Token`. The token is the id signed with the secret key, so a page on another site can
neither read nor forge it. Every form post is checked, signed in or not (that also stops login
CSRF). Other unsafe requests are checked when they carry the session cookie; requests with an
`Authorization` header (API tokens) or without any cookie credential cannot be forged this way.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

from fastapi import Request, params
from fastapi.routing import APIRoute
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import FormData

from lighthouse_os.errors import Forbidden

COOKIE_NAME = "lhos_csrf"
SESSION_COOKIE = "lhos_session"  # holds the browser session id (auth.deps reads it)
FIELD_NAME = "csrf_token"
HEADER_NAME = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


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


async def verify_csrf(request: Request) -> AsyncIterator[None]:
    """App-wide dependency: every unsafe, cookie-authenticated request must carry the token.

    A form read here stays open for the endpoint, which may read the same cached form; its
    uploaded files are closed once the response is sent.
    """
    is_form = _is_form(request.headers.get("content-type", ""))
    if not _needs_token(request, is_form):
        yield
        return
    token = request.headers.get(HEADER_NAME, "")
    form = await _read_form(request) if is_form and not token else None
    try:
        if form is not None:
            token = str(form.get(FIELD_NAME, ""))
        secret_key = request.app.state.settings.secret_key_value()
        if not _token_is_valid(secret_key, token, request.cookies.get(COOKIE_NAME)):
            raise Forbidden("the form has expired or did not come from this site; reload and retry")
        yield
    finally:
        if form is not None:
            await form.close()


def _needs_token(request: Request, is_form: bool) -> bool:
    if request.method in SAFE_METHODS or "authorization" in request.headers:
        return False
    # Without a form or the session cookie there is no ambient credential to abuse:
    # authentication will answer 401.
    return is_form or SESSION_COOKIE in request.cookies


def _is_form(content_type: str) -> bool:
    # The media type as Starlette's form parser reads it (case-insensitive, parameters and blanks
    # dropped): a mixed-case `Application/X-WWW-Form-Urlencoded` is parsed as a form by the
    # endpoint, so it must be checked as one, or a cross-site sign-in form would pass unchecked.
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type in FORM_TYPES


async def _read_form(request: Request) -> FormData:
    """The request's form, read so that the endpoint can still read the body in any way.

    Starlette keeps what it read on the request: `body()` caches the raw bytes, and `form()`
    parses those cached bytes when they exist. But `form()` on an unread request consumes the
    stream without keeping the bytes, so an endpoint's `body()` after it fails with "Stream
    consumed" (the raw-body asset import). Reading `body()` first keeps both. Routes with `Form`
    or `File` parameters are the exception: FastAPI parses their form before any dependency runs,
    so the stream is gone (`body()` would fail, as the sign-in form showed) and only the parsed
    form is left; `form()` returns that cache.
    """
    if not _form_parsed_before_dependencies(request):
        await request.body()
    return await request.form()


def _form_parsed_before_dependencies(request: Request) -> bool:
    route = request.scope.get("route")
    body_field = route.body_field if isinstance(route, APIRoute) else None
    return body_field is not None and isinstance(body_field.field_info, params.Form)
