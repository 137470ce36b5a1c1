"""Issue 16: outside WhatsApp's 24-hour window a rule's `reply_macro` is skipped and logged, and
its `reply_template` goes out through the provider (the Twilio contract fake)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from hub.db.engine import connection_pool
from hub.outbox import delivery
from hub.system.config import Settings
from tests.automation.helpers import make_rule, timeline, wait_runs
from tests.whatsapp.fake_twilio import FakeTwilio
from tests.whatsapp.helpers import (
    CONTENT_SID,
    close_window,
    messages_of,
    post_twilio,
    twilio_fixture,
)

Inbox = tuple[dict[str, str], dict[str, Any]]


async def test_outside_the_window_the_macro_is_skipped_and_the_template_goes_out(
    client: httpx.AsyncClient, settings: Settings, fake_twilio: FakeTwilio, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    response = await post_twilio(client, settings, inbox["id"], twilio_fixture("inbound_text"))
    assert response.status_code == 200, response.text
    cid = int((await messages_of(inbox["id"]))[0]["conversation"])
    await close_window(cid)
    macro = await client.post(
        "/api/v1/macros", json={"name": "Still there?", "body": "Are you still there?"},
        headers=headers,
    )  # fmt: skip
    assert macro.status_code == 201, macro.text
    rule = await make_rule(
        client,
        headers,
        trigger={"type": "conversation.updated", "fields": ["priority"]},
        actions=[
            {"type": "reply_macro", "macro_id": macro.json()["id"]},
            {
                "type": "reply_template",
                "name": "appointment_reminder",
                "variables": ["{{ contact.name }}", "10:00"],
            },
        ],
    )
    changed = await client.patch(
        f"/api/v1/conversations/{cid}", json={"priority": "high"}, headers=headers
    )
    assert changed.status_code == 200, changed.text

    [run] = await wait_runs(client, headers, rule_id=rule["id"])
    skipped, sent = run["actions"]
    assert skipped["ok"] and skipped["result"].startswith("skipped: ")
    assert "24-hour" in skipped["result"]
    assert sent["ok"] and sent["result"].startswith("replied with template appointment_reminder")
    lines = [t for t in await timeline(cid) if "did not reply: " in t]
    assert len(lines) == 1 and "24-hour" in lines[0], await timeline(cid)

    out = await connection_pool().fetch(
        "SELECT id, text, author_type, meta FROM message WHERE conversation = $1"
        " AND direction = 'out' AND kind = 'message'",
        cid,
    )
    [message] = out  # the macro's free text was never stored
    assert message["author_type"] == "system"
    assert await delivery.wait_for_status(message["id"], {"sent", "failed"}) == "sent"
    contact = await connection_pool().fetchval(
        "SELECT ct.name FROM conversation c JOIN contact ct ON ct.id = c.contact WHERE c.id = $1",
        cid,
    )
    assert message["text"] == f"Hi {contact}, your technician arrives at 10:00."
    assert json.loads(message["meta"])["origin"]["rule"] == rule["id"]
    (form,) = fake_twilio.sent
    assert form["ContentSid"] == [CONTENT_SID]
    assert json.loads(form["ContentVariables"][0]) == {"1": contact, "2": "10:00"}
    assert "Body" not in form


async def test_an_inbox_without_the_template_skips_it(
    client: httpx.AsyncClient, settings: Settings, fake_twilio: FakeTwilio, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    response = await post_twilio(client, settings, inbox["id"], twilio_fixture("inbound_text"))
    assert response.status_code == 200, response.text
    cid = int((await messages_of(inbox["id"]))[0]["conversation"])
    rule = await make_rule(
        client,
        headers,
        trigger={"type": "conversation.updated", "fields": ["priority"]},
        actions=[{"type": "reply_template", "name": "not_approved"}],
    )
    changed = await client.patch(
        f"/api/v1/conversations/{cid}", json={"priority": "high"}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    [run] = await wait_runs(client, headers, rule_id=rule["id"])
    assert run["actions"][0]["result"] == (
        "skipped: this inbox has no approved template 'not_approved'"
    )
    assert fake_twilio.attempts == 0
