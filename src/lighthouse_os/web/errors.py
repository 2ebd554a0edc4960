"""One place that turns errors into JSON (under /api/) or a friendly page in the user's language."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from lighthouse_os.errors import LhosError
from lighthouse_os.text import N_
from lighthouse_os.web.responses import JSONBytes
from lighthouse_os.web.templating import render

log = logging.getLogger(__name__)

STATUS_TITLES = {
    400: N_("Bad request"),
    401: N_("Please sign in"),
    403: N_("Not allowed"),
    404: N_("Page not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    422: N_("Invalid input"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong"),
}


def wants_json(request: Request) -> bool:
    """API clients get JSON; people get pages."""
    return request.url.path.startswith("/api/")


def error_response(
    request: Request, status: int, message: str, fields: dict[str, str] | None = None
) -> Response:
    """Render one error as JSON or as `{status}.html`, falling back to `error.html`."""
    if status == 401 and not wants_json(request):
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status_code=303)
    if wants_json(request):
        body = {"error": {"status": status, "message": message, "fields": fields or {}}}
        return JSONBytes(body, status_code=status)
    templates = request.app.state.templates
    name = f"{status}.html"
    try:
        templates.env.get_template(name)
    except Exception:  # jinja2.TemplateNotFound: use the generic page
        name = "error.html"
    title = STATUS_TITLES.get(status, N_("Error"))
    context = {"status": status, "title": title, "message": message, "fields": fields or {}}
    return render(request, name, context, status_code=status)


async def _lhos_error(request: Request, exc: LhosError) -> Response:
    return error_response(request, exc.status, exc.message, exc.fields)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    response = error_response(request, exc.status_code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    fields = {
        ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path")): err["msg"]
        for err in exc.errors()
    }
    return error_response(request, 422, N_("The request is not valid."), fields)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, N_("An unexpected error occurred; it has been logged."))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; `Exception` is the last resort and is always logged."""
    app.add_exception_handler(LhosError, _lhos_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)
