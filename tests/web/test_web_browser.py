"""A person's view: the demo shell renders in Chromium, in Vietnamese, and switches to English."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from lighthouse_os.app import create_app
from lighthouse_os.settings import Settings
from tests.browser_support import CHROMIUM_ARGS, chromium_path, live_server

pytestmark = pytest.mark.browser


def test_browser_home_switches_from_vietnamese_to_english(
    initialised_settings: Settings,
) -> None:
    executable = chromium_path()
    with live_server(create_app(initialised_settings)) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/")
            assert page.locator("html").get_attribute("lang") == "vi"
            assert page.locator("h1").inner_text().startswith("Chuyển đổi công nghiệp")
            page.get_by_role("link", name="EN").click()
            page.wait_for_url(f"{base}/")
            assert page.locator("html").get_attribute("lang") == "en"
            assert page.locator("h1").inner_text().startswith("Responsible industrial")
            assert page.evaluate("typeof htmx") == "object"
        finally:
            browser.close()
