"""Merging and splitting conversations in Chromium: from the list, from a conversation with the
keyboard, and from a message's menu."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.conftest import ARTIFACTS, Desk, live, sign_in


async def _twice(desk: Desk, name: str, address: str, first: str, second: str) -> tuple[int, int]:
    """Two open conversations of one customer (the first was closed when the second came)."""
    a = int((await desk.customer_writes(first, name=name, address=address))["conversation_id"])
    await desk.change(a, status="closed")
    b = int((await desk.customer_writes(second, name=name, address=address))["conversation_id"])
    await desk.change(a, status="open")
    assert a != b
    return a, b


async def test_merge_selected_conversations_from_the_list(page: Page, desk: Desk) -> None:
    a, b = await _twice(
        desk,
        "Maria Jensen",
        "maria.jensen@example.net",
        "Hi, our fiber connection has been down since 7am.",
        "It is still down, and now the phone line too.",
    )
    ref_a = (await desk.conversation(a))["ref"]
    ref_b = (await desk.conversation(b))["ref"]
    await sign_in(page)
    await live(page)
    await page.locator(f'li.row[data-id="{a}"] .row-select').check()
    await page.locator(f'li.row[data-id="{b}"] .row-select').check()
    bar = page.locator("#merge-bar")
    await expect(bar).to_be_visible()
    await expect(bar).to_contain_text("2 selected")
    await bar.get_by_role("button", name="Merge…").click()
    dialog = page.locator("#merge-dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label(re.compile(f"#{ref_a}")).check()
    await dialog.get_by_role("button", name="Merge", exact=True).click()
    await page.wait_for_url(f"**/inbox/conversations/{a}")
    timeline = page.locator("#timeline-items")
    await expect(timeline).to_contain_text("It is still down, and now the phone line too.")
    await expect(
        timeline.locator("li.tl-event", has_text=f"merged #{ref_b} into this conversation")
    ).to_have_count(1)
    # The merged conversation's page leads to the one that holds its messages now.
    await page.goto(f"/inbox/conversations/{b}")
    await page.wait_for_url(f"**/inbox/conversations/{a}")
    await page.screenshot(path=ARTIFACTS / "merged.png")


async def test_merge_into_another_by_keyboard_then_split_from_a_message(
    page: Page, desk: Desk
) -> None:
    a, b = await _twice(
        desk,
        "Jonas Weber",
        "jonas@example.org",
        "Hello, I was charged twice for November.",
        "Also: how do I move my subscription to a new address?",
    )
    ref_a = (await desk.conversation(a))["ref"]
    await sign_in(page)
    await page.goto(f"/inbox/conversations/{b}")
    await live(page)
    await page.locator("#timeline").click()
    await page.keyboard.press("m")
    dialog = page.locator("#merge-dialog")
    await expect(dialog).to_be_visible()
    # The same customer's other conversations are offered first.
    await dialog.get_by_label(re.compile(f"#{ref_a}")).check()
    await dialog.get_by_role("button", name="Merge", exact=True).click()
    await page.wait_for_url(f"**/inbox/conversations/{a}")
    moved = page.locator("#timeline-items li.tl-in", has_text="move my subscription")
    await expect(moved).to_have_count(1)

    # The second question deserves its own conversation again: split it off from its menu.
    await moved.locator("summary[aria-label='Message actions']").click()
    await moved.get_by_role("button", name="Split from here into a new conversation").click()
    await page.wait_for_url(
        lambda url: (
            re.search(r"/inbox/conversations/\d+$", url) is not None
            and not url.endswith(f"/conversations/{a}")
        )
    )
    new_id = int(page.url.rsplit("/", 1)[1])
    assert new_id not in (a, b)
    timeline = page.locator("#timeline-items")
    await expect(timeline).to_contain_text("how do I move my subscription")
    await expect(timeline).not_to_contain_text("charged twice")
    await expect(timeline.locator("li.tl-event", has_text=f"from #{ref_a}")).to_have_count(1)
    new = await desk.conversation(new_id)
    assert new["contact"]["name"] == "Jonas Weber" and new["inbox_id"] == desk.inbox["id"]
