"""REST API of alerts: rules, detectors, channels, and the alert lifecycle over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from lighthouse_os.alerts import service
from lighthouse_os.alerts.rules import AlertRaised
from tests.alerts.conftest import T0, Plant, machine_data
from tests.support import World

BASE = "/api/v1/sites/a1/alerts"


def _auth(world: World, token: str = "a1_write") -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[token]}"}


def _alert(plant: Plant, series: str = "line-1/press-1/power_kw") -> int:
    with plant.sessions() as session:
        raised = AlertRaised("rule:1", series, T0, 170.0)
        ((alert, _),) = service.record_events(
            session, plant.world.a1, [raised], now=T0, titles={"rule:1": "Power high"}
        )
        session.commit()
        return alert.id


def test_rules_api_creates_lists_updates_and_deletes(client: TestClient, plant: Plant) -> None:
    world = plant.world
    body = {
        "name": "Press power",
        "kind": "threshold",
        "scope": "asset_type",
        "asset_type": "press",
        "tag_key": "power_kw",
        "limit": 150,
        "hysteresis": 5,
    }
    created = client.post(f"{BASE}/rules", json=body, headers=_auth(world))
    assert created.status_code == 201
    rule = created.json()
    assert rule["series"] == ["line-1/press-1/power_kw", "line-1/press-2/power_kw"]
    listed = client.get(f"{BASE}/rules", headers=_auth(world, "a1_read")).json()
    assert [r["name"] for r in listed] == ["Press power"]
    changed = client.put(
        f"{BASE}/rules/{rule['id']}", json={**body, "limit": 170}, headers=_auth(world)
    )
    assert changed.json()["params"]["limit"] == 170
    assert client.delete(f"{BASE}/rules/{rule['id']}", headers=_auth(world)).status_code == 204
    assert client.get(f"{BASE}/rules", headers=_auth(world)).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "kind": "threshold", "tag": "line-1/press-1/nope", "limit": 1}, "tag"),
        (
            {
                "name": "x",
                "kind": "kpi",
                "kpi": "oee",
                "limit": 0.6,
                "scope": "machine",
                "machine": "line-9/m",
            },
            "machine",
        ),
    ],
)
def test_rules_api_names_the_field_at_fault(
    client: TestClient, plant: Plant, body: dict[str, object], field: str
) -> None:
    answer = client.post(f"{BASE}/rules", json=body, headers=_auth(plant.world))
    assert answer.status_code == 422
    assert field in answer.json()["error"]["fields"]


def test_rules_api_read_token_may_not_create(client: TestClient, plant: Plant) -> None:
    body = {"name": "x", "kind": "absence", "tag": "line-1/press-1/power_kw"}
    answer = client.post(f"{BASE}/rules", json=body, headers=_auth(plant.world, "a1_read"))
    assert answer.status_code == 403


def test_detector_api_trains_on_the_reference_period(client: TestClient, plant: Plant) -> None:
    machine_data(plant, T0, 360)
    body = {
        "name": "Press 1",
        "machine": "line-1/press-1",
        "columns": ["power_kw", "temperature_c", "current_a"],
        "resolution": "raw",
        "sensitivity": 1.5,
    }
    created = client.post(f"{BASE}/detectors", json=body, headers=_auth(plant.world))
    assert created.status_code == 201
    assert created.json()["trained_at"] is None
    window = {"train_from": T0.isoformat(), "train_to": (T0 + timedelta(hours=1)).isoformat()}
    trained = client.post(
        f"{BASE}/detectors/{created.json()['id']}/train", json=window, headers=_auth(plant.world)
    )
    assert trained.status_code == 200, trained.text
    assert trained.json()["fitted_columns"] == ["power_kw", "temperature_c", "current_a"]
    assert trained.json()["train_to"] == "2025-03-03T02:00:00Z"


def test_detector_api_refuses_a_period_without_data(client: TestClient, plant: Plant) -> None:
    body = {"name": "d", "machine": "line-1/press-1", "kind": "ewma", "columns": ["power_kw"]}
    detector = client.post(f"{BASE}/detectors", json=body, headers=_auth(plant.world)).json()
    window = {"train_from": T0.isoformat(), "train_to": (T0 + timedelta(hours=1)).isoformat()}
    answer = client.post(
        f"{BASE}/detectors/{detector['id']}/train", json=window, headers=_auth(plant.world)
    )
    assert answer.status_code == 422
    assert "10 reference samples" in answer.json()["error"]["message"]


def test_channels_api_and_delivery_log(client: TestClient, plant: Plant) -> None:
    body = {"name": "Ops", "kind": "webhook", "url": "https://hooks.example.vn/x"}
    created = client.post(f"{BASE}/channels", json=body, headers=_auth(plant.world))
    assert created.status_code == 201
    assert created.json()["config"] == {"url": "https://hooks.example.vn/x"}
    assert len(client.get(f"{BASE}/channels", headers=_auth(plant.world)).json()) == 1
    assert client.get(f"{BASE}/deliveries", headers=_auth(plant.world)).json() == []
    gone = client.delete(f"{BASE}/channels/{created.json()['id']}", headers=_auth(plant.world))
    assert gone.status_code == 204


def test_alert_lifecycle_over_the_api(client: TestClient, plant: Plant) -> None:
    alert_id = _alert(plant)
    url = f"{BASE}/{alert_id}"
    listed = client.get(BASE, params={"status": "open"}, headers=_auth(plant.world, "a1_read"))
    assert [a["title"] for a in listed.json()] == ["Power high"]
    acked = client.post(f"{url}/acknowledge", headers=_auth(plant.world))
    assert acked.json()["status"] == "acknowledged"
    assert client.post(f"{url}/acknowledge", headers=_auth(plant.world)).status_code == 409
    assigned = client.post(
        f"{url}/assign", json={"assignee": "member@a.vn"}, headers=_auth(plant.world)
    )
    assert assigned.json()["assignee"] == "member@a.vn"
    commented = client.post(
        f"{url}/comments", json={"text": "seal worn"}, headers=_auth(plant.world)
    )
    assert commented.status_code == 201
    resolved = client.post(f"{url}/resolve", json={"note": "replaced"}, headers=_auth(plant.world))
    detail = client.get(url, headers=_auth(plant.world, "a1_read")).json()
    assert resolved.json()["status"] == detail["status"] == "resolved"
    assert [c["text"] for c in detail["comments"]][-2:] == ["seal worn", "replaced"]
    assert detail["opened_at"] == "2025-03-03T01:00:00Z"


def test_alert_api_refuses_an_unknown_status_filter(client: TestClient, plant: Plant) -> None:
    answer = client.get(BASE, params={"status": "closed"}, headers=_auth(plant.world))
    assert answer.status_code == 422


def test_alert_of_another_site_is_404(client: TestClient, plant: Plant) -> None:
    alert_id = _alert(plant)
    answer = client.get(
        f"/api/v1/sites/b1/alerts/{alert_id}", headers=_auth(plant.world, "b1_write")
    )
    assert answer.status_code == 404
