"""The bell in Chromium: it counts up live, lists the notification, opens the conversation and
marks it read; and the composer's @mention picker sends a structured mention."""

from __future__ import annotations

from playwright.async_api import Page, expect

from hub.db.engine import connection_pool
from tests.browser.conftest import Desk, live, sign_in


async def test_the_bell_updates_live_and_opens_the_conversation(page: Page, desk: Desk) -> None:
    message = await desk.customer_writes(
        "The invoice is wrong.", name="Maria Jensen", address="maria@example.net"
    )
    cid = int(message["conversation_id"])
    await sign_in(page)
    await live(page)
    bell = page.locator("#bell-root")
    await expect(bell).to_have_attribute("data-unread", "0")
    await expect(page.locator("#bell-count")).to_be_hidden()

    # An admin assigns the conversation to Alice: the bell rings without a reload.
    await desk.change(cid, assignee_id=desk.agent_id)
    await expect(bell).to_have_attribute("data-unread", "1", timeout=15_000)
    await expect(page.locator("#bell-count")).to_have_text("1")
    await page.locator("#bell").click()
    item = page.locator("#bell-list li.bell-item.unread")
    await expect(item).to_have_count(1)
    await expect(item).to_contain_text("was assigned to you")
    await item.locator("a").click()
    await page.wait_for_url(f"**/inbox/conversations/{cid}")
    await live(page)
    await expect(bell).to_have_attribute("data-unread", "0")


async def test_mention_picker_sends_a_structured_mention(page: Page, desk: Desk) -> None:
    message = await desk.customer_writes(
        "Can I pay later?", name="Ole Hansen", address="ole@example.net"
    )
    cid = int(message["conversation_id"])
    await sign_in(page)
    await page.goto(f"/inbox/conversations/{cid}")
    await live(page)
    await page.get_by_label("Private note").check()
    text = page.locator("#composer-text")
    await text.click()
    await text.press_sequentially("Please check @Sa")
    option = page.locator("#mention-options li", has_text="Sam Carter")
    await expect(option).to_be_visible()
    await text.press("Enter")
    await expect(text).to_have_value("Please check @Sam Carter ")
    await page.locator("#composer-send").click()
    await expect(page.locator("#composer-text")).to_have_value("")
    admin = await connection_pool().fetchval("SELECT id FROM agent WHERE name = 'Sam Carter'")

    async def stored() -> object:
        return await connection_pool().fetchval(
            "SELECT meta->'mentions'->0->>'id' FROM message WHERE conversation = $1"
            " AND kind = 'note'",
            cid,
        )

    from tests.conftest import eventually

    assert await eventually(stored) == str(admin)
