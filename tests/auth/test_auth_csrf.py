"""CSRF over HTTP with every body kind: forms, raw-body imports, NDJSON, and the sign-in form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.support import PASSWORD, World, csrf_token, sign_in

IMPORT = "/api/v1/sites/a1/assets/import"
TAGS_CSV = b"record,path,level,unit,kind\nnode,line1,line,,\ntag,line1/kwh,,kW.h,counter\n"
CSRF_REFUSAL = "did not come from this site"


def _signed_in(client: TestClient, world: World) -> str:
    sign_in(client, world.users["member"])
    return csrf_token(client)


def test_form_encoded_import_with_session_reaches_the_endpoint_with_its_whole_body(
    client: TestClient, world: World
) -> None:
    token = _signed_in(client, world)
    # The token is the last form field; to the YAML reader it is a comment.
    body = f"nodes:\n  - {{path: line1, level: line}}\n# &csrf_token={token}".encode()
    answer = client.post(
        IMPORT, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["created_nodes"] == 1


def test_multipart_import_with_session_and_form_token_is_the_endpoint_answer_not_500(
    client: TestClient, world: World
) -> None:
    token = _signed_in(client, world)
    answer = client.post(IMPORT, data={"csrf_token": token}, files={"f": ("a.yaml", b"x: 1")})
    assert answer.status_code == 422, answer.text  # the multipart body is not an asset YAML
    assert CSRF_REFUSAL not in answer.text


def test_form_encoded_import_without_token_is_a_json_403(client: TestClient, world: World) -> None:
    _signed_in(client, world)
    answer = client.post(
        IMPORT, content=b"nodes: []", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 403
    assert CSRF_REFUSAL in answer.json()["error"]["message"]


def test_csv_import_with_session_and_header_token_imports_the_rows(
    client: TestClient, world: World
) -> None:
    token = _signed_in(client, world)
    answer = client.post(
        f"{IMPORT}?format=csv",
        content=TAGS_CSV,
        headers={"content-type": "text/csv", "x-csrf-token": token},
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["created_nodes"], answer.json()["created_tags"]) == (1, 1)


def test_csv_import_with_session_but_no_header_token_is_a_json_403(
    client: TestClient, world: World
) -> None:
    _signed_in(client, world)
    answer = client.post(
        f"{IMPORT}?format=csv", content=TAGS_CSV, headers={"content-type": "text/csv"}
    )
    assert answer.status_code == 403
    assert CSRF_REFUSAL in answer.json()["error"]["message"]


def test_ndjson_ingest_with_session_needs_the_header_token(
    client: TestClient, world: World
) -> None:
    token = _signed_in(client, world)
    headers = {"content-type": "text/csv", "x-csrf-token": token}
    client.post(f"{IMPORT}?format=csv", content=TAGS_CSV, headers=headers)
    stamp = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    line = f'{{"tag": "line1/kwh", "ts": "{stamp}", "value": 4.5}}\n'.encode()
    ndjson = {"content-type": "application/x-ndjson"}
    refused = client.post("/api/v1/telemetry?site=a1", content=line, headers=ndjson)
    assert refused.status_code == 403
    answer = client.post(
        "/api/v1/telemetry?site=a1", content=line, headers={**ndjson, "x-csrf-token": token}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 1, "duplicates": 0, "rejected": []}


def test_sign_in_form_still_reads_its_token_and_signs_in(client: TestClient, world: World) -> None:
    token = csrf_token(client)
    form = {"email": "member@a.vn", "password": PASSWORD, "csrf_token": token, "next": "/sites"}
    answer = client.post("/login", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert client.get("/sites", follow_redirects=False).status_code == 200


def test_sign_in_with_mixed_case_form_type_and_no_token_is_refused(
    client: TestClient, world: World
) -> None:
    # The form parser reads the media type case-insensitively, so the CSRF check must too:
    # otherwise a cross-site page could sign a victim's browser in (login CSRF).
    body = f"email=member%40a.vn&password={PASSWORD.replace(' ', '+')}&next=/sites"
    answer = client.post(
        "/login",
        content=body.encode(),
        headers={"content-type": "Application/X-WWW-Form-Urlencoded"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "lhos_session" not in answer.headers.get("set-cookie", "")


def test_site_form_with_session_and_wrong_token_is_refused(
    client: TestClient, world: World
) -> None:
    _signed_in(client, world)
    answer = client.post(
        f"/sites/{world.a1}/assessments", data={"csrf_token": "forged", "pack": "lighthouse-os"}
    )
    assert answer.status_code == 403
