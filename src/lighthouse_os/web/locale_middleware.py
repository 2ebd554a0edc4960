"""Chooses each request's UI language: `?lang=`, then the `lhos_lang` cookie, then the default."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from lighthouse_os.web.i18n import LOCALES

COOKIE_NAME = "lhos_lang"


def choose_locale(scope: Scope, default: str) -> str:
    """The locale for one request; unknown codes fall back to the default."""
    raw_query: bytes = scope.get("query_string", b"")
    requested = parse_qs(raw_query.decode("latin-1")).get("lang", [""])[0]
    if requested in LOCALES:
        return requested
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            morsel = SimpleCookie(value.decode("latin-1")).get(COOKIE_NAME)
            if morsel is not None and morsel.value in LOCALES:
                return morsel.value
    return default


class LocaleMiddleware:
    """Pure ASGI, so it costs next to nothing on the telemetry hot path."""

    def __init__(self, app: ASGIApp, default_locale: str) -> None:
        self.app = app
        self.default_locale = default_locale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["locale"] = choose_locale(scope, self.default_locale)
        await self.app(scope, receive, send)
