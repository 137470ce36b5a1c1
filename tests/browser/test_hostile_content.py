"""Script payloads from customers render inert in the inbox: no dialog fires, nothing is injected.

Each vector arrives the way it would in production: an e-mail (HTML body and subject) through the
email adapter's conversion, Telegram and WhatsApp messages, a contact name and a tag.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Dialog, Page, expect

from adapters.email.convert import Converter
from hub.channels import inboxes
from hub.channels.contract import Identity, Inbound
from hub.ingest import pipeline
from tests.browser.conftest import Desk, Problems, sign_in
from tests.conftest import make_agent, make_api_inbox
from tests.email.conftest import create_inbox, email_config, mail


def payloads(tag: str) -> str:
    """Markup a careless page would run; every variant names `tag` so a leak is traceable."""
    return (
        f"<script>alert('{tag}-script')</script>"
        f'<img src=x id="xss-{tag}-img" onerror="alert(\'{tag}-img\')">'
        f'"><svg id="xss-{tag}-svg" onload="alert(\'{tag}-svg\')">'
        f'<a id="xss-{tag}-a" href="javascript:alert(\'{tag}-a\')">click</a>'
        f'<iframe id="xss-{tag}-frame" srcdoc="<script>alert(\'{tag}-frame\')</script>"></iframe>'
        "{{ 7 * 7 }}"
    )


async def _inert(page: Page, dialogs: list[str]) -> None:
    # Nothing the payloads carry became an element with behaviour.
    for selector in (
        "[id^='xss-']",
        "[onerror], [onload], [onclick]",
        "a[href^='javascript:']",
        "iframe",
        "script:not([src^='/static/'])",
    ):
        await expect(page.locator(selector)).to_have_count(0)
    assert dialogs == []


async def test_script_payloads_render_inert(
    page: Page, desk: Desk, problems: Problems, settings: Any
) -> None:
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    api = desk.client
    # An e-mail with a hostile HTML body, subject and sender name, through the adapter.
    email_inbox = await create_inbox(api, desk.headers, email_config())
    adapter = await inboxes.adapter_for(
        email_inbox["id"], secret_key=settings.secret_key, public_url=settings.public_url
    )
    converter: Converter = adapter.converter()  # type: ignore[attr-defined]
    raw = (
        mail(
            sender=f'"{payloads("mailname")}" <evil@example.org>',
            subject=payloads("subject"),
            message_id="xss-1@example.org",
            body="",
        ).replace(b"text/plain", b"text/html")
        + payloads("html").encode()
    )
    [item] = await converter.items(raw)
    assert isinstance(item, Inbound)
    email = await pipeline.ingest(item)
    # Telegram and WhatsApp messages as their adapters hand them over (plain text and names).
    chat = await make_api_inbox(api, desk.headers)
    found = []
    for channel, address in (("telegram", "555001"), ("whatsapp", "+4520000001")):
        result = await pipeline.ingest(
            Inbound(
                channel=channel,
                inbox_id=chat["id"],
                provider_message_id=f"xss-{channel}",
                sender=Identity(
                    "telegram" if channel == "telegram" else "phone",
                    address,
                    payloads(f"{channel}name"),
                ),
                text=payloads(channel),
            )
        )
        found.append(result.conversation_id)
    # A contact name and a tag set through the API.
    message = await desk.customer_writes(
        payloads("text"), name=payloads("contact"), address="hostile@example.org"
    )
    tagged = int(message["conversation_id"])
    tag = await api.post(
        f"/api/v1/conversations/{tagged}/tags",
        json={"tags": ["<img src=x onerror=alert('tag')>"]},
        headers=desk.headers,
    )
    assert tag.status_code == 200, tag.text

    await make_agent("xss-admin@example.com", "admin's good password", role="admin")
    await sign_in(page, "xss-admin@example.com", "admin's good password")
    await page.goto("/inbox")
    await expect(page.locator("li.row")).to_have_count(4)
    await _inert(page, dialogs)
    for conversation in (email.conversation_id, *found, tagged):
        await page.goto(f"/inbox/conversations/{conversation}")
        await expect(page.locator("main")).to_contain_text("7 * 7")  # shown as text, not run
        await _inert(page, dialogs)
    assert not problems.unexpected()
