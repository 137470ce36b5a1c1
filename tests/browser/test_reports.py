"""The reports overview in Chromium: the vendored Chart.js draws every chart from the rollups."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from hub.demo.seed import DEMO_LOGINS, load_demo
from tests.browser.conftest import sign_in
from tests.conftest import run_job

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


async def test_the_overview_draws_its_charts(page: Page, client: httpx.AsyncClient) -> None:
    assert await load_demo() is True
    # Up to date now; the in-process worker's cron (every 10 s) may have applied part already,
    # so the count is checked on the page below, not on this run.
    await run_job("reports_rollup")
    email, password = DEMO_LOGINS["admin"]
    await page.set_viewport_size({"width": 1280, "height": 900})
    page.set_default_navigation_timeout(60_000)
    await sign_in(page, email, password)
    await page.get_by_role("link", name="Reports").click()
    await expect(page.locator("body")).to_have_attribute("data-charts-ready", "yes")
    for chart in ("chart-volume", "chart-backlog", "chart-frt", "chart-hours"):
        box = await page.locator(f"#{chart}").bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100, chart
    created = page.locator(".report-cards div").filter(has_text="Created").locator("dd")
    assert int(await created.inner_text()) > 150
    await page.screenshot(path=DOCS_IMAGES / "reports.png", full_page=True)

    await page.get_by_role("link", name="Agents", exact=True).last.click()
    await expect(page.locator(".report-table")).to_contain_text("Alice Agent")
    await page.get_by_role("link", name="SLA").click()
    await expect(page.locator("table").first).to_contain_text("first response")
