"""Sign-in, CSRF and token scope over HTTP, as a browser or a script would use them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support import PASSWORD, World, csrf_token, sign_in


def test_login_sets_httponly_samesite_session_cookie(client: TestClient, world: World) -> None:
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"email": "member@a.vn", "password": PASSWORD, "csrf_token": token, "next": "/sites"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/sites"
    cookie = response.headers["set-cookie"].lower()
    assert "lhos_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in tests; https adds Secure


def test_login_without_csrf_token_is_refused(client: TestClient, world: World) -> None:
    csrf_token(client)
    response = client.post("/login", data={"email": "member@a.vn", "password": PASSWORD})
    assert response.status_code == 403
    assert "lhos_session" not in response.headers.get("set-cookie", "")


def test_login_with_token_of_another_browser_is_refused(client: TestClient, world: World) -> None:
    stolen = csrf_token(client)
    client.cookies.clear()
    csrf_token(client)  # this browser gets its own id
    response = client.post(
        "/login", data={"email": "member@a.vn", "password": PASSWORD, "csrf_token": stolen}
    )
    assert response.status_code == 403


def test_login_wrong_password_rerenders_form_with_error_beside_field(
    client: TestClient, world: World
) -> None:
    token = csrf_token(client)
    response = client.post(
        "/login?lang=en",
        data={"email": "member@a.vn", "password": "not the password", "csrf_token": token},
    )
    assert response.status_code == 422
    assert 'class="field-error"' in response.text
    assert "Wrong email or password." in response.text
    assert 'value="member@a.vn"' in response.text


def test_login_is_throttled_after_repeated_failures(client: TestClient, world: World) -> None:
    token = csrf_token(client)
    form = {"email": "admin@a.vn", "password": "wrong wrong wrong", "csrf_token": token}
    statuses = [client.post("/login", data=form).status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]


def test_logout_ends_the_session(client: TestClient, world: World) -> None:
    sign_in(client, "member@a.vn")
    assert client.get("/sites", follow_redirects=False).status_code == 200
    token = csrf_token(client)
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/sites", follow_redirects=False).status_code == 303


def test_pages_redirect_anonymous_to_sign_in_with_next(client: TestClient) -> None:
    response = client.get("/sites", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/sites"


def test_api_lists_only_visible_sites_for_a_token(client: TestClient, world: World) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['a1_read']}"}
    sites = client.get("/api/v1/sites", headers=headers).json()
    assert [s["code"] for s in sites] == ["a1"]
    assert client.get(f"/api/v1/sites/{world.b1}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/sites/{world.a2}", headers=headers).status_code == 404


@pytest.mark.parametrize(
    "header",
    ["Bearer lhos_nope", "Basic dXNlcjpwYXNz", "Bearer ", "lhos_abc_def"],
)
def test_api_malformed_token_gets_401_with_clear_message(client: TestClient, header: str) -> None:
    response = client.get("/api/v1/sites", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["message"]


def test_api_anonymous_gets_401_json(client: TestClient) -> None:
    response = client.get("/api/v1/sites")
    assert response.status_code == 401
    assert response.json()["error"]["status"] == 401


def test_site_admin_creates_token_shown_once_and_consent_switch(
    client: TestClient, world: World
) -> None:
    sign_in(client, "admin@a.vn")
    token = csrf_token(client)
    page = client.post(f"/sites/{world.a1}/tokens", data={"csrf_token": token, "name": "PLC"})
    assert page.status_code == 200
    assert "lhos_" in page.text
    again = client.get(f"/sites/{world.a1}")
    assert page.text.count("lhos_") > again.text.count("lhos_")  # the secret is not repeated
    response = client.post(
        f"/sites/{world.a1}/consent",
        data={"csrf_token": token, "program_id": world.program, "consent": "aggregate"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "Aggregates only" in client.get(f"/sites/{world.a1}?lang=en").text


def test_api_post_without_any_credential_is_401_not_csrf_403(client: TestClient) -> None:
    response = client.post("/api/v1/telemetry", json={"points": []})
    assert response.status_code == 401


def test_api_post_with_session_cookie_but_no_csrf_header_is_refused(
    client: TestClient, world: World
) -> None:
    sign_in(client, "member@a.vn")
    response = client.post("/api/v1/telemetry", json={"points": []})
    assert response.status_code == 403
