"""Assessment pages through TestClient: wizard with autosave, results, review, goal, files."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.assessment.assessment_support import PNG
from tests.support import World, csrf_token, sign_in

HTMX = {"HX-Request": "true"}


def _start(client: TestClient, world: World, email_role: str = "member") -> tuple[str, str]:
    """Sign in, start an assessment through the form; return (assessment base URL, token)."""
    sign_in(client, world.users[email_role])
    client.cookies.set("lhos_lang", "en")
    token = csrf_token(client)
    started = client.post(
        f"/sites/{world.a1}/assessments",
        data={"pack": "lighthouse-os", "csrf_token": token},
        follow_redirects=False,
    )
    assert started.status_code == 303
    location = started.headers["location"]
    assert location.endswith("/steps/first")
    return location.removesuffix("/steps/first"), token


def _answer(client: TestClient, base: str, token: str, item: str, **fields: str) -> None:
    saved = client.post(f"{base}/items/{item}", data={"csrf_token": token, **fields}, headers=HTMX)
    assert saved.status_code == 200
    assert "Saved" in saved.text


def test_pages_overview_lists_only_visible_sites(client: TestClient, world: World) -> None:
    sign_in(client, world.users["member"])
    page = client.get("/assessments")
    assert page.status_code == 200
    assert f'href="/sites/{world.a1}/assessments"' in page.text
    assert f'href="/sites/{world.b1}/assessments"' not in page.text
    assert client.get(f"/sites/{world.b1}/assessments").status_code == 404


def test_pages_wizard_step_has_criteria_autosave_and_touch_sized_choices(
    client: TestClient, world: World
) -> None:
    base, _token = _start(client, world)
    step = client.get(f"{base}/steps/first")
    assert step.status_code == 200
    assert 'hx-trigger="change"' in step.text
    assert f'hx-post="{base}/items/standard_work"' in step.text
    assert 'name="met" value="standard_work.l1.1"' in step.text
    assert 'name="csrf_token"' in step.text
    assert 'class="choice"' in step.text  # labels are 44 px touch targets
    assert "chart-4.6.1" not in step.text  # Chart.js only where a chart is drawn
    nxt = client.get(f"{base}/steps/connected_flows")
    assert "synchronized_material_flow" in nxt.text
    assert client.get(f"{base}/steps/no_such_step").status_code == 422


def test_pages_autosave_returns_the_level_and_how_it_was_computed(
    client: TestClient, world: World
) -> None:
    base, token = _start(client, world)
    saved = client.post(
        f"{base}/items/standard_work",
        data={"csrf_token": token, "met": ["standard_work.l1.1"], "level_choice": ""},
        headers=HTMX,
    )
    assert saved.status_code == 200
    assert "Saved" in saved.text
    assert "How is this computed?" in saved.text
    assert "level 1 is missing" in saved.text
    plain = client.post(
        f"{base}/items/standard_work",
        data={"csrf_token": token, "level_choice": "2"},
        follow_redirects=False,
    )
    assert plain.status_code == 303
    assert plain.headers["location"].endswith("/steps/standard_work#item-standard_work")


def test_pages_bad_answer_shows_the_error_beside_the_field(
    client: TestClient, world: World
) -> None:
    base, token = _start(client, world)
    data = {"csrf_token": token, "level_choice": "2", "links": "intranet page"}
    partial = client.post(f"{base}/items/standard_work", data=data, headers=HTMX)
    assert partial.status_code == 200  # htmx swaps only successful responses
    span = re.search(r'<span[^>]*id="err-standard_work-links"[^>]*>([^<]*)</span>', partial.text)
    assert span is not None
    assert "http" in span.group(1)
    assert 'hx-swap-oob="true"' in partial.text
    page = client.post(f"{base}/items/standard_work", data=data)
    assert page.status_code == 422
    assert "Each link must be a full http:// or https:// address." in page.text


def test_pages_post_without_csrf_token_is_refused(client: TestClient, world: World) -> None:
    base, _token = _start(client, world)
    refused = client.post(f"{base}/items/standard_work", data={"level_choice": "2"})
    assert refused.status_code == 403


def test_pages_submit_then_results_show_chart_gaps_and_roadmap(
    client: TestClient, world: World
) -> None:
    base, token = _start(client, world)
    empty = client.post(f"{base}/submit", data={"csrf_token": token})
    assert empty.status_code == 422
    assert "Rate at least one capability before submitting." in empty.text
    _answer(client, base, token, "standard_work", level_choice="2", target="4")
    _answer(client, base, token, "built_in_quality", level_choice="1")
    done = client.post(f"{base}/submit", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    results = client.get(base)
    assert results.status_code == 200
    text = results.text
    assert "vendor/chart-4.6.1.umd.min.js" in text
    assert 'id="radar-data"' in text
    assert "Ranked #1" in text
    assert 'class="timeline"' in text
    assert "roadmap?format=csv" in text
    assert "roadmap?format=json" in text
    assert "Submit the assessment" not in text  # history is read-only
    step = client.get(f"{base}/steps/first")
    assert "read-only" in step.text
    assert "hx-post" not in step.text


def test_pages_results_speak_vietnamese(client: TestClient, world: World) -> None:
    base, token = _start(client, world)
    _answer(client, base, token, "standard_work", level_choice="2")
    client.cookies.set("lhos_lang", "vi")
    page = client.get(base)
    assert '<html lang="vi">' in page.text
    assert "Xếp hạng #1" in page.text
    assert "Khoảng cách được xếp hạng theo tác động kỳ vọng" in page.text


def test_pages_assessor_reviews_through_the_form_and_member_cannot(
    client: TestClient, world: World
) -> None:
    base, token = _start(client, world)
    _answer(client, base, token, "standard_work", level_choice="3")
    client.post(f"{base}/submit", data={"csrf_token": token})
    refused = client.post(f"{base}/review", data={"csrf_token": token, "action": "complete"})
    assert refused.status_code == 403
    client.cookies.clear()
    sign_in(client, world.users["assessor"])
    client.cookies.set("lhos_lang", "en")
    token = csrf_token(client)
    page = client.get(base)
    assert "Agree with the other levels and complete the review" in page.text
    adjust = {"csrf_token": token, "action": "adjust", "item_id": "standard_work", "level": "2"}
    missing = client.post(f"{base}/review", data={**adjust, "comment": ""})
    assert missing.status_code == 422
    assert "Say why the level changes." in missing.text
    ok = client.post(
        f"{base}/review", data={**adjust, "comment": "No takt."}, follow_redirects=False
    )
    assert ok.status_code == 303
    client.post(f"{base}/review", data={"csrf_token": token, "action": "complete"})
    after = client.get(base).text
    assert "No takt." in after
    assert 'class="level-badge reviewed">2<' in after
    assert "complete the review" not in after


def test_pages_goal_form_keeps_typed_values_on_error(client: TestClient, world: World) -> None:
    sign_in(client, world.users["member"])
    client.cookies.set("lhos_lang", "en")
    token = csrf_token(client)
    form = client.get(f"/sites/{world.a1}/goal", params={"pack": "lighthouse-os"})
    assert 'name="kpi.defect_rate"' in form.text
    assert 'name="cost.quality"' in form.text
    data = {"csrf_token": token, "pack": "lighthouse-os", "kpi.oee": "-3", "capacity": "2"}
    bad = client.post(f"/sites/{world.a1}/goal", data=data)
    assert bad.status_code == 422
    assert "Weights must be numbers from 0 to 100." in bad.text
    assert 'value="-3"' in bad.text
    good = client.post(
        f"/sites/{world.a1}/goal",
        data={**data, "kpi.oee": "3", "next": "/assessments"},
        follow_redirects=False,
    )
    assert (good.status_code, good.headers["location"]) == (303, "/assessments")
    assert 'value="3.0"' in client.get(f"/sites/{world.a1}/goal").text
    siri = client.get(f"/sites/{world.a1}/goal", params={"pack": "siri"})
    assert 'name="horizon"' in siri.text


def test_pages_evidence_upload_download_and_refusal(client: TestClient, world: World) -> None:
    base, token = _start(client, world)
    uploaded = client.post(
        f"{base}/items/standard_work/files",
        data={"csrf_token": token},
        files={"file": ("board.png", PNG, "image/png")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    step = client.get(f"{base}/steps/standard_work").text
    link = re.search(rf'href="({base}/files/\d+)">board.png', step)
    assert link is not None
    download = client.get(link.group(1))
    assert download.content == PNG
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment")
    refused = client.post(
        f"{base}/items/standard_work/files",
        data={"csrf_token": token},
        files={"file": ("run.sh", b"#!/bin/sh", "text/x-sh")},
    )
    assert refused.status_code == 422
    assert "This file type is not accepted." in refused.text


def test_pages_compare_shows_progress(client: TestClient, world: World) -> None:
    base, token = _start(client, world)
    _answer(client, base, token, "standard_work", level_choice="1")
    client.post(f"{base}/submit", data={"csrf_token": token})
    second = client.post(
        f"/sites/{world.a1}/assessments", data={"pack": "lighthouse-os", "csrf_token": token}
    )
    later = second.url.path.removesuffix("/steps/first")
    _answer(client, later, token, "standard_work", level_choice="3")
    first_id, second_id = base.rsplit("/", 1)[1], later.rsplit("/", 1)[1]
    page = client.get(
        f"/sites/{world.a1}/assessments/compare", params={"a": first_id, "b": second_id}
    )
    assert page.status_code == 200
    assert '<span class="delta-up">+2</span>' in page.text
