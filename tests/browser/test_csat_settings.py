"""The CSAT survey settings form of an inbox in Chromium: from the inbox list, saved through
the API, shown again after a reload."""

from __future__ import annotations

from playwright.async_api import Page, expect

from hub.db.engine import connection_pool
from tests.browser.conftest import ARTIFACTS, Desk, sign_in
from tests.conftest import make_agent


async def test_the_form_in_chromium(page: Page, desk: Desk) -> None:
    await make_agent("csat-admin@example.com", "csat admin password 1", role="admin")
    await sign_in(page, "csat-admin@example.com", "csat admin password 1")
    name = await connection_pool().fetchval(
        "SELECT name FROM inbox WHERE id = $1", desk.inbox["id"]
    )
    await page.goto("/admin/inboxes")
    link = page.get_by_role("link", name=f"CSAT survey of {name}")
    await expect(link).to_have_text("Off")
    await link.click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    await page.get_by_label("Send a survey").check()
    await page.get_by_label("Delay (minutes)").fill("30")
    await page.get_by_label("Answers accepted for (hours)").fill("72")
    await page.get_by_label("Question").fill("How did we do today?")
    await page.get_by_role("button", name="Save survey settings").click()
    await expect(page.locator("#csat-saved")).to_contain_text("30 minutes after each resolution")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "csat-settings.png")
    row = await connection_pool().fetchrow(
        "SELECT enabled, delay_minutes, window_hours, question FROM csat_setting WHERE inbox = $1",
        desk.inbox["id"],
    )
    assert tuple(row) == (True, 30, 72, "How did we do today?")
    await page.reload()
    await expect(page.get_by_label("Send a survey")).to_be_checked()
    await expect(page.get_by_label("Delay (minutes)")).to_have_value("30")
    await page.get_by_label("Send a survey").uncheck()
    await page.get_by_role("button", name="Save survey settings").click()
    await expect(page.locator("#csat-saved")).to_have_text("Saved: no surveys are sent.")
    await page.goto("/admin/inboxes")
    await expect(link).to_have_text("Off")
    assert (
        await desk.client.get(f"/api/v1/inboxes/{desk.inbox['id']}/csat", headers=desk.headers)
    ).json()["window_hours"] == 72
