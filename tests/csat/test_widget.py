"""The survey in the web chat widget: a card on the survey message, answered through the widget
API by the conversation's own visitor only; and the card in Chromium."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import admin_key, eventually, serving
from tests.csat.conftest import enable, resolve_and_send, response_of
from tests.widget.conftest import (
    fresh_rate_limits,
    host_site,
    make_webchat_inbox,
    start_session,
    visitor_headers,
    visitor_says,
    widget_browser,
)

__all__ = ["fresh_rate_limits", "widget_browser"]  # fixtures
WAIT = 15_000


async def test_the_card_is_answered_by_its_visitor_only(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_webchat_inbox(client, headers)
    await enable(client, headers, inbox["id"], question="Did we help?")
    alice = await start_session(client, inbox, name="Alice")
    mallory = await start_session(client, inbox, name="Mallory")
    said = await visitor_says(client, alice, "my router blinks red")
    assert said.status_code == 201, said.text
    conversation = said.json()["conversation_id"]
    survey = await resolve_and_send(client, headers, conversation)

    page = (await client.get("/api/v1/widget/messages", headers=visitor_headers(alice))).json()
    [card] = [m for m in page["items"] if "csat" in m]
    assert card["text"] == "Did we help?"
    assert card["csat"] == {"survey_id": survey["id"], "rating": None}

    body = {"survey_id": survey["id"], "rating": 5, "comment": "quick!"}
    refused = await client.post("/api/v1/widget/csat", json=body, headers=visitor_headers(mallory))
    assert refused.status_code == 403
    assert await response_of(conversation) is None
    answered = await client.post("/api/v1/widget/csat", json=body, headers=visitor_headers(alice))
    assert answered.status_code == 200, answered.text
    answer = await response_of(conversation)
    assert answer is not None and (answer["rating"], answer["comment"], answer["via"]) == (
        5,
        "quick!",
        "webchat",
    )
    page = (await client.get("/api/v1/widget/messages", headers=visitor_headers(alice))).json()
    [card] = [m for m in page["items"] if "csat" in m]
    assert card["csat"]["rating"] == 5
    # The answer's timeline line is the agents' alone.
    assert not any("rated" in m["text"] for m in page["items"])


async def test_the_card_in_chromium(
    client: httpx.AsyncClient, base_url: str, widget_browser: Any
) -> None:
    from playwright.async_api import expect

    headers = await admin_key(client)
    state: dict[str, str] = {}
    async with serving(host_site(base_url, state)) as site:
        inbox = await make_webchat_inbox(client, headers, allowed_origins=[site])
        await enable(client, headers, inbox["id"], question="How did we do today?")
        state["token"] = inbox["inbox_token"]
        context = await widget_browser.new_context()
        try:
            page = await context.new_page()
            await page.goto(site)
            await page.locator("hub-chat .lb").click()
            await page.locator("hub-chat textarea").fill("Is the outage over?")
            await page.locator("hub-chat textarea").press("Enter")
            await expect(page.locator("hub-chat .m.me .st")).to_have_text("Sent", timeout=WAIT)

            async def conversation_id() -> int | None:
                items = (
                    await client.get(
                        "/api/v1/conversations", params={"inbox_id": inbox["id"]}, headers=headers
                    )
                ).json()["items"]
                return int(items[0]["id"]) if items else None

            conversation = await eventually(conversation_id)
            await resolve_and_send(client, headers, conversation)
            buttons = page.locator("hub-chat .cs .cb")
            await expect(buttons).to_have_count(5, timeout=WAIT)
            await page.locator("hub-chat .cs .in").fill("All good now")
            await buttons.nth(3).click()
            await expect(page.locator("hub-chat .cs .cb.on")).to_have_text("4", timeout=WAIT)

            async def stored() -> dict[str, Any] | None:
                return await response_of(conversation)

            answer = await eventually(stored)
            assert (answer["rating"], answer["comment"]) == (4, "All good now")
            # After a reload the card still shows the answer (it rides on the survey message).
            await page.reload()
            await page.locator("hub-chat .lb").click()
            await expect(page.locator("hub-chat .cs .cb.on")).to_have_text("4", timeout=WAIT)
        finally:
            await context.close()
