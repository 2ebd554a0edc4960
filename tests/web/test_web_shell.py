"""The web shell: pages in Vietnamese by default, English on request, probes and error pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from lighthouse_os.app import create_app
from lighthouse_os.errors import Conflict
from lighthouse_os.settings import Settings
from tests.support import make_settings


def test_home_is_vietnamese_by_default(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert '<html lang="vi">' in response.text
    assert "Trang chủ" in response.text


@pytest.mark.parametrize(
    ("query", "cookie", "expected"),
    [
        ("?lang=en", None, "Home"),
        ("", "en", "Home"),
        ("?lang=vi", "en", "Trang chủ"),
        ("?lang=xx", None, "Trang chủ"),
    ],
)
def test_home_language_follows_query_then_cookie_then_default(
    client: TestClient, query: str, cookie: str | None, expected: str
) -> None:
    if cookie:
        client.cookies.set("lhos_lang", cookie)
    response = client.get(f"/{query}")
    assert f">{expected}</a>" in response.text


def test_language_switch_sets_cookie_and_redirects_back(client: TestClient) -> None:
    response = client.get("/lang/en?next=/some/page", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/some/page"
    assert "lhos_lang=en" in response.headers["set-cookie"]
    assert "httponly" in response.headers["set-cookie"].lower()


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/"])
def test_language_switch_refuses_offsite_redirect(client: TestClient, target: str) -> None:
    response = client.get(f"/lang/en?next={target}", follow_redirects=False)
    assert response.headers["location"] == "/"


def test_healthz_answers_ok(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"


def test_readyz_is_ready_when_database_answers(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": True}


def test_readyz_is_503_when_database_is_unreachable(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:9/x")
    with TestClient(create_app(settings)) as unready:
        response = unready.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] is False


def test_openapi_is_served_under_api_v1(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Lighthouse OS"


def test_unknown_page_renders_friendly_404_in_vietnamese(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "Không tìm thấy trang" in response.text


def test_unknown_api_path_answers_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


def _app_with_failing_routes(settings: Settings) -> TestClient:
    app = create_app(settings)
    router = APIRouter()

    @router.get("/boom")
    @router.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("kaput")

    @router.get("/api/v1/conflict")
    def conflict() -> None:
        raise Conflict("email already registered", fields={"email": "taken"})

    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


def test_unexpected_error_renders_500_page_without_details(
    initialised_settings: Settings,
) -> None:
    with _app_with_failing_routes(initialised_settings) as failing:
        page = failing.get("/boom?lang=en")
        api = failing.get("/api/v1/boom")
    assert page.status_code == 500
    assert "Something went wrong" in page.text
    assert "kaput" not in page.text
    assert api.status_code == 500
    assert "kaput" not in api.text


def test_lhos_error_keeps_its_status_and_fields_in_json(initialised_settings: Settings) -> None:
    with _app_with_failing_routes(initialised_settings) as failing:
        response = failing.get("/api/v1/conflict")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "status": 409,
        "message": "email already registered",
        "fields": {"email": "taken"},
    }


def test_static_vendored_libraries_are_served(client: TestClient) -> None:
    assert client.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200
    assert client.get("/static/vendor/chart-4.6.1.umd.min.js").status_code == 200
