"""A member on a tablet, in Chromium: sign in, answer (autosaved), submit, see gaps and roadmap."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from lighthouse_os.app import create_app
from lighthouse_os.settings import Settings
from tests.browser_support import CHROMIUM_ARGS, chromium_path, live_server
from tests.support import PASSWORD, World

pytestmark = pytest.mark.browser


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/")


def _autosaved_level(page: Page, item: str, level: str) -> None:
    """The answer is saved by htmx on change; its status line shows the new level."""
    badge = page.locator(f"#status-{item} .level-badge")
    expect(badge).to_have_text(level)
    expect(page.locator(f"#status-{item} .saved")).to_be_visible()


def test_browser_member_goes_from_sign_in_to_a_submitted_assessment_with_gaps_and_roadmap(
    initialised_settings: Settings, world: World
) -> None:
    executable = chromium_path()
    with live_server(create_app(initialised_settings)) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 768}, has_touch=True)
            _sign_in(page, base, world.users["member"])
            page.locator("nav.mainnav a[href='/assessments']").tap()
            page.locator(f"a[href='/sites/{world.a1}/assessments']").tap()
            page.locator("form:has(input[name=pack][value='lighthouse-os']) button").tap()
            page.wait_for_url(re.compile(r".*/assessments/\d+/steps/first$"))

            # pick a level directly, set a target: each change is saved by htmx
            page.locator("#item-standard_work input[name=level_choice][value='2']").tap()
            _autosaved_level(page, "standard_work", "2")
            page.select_option("#target-standard_work", "4")
            _autosaved_level(page, "standard_work", "2")
            # tick every level-1 criterion of another capability: levels are cumulative
            for box in page.locator(
                "#item-built_in_quality input[name=met][value^='built_in_quality.l1.']"
            ).all():
                box.tap()
            _autosaved_level(page, "built_in_quality", "1")

            page.reload()  # the answers were stored, not just shown
            expect(
                page.locator("#item-standard_work input[value='2'][name=level_choice]")
            ).to_be_checked()

            page.locator("nav .steps li:last-child a").tap()  # results
            page.locator("form[action$='/submit'] button").tap()
            page.wait_for_url(re.compile(r".*/assessments/\d+$"))
            expect(page.locator("h1 .tag.submitted")).to_be_visible()

            first_gap = page.locator("#gaps table.gap-table > tbody > tr").first
            expect(first_gap).to_contain_text("#1")
            expect(first_gap).to_contain_text("Xếp hạng #1")
            assert page.locator("#gaps table.gap-table > tbody > tr").count() == 2
            expect(page.locator("#roadmap .quarter").first).to_be_visible()
            assert page.locator("#roadmap .step-card").count() >= 3  # 2 -> 3 -> 4, and 1 -> 2
            assert page.evaluate("typeof Chart") == "function"
            assert page.evaluate("Chart.getChart('radar') !== undefined")
        finally:
            browser.close()
