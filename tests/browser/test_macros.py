"""Macros in Chromium: "/" in the composer opens a fuzzy picker, the chosen macro's rendered
text shows in the composer, and sending it delivers that text and runs the macro's actions."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import ARTIFACTS, Desk, live, sign_in
from tests.conftest import eventually

SLOW = 20_000


async def test_pick_a_macro_with_slash_preview_and_send(page: Page, desk: Desk) -> None:
    for name, body, actions in (
        ("Greeting", "Hello {{ contact.name }}!", []),
        (
            "Router restart",
            "Hi {{ contact.first_name }}, please restart your router (#{{ conversation.ref }})."
            " — {{ agent.first_name }}",
            [{"type": "tag", "tags": ["router"]}, {"type": "status", "status": "pending"}],
        ),
    ):
        response = await desk.client.post(
            "/api/v1/macros",
            json={"name": name, "body": body, "actions": actions, "visibility": "everyone"},
            headers=desk.headers,
        )
        assert response.status_code == 201, response.text
    message = await desk.customer_writes(
        "My internet is down", name="Maria Jensen", address="maria@example.com"
    )
    cid = int(message["conversation_id"])
    ref = (await desk.conversation(cid))["ref"]
    await sign_in(page)
    await page.goto(f"/inbox/conversations/{cid}")
    await live(page)
    composer = page.get_by_label("Your message")
    await composer.click()
    await composer.press_sequentially("/rtr")  # fuzzy: "Router restart"
    options = page.locator("#macro-options [role=option]")
    await expect(options.first).to_contain_text("Router restart")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "macro-picker.png")
    await composer.press("Enter")
    preview = f"Hi Maria, please restart your router (#{ref}). — Alice"
    await expect(composer).to_have_value(preview)
    await expect(page.locator("#composer-macro")).to_contain_text("tag router")
    await expect(page.locator("#macro-options")).to_be_hidden()
    await composer.press("End")
    await composer.press_sequentially(" Thanks!")
    await page.get_by_role("button", name="Send").click()

    reply = page.locator("#timeline-items li.tl-out").last
    await expect(reply).to_contain_text(preview + " Thanks!")
    await expect(composer).to_have_value("")
    await expect(page.locator("#composer-macro")).to_be_hidden()

    async def delivered() -> list[str]:
        return [p["message"]["text"] for p in desk.receiver.stored.values()]

    assert await eventually(delivered, timeout=30) == [preview + " Thanks!"]
    await expect(reply.locator(".status")).to_have_text("sent", timeout=SLOW)

    async def acted() -> bool:
        conversation = await desk.conversation(cid)
        return conversation["tags"] == ["router"] and conversation["status"] == "pending"

    await eventually(acted)
    # Escape closes the picker and leaves the text alone; in a note it does not open.
    await composer.press_sequentially("/gre")
    await expect(options.first).to_contain_text("Greeting")
    await composer.press("Escape")
    await expect(page.locator("#macro-options")).to_be_hidden()
    await expect(composer).to_have_value("/gre")
