"""The SLA badge in Chromium: it counts down, and turns amber then red as the deadline nears."""

from __future__ import annotations

import datetime as dt
import re

from playwright.async_api import Page, expect

from hub.system import clock
from tests.browser.conftest import ARTIFACTS, Desk, live, sign_in
from tests.conftest import eventually, run_job


async def _sla_policy(desk: Desk, minutes: int) -> None:
    api, headers = desk.client, desk.headers
    policy = await api.post(
        "/api/v1/sla-policies",
        json={"name": "Chat", "targets": {"default": {"first_response": minutes}}},
        headers=headers,
    )
    assert policy.status_code == 201, policy.text
    response = await api.put(
        f"/api/v1/inboxes/{desk.inbox['id']}/sla-policy",
        json={"policy_id": policy.json()["id"]},
        headers=headers,
    )
    assert response.status_code == 204


async def test_the_badge_counts_down_and_warns_then_breaches(page: Page, desk: Desk) -> None:
    await _sla_policy(desk, minutes=10)
    message = await desk.customer_writes(
        "Our office line is dead.", name="Maria Jensen", address="maria@example.net"
    )
    cid = int(message["conversation_id"])

    async def tracked() -> bool:
        sla = (await desk.conversation(cid)).get("sla") or {}
        return sla.get("first_response_status") == "running"

    await eventually(tracked)
    await sign_in(page)
    await live(page)
    badge = page.locator(f"#rows li.row[data-id='{cid}'] .sla-badge")
    await expect(badge).to_have_class(re.compile(r"\bsla-ok\b"))
    await expect(badge).to_contain_text(re.compile(r"^\s*(9m|10m) left"))

    # Eight and a half minutes later (the hub's clock, not a sleep): amber, in the warning window.
    clock.advance(dt.timedelta(minutes=8, seconds=30))
    await run_job("sla_sweep")
    await page.reload()
    await live(page)
    await expect(badge).to_have_class(re.compile(r"\bsla-warning\b"))
    await expect(badge).to_contain_text(re.compile(r"^\s*1m left|^\s*\d+s left"))

    # Past the deadline: the sweep announces the breach, the live event re-renders the row red,
    # and the conversation's SLA panel names the target and its outcome.
    clock.advance(dt.timedelta(minutes=3))
    await run_job("sla_sweep")
    await expect(badge).to_have_class(re.compile(r"\bsla-breached\b"), timeout=15_000)
    await page.goto(f"/inbox/conversations/{cid}")
    await live(page)
    panel = page.locator("#sla-panel")
    await expect(panel).to_contain_text("Chat")
    await panel.locator("summary").click()
    await expect(panel.locator("tr[data-target='first_response']")).to_contain_text("breached")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "sla.png")
