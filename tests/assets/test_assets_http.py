"""Asset REST API and pages: site-scoped access, field errors, bulk import."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support import World, csrf_token, sign_in

YAML = b"""
nodes:
  - {path: line1, level: line}
  - {path: line1/press2, level: machine, asset_type: press}
tags:
  - {path: line1/press2/kwh, unit: kW.h, kind: counter}
"""


def _auth(world: World, token: str = "a1_write") -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[token]}"}


def test_assets_api_create_read_update_delete(client: TestClient, world: World) -> None:
    base = "/api/v1/sites/a1/assets"
    node = client.post(
        f"{base}/nodes", json={"path": "main", "level": "area"}, headers=_auth(world)
    )
    assert node.status_code == 201
    tag = client.post(
        f"{base}/tags",
        json={"path": "main/kwh", "unit": "kW.h", "kind": "counter"},
        headers=_auth(world),
    ).json()
    assert tag["series_id"] == tag["id"]
    changed = client.put(
        f"{base}/tags/{tag['id']}",
        json={"unit": "kW.h", "kind": "counter", "scale": 0.001},
        headers=_auth(world),
    )
    assert changed.json()["scale"] == 0.001
    tree = client.get(base, headers=_auth(world, "a1_read")).json()
    assert [t["path"] for t in tree["tags"]] == ["main/kwh"]
    assert client.delete(f"{base}/tags/{tag['id']}", headers=_auth(world)).status_code == 204
    assert (
        client.delete(f"{base}/nodes/{node.json()['id']}", headers=_auth(world)).status_code == 204
    )


def test_assets_api_field_errors_are_422(client: TestClient, world: World) -> None:
    answer = client.post(
        "/api/v1/sites/a1/assets/tags",
        json={"path": "ghost/kwh", "unit": "kWh", "kind": "sum"},
        headers=_auth(world),
    )
    assert answer.status_code == 422
    assert set(answer.json()["error"]["fields"]) == {"path", "unit", "kind"}


def test_assets_api_other_site_is_404_and_read_token_is_403(
    client: TestClient, world: World
) -> None:
    body = {"path": "main", "level": "area"}
    assert (
        client.post("/api/v1/sites/b1/assets/nodes", json=body, headers=_auth(world)).status_code
        == 404
    )
    read_only = client.post(
        "/api/v1/sites/a1/assets/nodes", json=body, headers=_auth(world, "a1_read")
    )
    assert read_only.status_code == 403


def test_assets_api_import_reports_every_bad_row(client: TestClient, world: World) -> None:
    ok = client.post("/api/v1/sites/a1/assets/import", content=YAML, headers=_auth(world))
    assert ok.json()["created_tags"] == 1
    bad_csv = (
        b"record,path,level,unit,kind\nnode,x,line,,\ntag,x/t,,celsius,gauge\ntag,y/t,,Cel,gauge\n"
    )
    answer = client.post(
        "/api/v1/sites/a1/assets/import?format=csv", content=bad_csv, headers=_auth(world)
    )
    assert answer.status_code == 422
    assert set(answer.json()["error"]["fields"]) == {"line 3.unit", "line 4.path"}


def test_assets_pages_show_the_tree_and_errors_beside_fields(
    client: TestClient, world: World
) -> None:
    client.post("/api/v1/sites/a1/assets/import", content=YAML, headers=_auth(world))
    sign_in(client, world.users["member"])
    page = client.get("/sites/a1/assets?lang=en")
    assert page.status_code == 200
    assert "press2" in page.text
    assert "series" in page.text
    form = {
        "csrf_token": csrf_token(client),
        "parent": "line1/press2",
        "key": "temp",
        "unit": "celsius",
        "kind": "gauge",
    }
    answer = client.post("/sites/a1/assets/tags/new", data=form, follow_redirects=False)
    assert answer.status_code == 422
    assert 'id="e-unit"' in answer.text
    form["unit"] = "Cel"
    created = client.post("/sites/a1/assets/tags/new", data=form, follow_redirects=False)
    assert created.status_code == 303
    assert "temp" in client.get("/sites/a1/assets").text


def test_assets_pages_in_vietnamese(client: TestClient, world: World) -> None:
    sign_in(client, world.users["member"])
    page = client.get("/sites/a1/assets?lang=vi")
    assert "Thiết bị" in page.text
    assert client.get("/sites/b1/assets").status_code == 404


def test_assets_node_form_rejects_a_bad_key(client: TestClient, world: World) -> None:
    sign_in(client, world.users["admin"])
    form = {"csrf_token": csrf_token(client), "parent": "", "key": "line 1", "level": "line"}
    answer = client.post("/sites/a1/assets/nodes/new", data=form, follow_redirects=False)
    assert answer.status_code == 422
    assert 'id="e-key"' in answer.text


def test_deadletters_page_lists_refused_points(client: TestClient, world: World) -> None:
    client.post("/api/v1/sites/a1/assets/import", content=YAML, headers=_auth(world))
    points = {"points": [{"tag": "nope", "ts": "2026-03-01T08:00:00+07:00", "value": 1}]}
    client.post("/api/v1/telemetry", json=points, headers=_auth(world))
    sign_in(client, world.users["member"])
    page = client.get("/sites/a1/deadletters?lang=en")
    assert page.status_code == 200
    assert "unknown_tag" in page.text


def test_assets_form_errors_are_in_the_visitors_language(client: TestClient, world: World) -> None:
    sign_in(client, world.users["admin"])
    client.post("/api/v1/sites/a1/assets/import", content=YAML, headers=_auth(world))
    form = {
        "csrf_token": csrf_token(client),
        "parent": "line1/press2",
        "key": "kwh",
        "unit": "kWh",
        "kind": "gauge",
        "states": "run",
    }
    new_tag = "/sites/a1/assets/tags/new?lang="
    vi = client.post(new_tag + "vi", data=form, follow_redirects=False).text
    assert "không nhận ra đơn vị &#39;kWh&#39; trong &#39;kWh&#39;" in vi
    assert "&#39;line1/press2/kwh&#39; đã được dùng ở nhà máy này" in vi
    assert "chỉ tag trạng thái mới có tên trạng thái" in vi
    en = client.post(new_tag + "en", data=form, follow_redirects=False).text
    assert "unknown unit &#39;kWh&#39; in &#39;kWh&#39;" in en
    assert "only state tags have state names" in en
    api = client.post(
        "/api/v1/sites/a1/assets/tags",
        json={"path": "line1/press2/temp", "unit": "kWh", "kind": "gauge"},
        headers=_auth(world),
    )
    assert api.json()["error"]["fields"]["unit"].startswith(
        "unknown unit 'kWh'"
    )  # the API: English
