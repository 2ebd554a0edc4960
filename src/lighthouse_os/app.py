"""create_app(): the composition root of the web application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from lighthouse_os import __version__
from lighthouse_os.alerts import api as alerts_api
from lighthouse_os.alerts import pages as alerts_pages
from lighthouse_os.assessment import api as assessment_api
from lighthouse_os.assessment import pages as assessment_pages
from lighthouse_os.assets import api as assets_api
from lighthouse_os.assets import pages as assets_pages
from lighthouse_os.auth import api as auth_api
from lighthouse_os.auth import pages as auth_pages
from lighthouse_os.auth.csrf import verify_csrf
from lighthouse_os.auth.deps import optional_principal
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.environment import api as environment_api
from lighthouse_os.environment import pages as environment_pages
from lighthouse_os.kpi import api as kpi_api
from lighthouse_os.kpi import pages as kpi_pages
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry import api as telemetry_api
from lighthouse_os.telemetry import pages as telemetry_pages
from lighthouse_os.web import health, pages
from lighthouse_os.web.errors import install_error_handlers
from lighthouse_os.web.locale_middleware import LocaleMiddleware
from lighthouse_os.web.templating import build_templates

STATIC_DIR = Path(__file__).parent / "web" / "static"


def create_app(settings: Settings) -> FastAPI:
    """Wire settings, database, templates and routers into one ASGI app."""
    engine = make_engine(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="Lighthouse OS",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
        # Every request resolves its caller once and passes the CSRF check (auth/csrf.py).
        dependencies=[Depends(optional_principal), Depends(verify_csrf)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.templates = build_templates(settings.timezone)
    app.add_middleware(LocaleMiddleware, default_locale=settings.default_locale)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)
    for router in feature_routers():
        app.include_router(router)
    return app


def feature_routers() -> list[APIRouter]:
    """Every router of every feature, in navigation order; a feature adds one line here."""
    return [
        health.router,
        pages.router,
        auth_pages.router,
        auth_api.router,
        telemetry_api.router,
        *(assets_api.router, assets_pages.router, telemetry_pages.router),
        assessment_pages.router,
        assessment_api.router,
        *(kpi_pages.router, kpi_api.router),
        *(alerts_pages.router, alerts_api.router),
        *(environment_pages.router, environment_api.router),
    ]
