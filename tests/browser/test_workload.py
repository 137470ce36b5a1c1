"""The workload page in Chromium: per team and per agent, and it follows the live events (an
agent going away, a conversation assigned through the API) without a reload."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from hub.routing import availability
from tests.browser.conftest import AGENT_PASSWORD, Desk, live, sign_in
from tests.conftest import eventually, make_agent


async def test_the_workload_follows_availability_and_assignments(page: Page, desk: Desk) -> None:
    await desk.round_robin_team(max_open=2)
    first = await desk.customer_writes(
        "My router blinks red.", name="Jonas Weber", address="jonas@example.com"
    )
    first_id = int(first["conversation_id"])

    async def assigned() -> bool:
        return (await desk.conversation(first_id))["assignee_id"] == desk.agent_id

    await eventually(assigned)  # round robin, through the worker

    await make_agent("boss@example.com", AGENT_PASSWORD, role="admin")
    await sign_in(page, "boss@example.com")
    await page.get_by_role("link", name="Workload").click()
    await live(page)
    support = page.locator("#team-workload tr[data-team]", has_text="Support")
    alice = page.locator("#workload tr", has_text="Alice Agent")
    await expect(support.locator("[data-figure=waiting]")).to_have_text("0")
    await expect(support.locator("[data-figure=open]")).to_have_text("1")
    await expect(support.locator("[data-figure=available]")).to_have_text("1 of 1")
    await expect(support.locator("[data-figure=capacity]")).to_have_text("2")
    await expect(support.locator("[data-figure=free]")).to_have_text("1")
    await expect(alice.locator("[data-figure=availability]")).to_have_text("available")
    await expect(alice.locator("[data-figure=open]")).to_have_text("1")

    # Alice goes away: her conversation returns to the team queue (an agent.updated and a
    # conversation.updated event), and the page shows it as it happens.
    await availability.set_availability(desk.agent_id, "away")
    await expect(alice.locator("[data-figure=availability]")).to_have_text("away")
    await expect(alice.locator("[data-figure=open]")).to_have_text("0")
    await expect(support.locator("[data-figure=waiting]")).to_contain_text("1")
    await expect(support.locator("[data-figure=waiting]")).to_contain_text("oldest")
    await expect(support.locator("[data-figure=available]")).to_have_text("0 of 1")
    await expect(support.locator("[data-figure=free]")).to_have_text("0")

    # A new conversation waits too; then one is assigned by hand through the API.
    await desk.customer_writes("Invoice question", name="Mia Chen", address="mia@example.com")
    await expect(support.locator("[data-figure=waiting]")).to_contain_text("2")
    await desk.change(first_id, assignee_id=desk.agent_id)
    await expect(support.locator("[data-figure=waiting]")).to_contain_text("1")
    await expect(support.locator("[data-figure=open]")).to_have_text("1")
    await expect(alice.locator("[data-figure=open]")).to_have_text("1")
    # The figures were swapped in by the page's script, not by a reload (which would reset it).
    await expect(page.locator("body")).to_have_attribute(
        "data-workload-refreshes", re.compile(r"\d+")
    )
