"""The widget in a real browser, embedded by a site on another origin, against a live agent."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import websockets

from tests.conftest import admin_key, serving
from tests.widget.conftest import (
    agent_says,
    agent_ws,
    frames_until,
    host_site,
    make_webchat_inbox,
    texts,
)

WAIT = 15_000  # ms, for Playwright's expectations


async def test_a_visitor_and_an_agent_chat_live_through_reloads_and_drops(
    client: httpx.AsyncClient, base_url: str, widget_browser: Any
) -> None:
    from playwright.async_api import expect

    headers = await admin_key(client)
    page_state: dict[str, str] = {}
    async with serving(host_site(base_url, page_state)) as site:
        inbox = await make_webchat_inbox(
            client, headers, allowed_origins=[site], greeting="Hi! Ask us anything."
        )
        page_state["token"] = inbox["inbox_token"]
        context = await widget_browser.new_context()
        try:
            page = await context.new_page()
            await page.goto(site)
            bubbles = page.locator("hub-chat .m .b")
            agent_bubbles = page.locator("hub-chat .m.ag .b")
            await page.locator("hub-chat .lb").click()
            await expect(bubbles.first).to_have_text("Hi! Ask us anything.", timeout=WAIT)

            # The visitor writes; the agent's socket shows it live.
            async with websockets.connect(agent_ws(base_url, headers)) as agent:
                await asyncio.sleep(0.4)  # the agent socket waits briefly for {"after": id}
                await page.locator("hub-chat textarea").fill("My internet is down")
                await page.locator("hub-chat textarea").press("Enter")
                frames = await frames_until(agent, lambda f: "My internet is down" in texts(f))
            conversation = next(
                f["conversation_id"] for f in frames if f["type"] == "message.created"
            )
            await expect(page.locator("hub-chat .m.me .st")).to_have_text("Sent", timeout=WAIT)

            # The agent answers; the visitor sees it live.
            await agent_says(client, headers, conversation, "Have you tried restarting it?")
            await expect(agent_bubbles.last).to_have_text(
                "Have you tried restarting it?", timeout=WAIT
            )

            # A reload keeps the conversation (the token is in localStorage).
            await page.reload()
            await page.locator("hub-chat .lb").click()
            await expect(bubbles).to_have_text(
                ["Hi! Ask us anything.", "My internet is down", "Have you tried restarting it?"],
                timeout=WAIT,
            )

            # The connection drops: two replies arrive meanwhile, and the visitor writes too.
            await asyncio.sleep(0.5)
            await context.set_offline(True)
            await asyncio.sleep(0.5)
            await agent_says(client, headers, conversation, "Reply one while you were away")
            await agent_says(client, headers, conversation, "Reply two while you were away")
            await page.locator("hub-chat textarea").fill("Written while offline")
            await page.locator("hub-chat textarea").press("Enter")
            await expect(page.locator("hub-chat .m.me.pending")).to_have_count(1, timeout=WAIT)
            await asyncio.sleep(1)
            await expect(agent_bubbles).to_have_count(1)  # nothing arrives while offline
            await context.set_offline(False)
            await expect(agent_bubbles).to_have_text(
                [
                    "Have you tried restarting it?",
                    "Reply one while you were away",
                    "Reply two while you were away",
                ],
                timeout=WAIT,
            )
            await expect(page.locator("hub-chat .m.me.pending")).to_have_count(0, timeout=WAIT)
            timeline = await client.get(
                f"/api/v1/conversations/{conversation}/messages", headers=headers
            )
            visitor_texts = [m["text"] for m in timeline.json()["items"] if m["direction"] == "in"]
            assert visitor_texts == ["My internet is down", "Written while offline"]

            # The site's CSS does not reach into the widget.
            styles = await page.evaluate(
                """() => {
                    const root = document.querySelector('hub-chat').shadowRoot;
                    const pick = (el) => { const s = getComputedStyle(el);
                        return {color: s.color, size: s.fontSize, border: s.borderTopWidth,
                                family: s.fontFamily}; };
                    return {bubble: pick(root.querySelector('.m .b')),
                            input: pick(root.querySelector('textarea')),
                            header: pick(root.querySelector('.hd')),
                            page: pick(document.querySelector('h1'))};
                }"""
            )
            assert styles["page"]["color"] == "rgb(255, 0, 0)"  # the site's rule is in force
            for part in ("bubble", "input", "header"):
                assert styles[part]["color"] != "rgb(255, 0, 0)", styles
                assert styles[part]["size"] in ("14px", "15px"), styles
                assert "serif" not in styles[part]["family"].split(",")[0], styles
            assert styles["header"]["border"] == "0px"
        finally:
            await context.close()
