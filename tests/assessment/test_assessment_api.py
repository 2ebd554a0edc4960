"""The assessment REST API through TestClient: workflow, tenancy, review, gaps, exports, goals."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import select

from lighthouse_os.auth.models import AuditEvent
from lighthouse_os.settings import Settings
from tests.assessment.assessment_support import sessions
from tests.support import World, csrf_token, sign_in

BASE = "/api/v1/sites/{site}/assessments"


def _bearer(client: TestClient, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _submitted(client: TestClient, world: World, answers: dict[str, dict[str, object]]) -> int:
    auth = _bearer(client, world.tokens["a1_write"])
    base = BASE.format(site=world.a1)
    created = client.post(base, json={"pack": "lighthouse-os"}, headers=auth)
    assert created.status_code == 201, created.text
    aid = int(created.json()["id"])
    for item, body in answers.items():
        saved = client.put(f"{base}/{aid}/answers/{item}", json=body, headers=auth)
        assert saved.status_code == 200, saved.text
    assert client.post(f"{base}/{aid}/submit", headers=auth).status_code == 200
    return aid


def test_api_frameworks_list_the_registered_versions(client: TestClient, world: World) -> None:
    found = client.get("/api/v1/frameworks", headers=_bearer(client, world.tokens["a1_read"]))
    assert [(r["pack_id"], r["version"], r["method"]) for r in found.json()] == [
        ("lighthouse-os", "1.0.0", "capability-levels"),
        ("siri", "1.0.0", "siri-bands"),
    ]
    assert client.get("/api/v1/frameworks").status_code == 401


def test_api_workflow_from_draft_to_explained_levels(client: TestClient, world: World) -> None:
    auth = _bearer(client, world.tokens["a1_write"])
    aid = _submitted(
        client,
        world,
        {
            "standard_work": {"level": 2, "target": 4, "confidence": "high"},
            "quick_changeover": {"met": ["quick_changeover.l1.1"]},
        },
    )
    detail = client.get(f"{BASE.format(site=world.a1)}/{aid}", headers=auth).json()
    assert (detail["status"], detail["pack_id"], detail["pack_version"]) == (
        "submitted",
        "lighthouse-os",
        "1.0.0",
    )
    answers = {a["item_id"]: a for a in detail["answers"]}
    assert (answers["standard_work"]["level"], answers["standard_work"]["mode"]) == (2, "picked")
    assert answers["quick_changeover"]["level"] == 0
    assert "level 1 is missing" in answers["quick_changeover"]["explanation"]["en"]
    principle = next(s for s in detail["scores"] if s["id"] == "adaptable_processes")
    assert principle["mean"] == 1.0
    assert "Mean of 2 assessed items" in principle["explanation"]["en"]
    late = client.put(
        f"{BASE.format(site=world.a1)}/{aid}/answers/standard_work", json={"level": 3}, headers=auth
    )
    assert late.status_code == 409


def test_api_bad_answer_is_422_naming_the_fields(client: TestClient, world: World) -> None:
    auth = _bearer(client, world.tokens["a1_write"])
    base = BASE.format(site=world.a1)
    aid = client.post(base, json={"pack": "lighthouse-os"}, headers=auth).json()["id"]
    bad = client.put(
        f"{base}/{aid}/answers/standard_work",
        json={"level": 7, "links": ["not a link"]},
        headers=auth,
    )
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"picked_level", "links"}


def test_api_foreign_site_and_its_assessments_are_404(client: TestClient, world: World) -> None:
    aid = _submitted(client, world, {"standard_work": {"level": 1}})
    foreign = _bearer(client, world.tokens["b1_write"])
    assert client.get(BASE.format(site=world.a1), headers=foreign).status_code == 404
    assert client.get(f"{BASE.format(site=world.a1)}/{aid}", headers=foreign).status_code == 404
    # an a1 assessment asked for under b1's own path is not found either
    assert client.get(f"{BASE.format(site=world.b1)}/{aid}", headers=foreign).status_code == 404


def test_api_assessor_reviews_and_member_cannot(client: TestClient, world: World) -> None:
    aid = _submitted(client, world, {"standard_work": {"level": 3}})
    url = f"{BASE.format(site=world.a1)}/{aid}/review"
    body = {
        "items": [{"item_id": "standard_work", "level": 2, "comment": "Not balanced to takt."}],
        "complete": True,
        "comment": "Checked on site.",
    }
    sign_in(client, world.users["member"])
    headers = {"X-CSRF-Token": csrf_token(client)}
    assert client.post(url, json=body, headers=headers).status_code == 403
    client.cookies.clear()
    sign_in(client, world.users["assessor"])
    reviewed = client.post(url, json=body, headers={"X-CSRF-Token": csrf_token(client)})
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "reviewed"
    detail = client.get(f"{BASE.format(site=world.a1)}/{aid}").json()
    answer = detail["answers"][0]
    assert (answer["level"], answer["reviewed_level"]) == (3, 2)
    assert answer["review_comment"] == "Not balanced to takt."


def test_api_review_without_csrf_header_is_refused(client: TestClient, world: World) -> None:
    aid = _submitted(client, world, {"standard_work": {"level": 3}})
    sign_in(client, world.users["assessor"])
    refused = client.post(f"{BASE.format(site=world.a1)}/{aid}/review", json={"complete": True})
    assert refused.status_code == 403


def test_api_gaps_rank_for_the_goal_with_explanations(client: TestClient, world: World) -> None:
    auth = _bearer(client, world.tokens["a1_write"])
    goal_url = f"/api/v1/sites/{world.a1}/goals/lighthouse-os"
    goal = {"kpi_weights": {"defect_rate": 3, "oee": 1}, "cost_profile": {"quality": 60}}
    assert client.put(goal_url, json=goal, headers=auth).status_code == 200
    assert client.get(goal_url, headers=auth).json()["kpi_weights"] == {"defect_rate": 3, "oee": 1}
    aid = _submitted(
        client, world, {"built_in_quality": {"level": 1}, "energy_management": {"level": 1}}
    )
    gaps = client.get(f"{BASE.format(site=world.a1)}/{aid}/gaps", headers=auth).json()
    assert [g["item_id"] for g in gaps] == ["built_in_quality", "energy_management"]
    assert gaps[0]["explanation"]["en"].startswith("Ranked #1")
    assert {f["factor"] for f in gaps[0]["factors"]} == {
        "kpi_relevance",
        "cost_relevance",
        "gap",
        "use_case_impact",
    }
    assert abs(sum(f["contribution"] for f in gaps[0]["factors"]) - gaps[0]["score"]) < 1e-3


def test_api_bad_goal_is_422_naming_the_fields(client: TestClient, world: World) -> None:
    bad = client.put(
        f"/api/v1/sites/{world.a1}/goals/lighthouse-os",
        json={"kpi_weights": {"oee": -2}, "capacity": 99},
        headers=_bearer(client, world.tokens["a1_write"]),
    )
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"kpi_weights", "capacity"}


def test_api_roadmap_exports_csv_and_json_and_audits_them(
    client: TestClient, world: World, initialised_settings: Settings
) -> None:
    auth = _bearer(client, world.tokens["a1_read"])
    aid = _submitted(client, world, {"standard_work": {"level": 1, "target": 3}})
    url = f"{BASE.format(site=world.a1)}/{aid}/roadmap"
    as_json = client.get(url, headers=auth)
    assert as_json.status_code == 200
    quarters = as_json.json()["quarters"]
    assert [s["to_level"] for q in quarters for s in q["steps"]] == [2, 3]
    assert quarters[0]["label"] != quarters[1]["label"]
    as_csv = client.get(url, params={"format": "csv", "lang": "en"}, headers=auth)
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert [(r["capability_id"], r["to_level"]) for r in rows] == [
        ("standard_work", "2"),
        ("standard_work", "3"),
    ]
    assert rows[0]["capability"] == "Standard work and line balancing"
    with sessions(initialised_settings) as session:
        exports = session.scalars(select(AuditEvent).where(AuditEvent.action == "export"))
        assert sorted(e.detail["format"] for e in exports) == ["csv", "json"]


def test_api_compare_two_assessments(client: TestClient, world: World) -> None:
    first = _submitted(client, world, {"standard_work": {"level": 1}})
    second = _submitted(client, world, {"standard_work": {"level": 3}})
    found = client.get(
        f"{BASE.format(site=world.a1)}/compare",
        params={"a": second, "b": first},
        headers=_bearer(client, world.tokens["a1_read"]),
    ).json()
    assert (found["a"]["id"], found["b"]["id"]) == (first, second)
    assert found["rows"] == [
        {
            "item_id": "standard_work",
            "name": found["rows"][0]["name"],
            "a": 1,
            "b": 3,
            "delta": 2,
        }
    ]
