"""The live factory dashboard and the calendar / product master pages."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lighthouse_os.app import create_app
from lighthouse_os.settings import Settings
from tests.support import World, csrf_token, sign_in


@pytest.fixture
def browser(factory_site: Settings, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(factory_site)) as client:
        sign_in(client, world.users["member"])
        yield client


def test_dashboard_polls_its_live_partial_every_second(browser: TestClient, world: World) -> None:
    page = browser.get(f"/sites/{world.a1}/kpi", params={"period": "day"})
    assert page.status_code == 200
    assert 'hx-trigger="every 1s"' in page.text
    assert f'hx-get="/sites/{world.a1}/kpi/live?period=day"' in page.text
    assert "vendor/chart-4.6.1.umd.min.js" in page.text


@pytest.mark.parametrize("period", ["shift", "day", "month"])
def test_live_partial_shows_kpis_with_their_inputs(
    browser: TestClient, world: World, period: str
) -> None:
    live = browser.get(f"/sites/{world.a1}/kpi/live", params={"period": period})
    assert live.status_code == 200
    assert "<html" not in live.text  # a partial, not a page
    for text in ("line-1/cnc-1", "line-1/press-2", "tCO2/MWh", "(official)", "<details"):
        assert text in live.text
    assert "Planned busy time (PBT)" in live.text or "Thời gian bận theo kế hoạch" in live.text


def test_live_partial_is_rendered_once_per_board_and_locale(
    browser: TestClient, world: World
) -> None:
    url = f"/sites/{world.a1}/kpi/live"
    state = browser.app.state  # type: ignore[attr-defined]
    english = browser.get(url, params={"period": "day", "lang": "en"})
    ((key, (_seen, board)),) = state.kpi_boards.items()
    state.kpi_boards[key] = (time.monotonic() + 3600, board)  # the board stays current
    vietnamese = browser.get(url, params={"period": "day", "lang": "vi"})
    assert "Planned busy time (PBT)" in english.text
    assert "Planned busy time (PBT)" not in vietnamese.text
    html_key = (*key, "en")
    assert state.kpi_live_html[html_key] == (board, english.content)
    state.kpi_live_html[html_key] = (board, b"<p>rendered before</p>")
    assert browser.get(url, params={"period": "day", "lang": "en"}).text == "<p>rendered before</p>"
    assert browser.get(url, params={"period": "day", "lang": "vi"}).content == vietnamese.content
    state.kpi_boards.clear()  # a new board is rendered again
    assert (
        "Planned busy time (PBT)" in browser.get(url, params={"period": "day", "lang": "en"}).text
    )


def test_kpi_index_lists_the_sites_the_caller_may_read(browser: TestClient, world: World) -> None:
    page = browser.get("/kpi")
    assert f"/sites/{world.a1}/kpi" in page.text
    assert f"/sites/{world.b1}/kpi" not in page.text


def _bad_start_form(browser: TestClient) -> dict[str, str]:
    """One shift whose start is not HH:MM."""
    return {
        "csrf_token": csrf_token(browser),
        "timezone": "Asia/Ho_Chi_Minh",
        "name_0": "A",
        "start_0": "6am",
        "end_0": "14:00",
        "workday": "0",
    }


def test_calendar_form_shows_the_error_beside_the_field(browser: TestClient, world: World) -> None:
    form = _bad_start_form(browser)
    response = browser.post(f"/sites/{world.a1}/kpi/calendar", data=form)
    assert response.status_code == 422
    assert 'class="field-error">shifts.0.start' in response.text


def test_calendar_form_saves_and_redirects(browser: TestClient, world: World) -> None:
    form = {
        "csrf_token": csrf_token(browser),
        "timezone": "Asia/Ho_Chi_Minh",
        "name_0": "N",
        "start_0": "22:00",
        "end_0": "06:00",
        "break_start_0": "02:00",
        "break_end_0": "02:30",
        "workday": ["0", "1"],
    }
    response = browser.post(f"/sites/{world.a1}/kpi/calendar", data=form, follow_redirects=False)
    assert response.status_code == 303
    calendar = browser.get(f"/api/v1/sites/{world.a1}/kpi/calendar").json()
    assert calendar["shifts"] == [
        {
            "name": "N",
            "start": "22:00",
            "end": "06:00",
            "breaks": [{"start": "02:00", "end": "02:30", "reason": ""}],
        }
    ]
    assert calendar["workdays"] == [0, 1]


def test_product_form_refuses_a_bad_cycle_time(browser: TestClient, world: World) -> None:
    form = {
        "csrf_token": csrf_token(browser),
        "machine": "line-1/cnc-1",
        "code": "Z",
        "ideal_cycle_time_s": "-3",
    }
    response = browser.post(f"/sites/{world.a1}/kpi/products", data=form)
    assert response.status_code == 422
    assert "field-error" in response.text
    form["ideal_cycle_time_s"] = "12.5"
    assert (
        browser.post(
            f"/sites/{world.a1}/kpi/products", data=form, follow_redirects=False
        ).status_code
        == 303
    )
    settings = browser.get(f"/sites/{world.a1}/kpi/settings")
    assert "Z" in settings.text
    assert "12,5" in settings.text


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("vi", ["không đúng định dạng", "tên ca không được trùng nhau"]),
        ("en", ["not in the expected format", "shift names must be unique"]),
    ],
)
def test_calendar_form_errors_are_in_the_visitors_language(
    browser: TestClient, world: World, lang: str, expected: list[str]
) -> None:
    form = _bad_start_form(browser)
    url = f"/sites/{world.a1}/kpi/calendar?lang={lang}"
    assert expected[0] in browser.post(url, data=form).text
    twice = {**form, "start_0": "06:00", "name_1": "A", "start_1": "14:00", "end_1": "22:00"}
    assert expected[1] in browser.post(url, data=twice).text
    mars = {**form, "start_0": "06:00", "timezone": "Mars/Olympus"}
    answer = browser.post(url, data=mars).text
    assert ("không nhận ra múi giờ" if lang == "vi" else "unknown time zone") in answer
