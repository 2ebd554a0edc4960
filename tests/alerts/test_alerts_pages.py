"""Alert pages: the list, the detail with HTMX actions, and the rules page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lighthouse_os.alerts import rulebook, service
from lighthouse_os.alerts.rules import AlertCleared, AlertRaised
from lighthouse_os.alerts.schemas import RuleIn
from tests.alerts.conftest import T0, Plant
from tests.support import csrf_token, sign_in


def _alert(plant: Plant, *, resolved: bool = False) -> int:
    with plant.sessions() as session:
        raised = AlertRaised(
            "detector:7", "line-1/press-1", T0, 3.2, signals=("temperature_c", "current_a")
        )
        events = (
            [raised, AlertCleared("detector:7", "line-1/press-1", T0, 0.4)]
            if resolved
            else [raised]
        )
        found = service.record_events(
            session, plant.world.a1, events, now=T0, titles={"detector:7": "Press 1 health"}
        )
        session.commit()
        return found[0][0].id


@pytest.fixture(autouse=True)
def _english(client: TestClient) -> None:
    client.cookies.set("lhos_lang", "en")


def _htmx(client: TestClient) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": csrf_token(client)}


def test_alert_list_shows_active_alerts_with_links(client: TestClient, plant: Plant) -> None:
    alert_id = _alert(plant)
    sign_in(client, "member@a.vn")
    page = client.get("/sites/a1/alerts")
    assert page.status_code == 200
    assert f'href="/sites/a1/alerts/{alert_id}"' in page.text
    assert "Press 1 health" in page.text
    resolved = client.get("/sites/a1/alerts?status=resolved")
    assert "Press 1 health" not in resolved.text


def test_alerts_index_counts_active_alerts_per_site(client: TestClient, plant: Plant) -> None:
    _alert(plant)
    sign_in(client, "member@a.vn")
    page = client.get("/alerts")
    assert '<span class="badge">1</span>' in page.text


def test_alert_detail_names_the_contributing_signals(client: TestClient, plant: Plant) -> None:
    alert_id = _alert(plant)
    sign_in(client, "member@a.vn")
    page = client.get(f"/sites/a1/alerts/{alert_id}")
    assert "<code>temperature_c</code>, <code>current_a</code>" in page.text
    assert "/acknowledge" in page.text


def test_alert_detail_in_vietnamese(client: TestClient, plant: Plant) -> None:
    alert_id = _alert(plant)
    sign_in(client, "member@a.vn")
    client.cookies.set("lhos_lang", "vi")
    page = client.get(f"/sites/a1/alerts/{alert_id}")
    assert "Xác nhận" in page.text
    assert "Tín hiệu đóng góp nhiều nhất" in page.text


def test_alert_detail_has_no_actions_for_a_reader(client: TestClient, plant: Plant) -> None:
    alert_id = _alert(plant)
    sign_in(client, "assessor@a.vn")
    page = client.get(f"/sites/a1/alerts/{alert_id}")
    assert page.status_code == 200
    assert "/acknowledge" not in page.text
    answer = client.post(f"/sites/a1/alerts/{alert_id}/acknowledge", headers=_htmx(client))
    assert answer.status_code == 403


def test_htmx_actions_return_the_refreshed_card(client: TestClient, plant: Plant) -> None:
    alert_id = _alert(plant)
    sign_in(client, "member@a.vn")
    url = f"/sites/a1/alerts/{alert_id}"
    acked = client.post(f"{url}/acknowledge", headers=_htmx(client))
    assert acked.status_code == 200
    assert acked.text.lstrip().startswith('<section class="card" id="alert-card">')
    assert "acknowledged" in acked.text
    assert "/acknowledge" not in acked.text
    assigned = client.post(f"{url}/assign", data={"assignee": "admin@a.vn"}, headers=_htmx(client))
    assert "assigned to admin@a.vn" in assigned.text
    commented = client.post(f"{url}/comment", data={"text": "checking"}, headers=_htmx(client))
    assert "checking" in commented.text
    resolved = client.post(f"{url}/resolve", data={"note": "fan cleaned"}, headers=_htmx(client))
    assert "fan cleaned" in resolved.text
    assert "/resolve" not in resolved.text


def test_plain_form_action_redirects_to_the_alert(client: TestClient, plant: Plant) -> None:
    alert_id = _alert(plant)
    sign_in(client, "member@a.vn")
    answer = client.post(
        f"/sites/a1/alerts/{alert_id}/acknowledge",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert (answer.status_code, answer.headers["location"]) == (303, f"/sites/a1/alerts/{alert_id}")


def test_empty_comment_is_shown_beside_the_field(client: TestClient, plant: Plant) -> None:
    alert_id = _alert(plant)
    sign_in(client, "member@a.vn")
    answer = client.post(
        f"/sites/a1/alerts/{alert_id}/comment", data={"text": " "}, headers=_htmx(client)
    )
    assert answer.status_code == 422
    assert 'id="e-text"' in answer.text
    assert "a comment needs text" in answer.text


def test_acknowledging_a_resolved_alert_shows_why(client: TestClient, plant: Plant) -> None:
    alert_id = _alert(plant, resolved=True)
    sign_in(client, "member@a.vn")
    answer = client.post(f"/sites/a1/alerts/{alert_id}/acknowledge", headers=_htmx(client))
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text
    assert "not allowed" in answer.text


def test_rules_page_lists_rules_of_an_asset_type(client: TestClient, plant: Plant) -> None:
    with plant.sessions() as session:
        data = RuleIn(
            name="Press power",
            kind="threshold",
            scope="asset_type",
            asset_type="press",
            tag_key="power_kw",
            limit=150,
        )
        rulebook.create_rule(session, plant.site(session), data, actor=plant.actor(session))
    sign_in(client, "member@a.vn")
    page = client.get("/sites/a1/alerts/rules")
    assert page.status_code == 200
    assert "Press power" in page.text
    assert "<code>press</code>" in page.text


def test_refused_actions_say_why_in_the_visitors_language(client: TestClient, plant: Plant) -> None:
    alert_id = _alert(plant, resolved=True)
    sign_in(client, "member@a.vn")
    url = f"/sites/a1/alerts/{alert_id}"
    comment = client.post(f"{url}/comment?lang=vi", data={"text": " "}, headers=_htmx(client))
    assert "bình luận không được để trống" in comment.text
    assert "a comment needs text" not in comment.text
    acknowledge = client.post(f"{url}/acknowledge?lang=vi", headers=_htmx(client))
    assert "không được chuyển từ đã xử lý sang đã xác nhận" in acknowledge.text
    english = client.post(f"{url}/acknowledge?lang=en", headers=_htmx(client))
    assert "resolved → acknowledged is not allowed" in english.text
