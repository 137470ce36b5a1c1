"""Availability in Chromium: the agent switches it in the top bar, and away returns their
conversations to the team queue."""

from __future__ import annotations

from playwright.async_api import Page, expect

from hub.db.engine import connection_pool
from tests.browser.conftest import Desk, live, sign_in
from tests.conftest import eventually


async def test_switching_to_away_in_the_top_bar(page: Page, desk: Desk) -> None:
    pool = connection_pool()
    await desk.round_robin_team()
    message = await desk.customer_writes(
        "Can you move my installation to Friday?", name="Jonas Weber", address="jonas@example.com"
    )
    cid = int(message["conversation_id"])

    async def assigned() -> bool:
        return (await desk.conversation(cid))["assignee_id"] == desk.agent_id

    await eventually(assigned)  # round robin, through the worker
    await sign_in(page)
    await live(page)
    switch = page.get_by_label("Availability")
    await expect(switch).to_have_value("available")
    await switch.select_option("away")

    async def away() -> bool:
        value = await pool.fetchval("SELECT availability FROM agent WHERE id = $1", desk.agent_id)
        return bool(value == "away")

    await eventually(away)
    assert (await desk.conversation(cid))["assignee_id"] is None
    await page.reload()
    await expect(page.get_by_label("Availability")).to_have_value("away")
    history = await desk.client.get(
        f"/api/v1/conversations/{cid}/assignments", headers=desk.headers
    )
    assert [h["by_type"] for h in history.json()] == ["policy", "agent"]
