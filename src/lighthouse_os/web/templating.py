"""Jinja2 environment: template folders of every feature, gettext, locale-aware filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import NumberPattern, parse_pattern
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from lighthouse_os import __version__
from lighthouse_os.auth import csrf
from lighthouse_os.web import i18n
from lighthouse_os.web.navigation import NAV_ITEMS

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def template_dirs() -> list[Path]:
    """`web/templates` first, then each feature's own `templates/` folder."""
    feature_dirs = sorted(p for p in PACKAGE_DIR.glob("*/templates") if p.parent.name != "web")
    return [PACKAGE_DIR / "web" / "templates", *feature_dirs]


@lru_cache(maxsize=64)
def _pattern(digits: int, percent: bool) -> NumberPattern:
    """A parsed Babel number pattern; parsing it costs more than applying it."""
    return parse_pattern(
        "#,##0" + ("." + "0" * digits if digits else "") + ("%" if percent else "")
    )


@lru_cache(maxsize=8)
def _locale(code: str) -> Locale:
    return Locale.parse(code)


def _number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return str(_pattern(digits, False).apply(value, _locale(i18n.current_locale())))


def _percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return str(_pattern(digits, True).apply(value, _locale(i18n.current_locale())))


def datetime_filter(default_tz: str) -> Callable[..., str]:
    """The `datetime` filter: an instant in local time (`tz`, else the platform's zone).

    Stored instants without an offset are UTC (SQLite returns them naive).
    """

    def format_instant(value: datetime | None, fmt: str = "short", tz: str | None = None) -> str:
        if value is None:
            return "–"
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        zone = ZoneInfo(tz or default_tz)
        return format_datetime(value, format=fmt, tzinfo=zone, locale=i18n.current_locale())

    return format_instant


def build_templates(timezone: str = "Asia/Ho_Chi_Minh") -> Jinja2Templates:
    """One Jinja2 environment for the app, with gettext bound to the request's locale; times
    are shown in `timezone` unless a template names another (a site's own zone)."""
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in template_dirs()]),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    env.filters.update(
        number=_number,
        percent=_percent,
        datetime=datetime_filter(timezone),
        pick=i18n.pick,
        tr=i18n.localize,
    )
    env.globals.update(
        nav_items=NAV_ITEMS,
        locales=i18n.LOCALE_NAMES,
        version=__version__,
        pick=i18n.pick,
    )
    return Jinja2Templates(env=env)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page or an HTMX partial in the request's locale."""
    templates: Jinja2Templates = request.app.state.templates
    i18n.set_locale(request.state.locale)
    browser, is_new = csrf.browser_id(request)
    ctx = {
        "locale": request.state.locale,
        "principal": getattr(request.state, "principal", None),
        "csrf_token": csrf.token_for(request.app.state.settings.secret_key_value(), browser),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    if is_new:
        response.set_cookie(
            csrf.COOKIE_NAME,
            browser,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response
