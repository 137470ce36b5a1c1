"""Macros in Chromium: "/" in the composer opens a fuzzy picker, the chosen macro's rendered
text shows in the composer, and sending it delivers that text and runs the macro's actions."""

from __future__ import annotations

import msgspec
from playwright.async_api import Page, expect

from hub.db.engine import connection_pool
from tests.browser.conftest import ARTIFACTS, Desk, Problems, live, sign_in
from tests.conftest import eventually, make_agent

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


async def test_macros_admin_page_creates_and_edits(
    page: Page, desk: Desk, problems: Problems
) -> None:
    problems.allowed.append("422")  # the refused unknown variable, on purpose
    await sign_in(page)  # an agent: personal macros only
    await page.get_by_role("link", name="Macros").click()
    await expect(page.get_by_role("heading", name="Macros", level=1)).to_be_visible()
    await expect(page.get_by_label("Shared with")).to_have_value("personal")
    await page.get_by_label("Name").fill("Refund")
    await page.get_by_label("Text").fill("Hi {{ contact.nmae }}")
    await page.get_by_role("button", name="Create macro").click()
    await expect(page.locator("#macro-error")).to_contain_text("{{ contact.nmae }}")
    await page.get_by_label("Text").fill("Hi {{ contact.name }}, the refund is on its way.")
    await page.get_by_label("Add tags").fill("refund, billing")
    await page.get_by_label("Set status").select_option("resolved")
    await page.get_by_role("button", name="Create macro").click()
    row = page.locator("#macro-rows tr", has_text="Refund")
    await expect(row).to_contain_text("only you")
    listed = (await desk.client.get("/api/v1/macros?manageable=true", headers=desk.headers)).json()
    assert listed == []  # personal: not even an admin's list shows it
    await row.get_by_role("button", name="Edit Refund").click()
    await expect(page.get_by_label("Add tags")).to_have_value("refund, billing")
    await page.get_by_label("Name").fill("Refund sent")
    await page.get_by_role("button", name="Save macro").click()
    await expect(page.locator("#macro-rows")).to_contain_text("Refund sent")
    owner = await connection_pool().fetchrow("SELECT owner, actions::text AS a FROM macro")
    assert owner["owner"] == desk.agent_id
    assert msgspec.json.decode(owner["a"]) == [
        {"type": "tag", "tags": ["refund", "billing"]},
        {"type": "status", "status": "resolved", "snooze_minutes": None},
    ]


async def test_webhooks_admin_page_with_the_delivery_log(page: Page, desk: Desk) -> None:
    from tests.conftest import serving
    from tests.fakes.webhook_receiver import WebhookReceiver

    fake = WebhookReceiver()
    async with serving(fake.app()) as url:
        await make_agent("admin-web@example.com", "admin web password 1", role="admin")
        await sign_in(page, "admin-web@example.com", "admin web password 1")
        await page.goto("/admin/webhooks")
        await page.get_by_label("Name").fill("Ticketing")
        await page.get_by_label("URL").fill(f"{url}/hook")
        await page.get_by_label("sla.breached").check()
        await page.get_by_role("button", name="Create subscription").click()
        await expect(page.locator("#new-webhook-result")).to_be_visible()
        secret = await page.locator("#new-webhook-secret").text_content()
        assert secret and secret.startswith("whsec_")
        fake.secret = secret
        await page.get_by_role("link", name="Open the subscription").click()
        await page.get_by_role("button", name="Send test event").click()

        async def received() -> bool:
            return len(fake.requests) == 1

        await eventually(received)
        await page.reload()
        row = page.locator("#delivery-rows tr").first
        await expect(row).to_contain_text("succeeded")
        await expect(row).to_contain_text("HTTP 200")
        await row.get_by_role("button", name="Redeliver").click()

        async def again() -> bool:
            return len(fake.requests) == 2

        await eventually(again)
        await page.get_by_role("button", name="Disable").click()
        await expect(page.locator("#webhook-state")).to_contain_text("Disabled")
