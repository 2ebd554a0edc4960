"""Home page and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from lighthouse_os.web.i18n import LOCALES
from lighthouse_os.web.locale_middleware import COOKIE_NAME
from lighthouse_os.web.templating import render

router = APIRouter(include_in_schema=False)

ONE_YEAR_S = 365 * 24 * 3600


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str = "/") -> RedirectResponse:
    """Remember the chosen language and go back; only same-site paths, so no open redirect."""
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    if code in LOCALES:
        response.set_cookie(
            COOKIE_NAME,
            code,
            max_age=ONE_YEAR_S,
            samesite="lax",
            httponly=True,
            secure=request.url.scheme == "https",
        )
    return response
