"""The two actions that reach outside the conversation: a macro's reply (sent by the worker, the
hub as author, skipped where the channel refuses free text) and an outgoing webhook (signed,
delivered to the subscription the rule names)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from hub.db.engine import connection_pool
from tests.automation.helpers import conversation_from, make_rule, wait_runs
from tests.conftest import admin_key, eventually, make_api_inbox, serving
from tests.fakes.callback import CallbackReceiver
from tests.fakes.webhook_receiver import WebhookReceiver


@pytest.fixture
async def hook() -> AsyncIterator[tuple[WebhookReceiver, str]]:
    fake = WebhookReceiver()
    async with serving(fake.app()) as url:
        yield fake, f"{url}/hook"


async def test_a_rule_replies_with_a_macro(
    client: httpx.AsyncClient, callback_receiver: tuple[CallbackReceiver, str]
) -> None:
    receiver, url = callback_receiver
    receiver.secret = "automation macro callback secret"
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers, callback_url=url, callback_secret=receiver.secret)
    macro = await client.post(
        "/api/v1/macros",
        json={"name": "Outage notice", "body": "Hello {{ contact.name }}, we know of the outage."},
        headers=headers,
    )
    assert macro.status_code == 201, macro.text
    rule = await make_rule(
        client,
        headers,
        trigger={"type": "message.created", "direction": "inbound"},
        conditions={"field": "message.text", "op": "contains", "value": "outage"},
        actions=[{"type": "reply_macro", "macro_id": macro.json()["id"]}],
    )
    cid = await conversation_from(client, headers, inbox["id"], text="Is there an outage?")
    run = (await wait_runs(client, headers, rule_id=rule["id"]))[0]
    assert run["status"] == "ok", run
    assert run["actions"][0]["result"].startswith("replied (message ")

    async def delivered() -> list[str]:
        return [p["message"]["text"] for p in receiver.stored.values()]

    texts = await eventually(delivered)
    assert len(texts) == 1 and texts[0].endswith(", we know of the outage.")
    row = await connection_pool().fetchrow(
        "SELECT author_type, meta->'origin'->>'rule' AS rule FROM message"
        " WHERE conversation = $1 AND direction = 'out' AND kind = 'message'",
        cid,
    )
    assert row["author_type"] == "system" and int(row["rule"]) == rule["id"]


async def test_a_rule_sends_a_signed_webhook(
    client: httpx.AsyncClient, hook: tuple[WebhookReceiver, str]
) -> None:
    fake, url = hook
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    # Subscribed to another type: the rule's delivery goes to it because the rule names it.
    sub = await client.post(
        "/api/v1/webhook-subscriptions",
        json={"name": "Ticketing", "url": url, "event_types": ["conversation.created"]},
        headers=headers,
    )
    assert sub.status_code == 201, sub.text
    fake.secret = sub.json()["secret"]
    rule = await make_rule(
        client,
        headers,
        trigger={"type": "message.created", "direction": "inbound"},
        conditions={"field": "message.text", "op": "contains", "value": "refund"},
        actions=[{"type": "send_webhook", "subscription_id": sub.json()["id"]}],
    )
    cid = await conversation_from(client, headers, inbox["id"], text="I want a refund")
    run = (await wait_runs(client, headers, rule_id=rule["id"]))[0]
    assert run["status"] == "ok", run

    async def arrived() -> list[dict[str, object]] | None:
        return fake.of_type("automation.rule") or None

    sent = await eventually(arrived, timeout=30)
    assert fake.bad_signatures == 0
    body = sent[0]["body"]
    assert isinstance(body, dict)
    assert body["data"]["conversation_id"] == cid
    assert body["data"]["rule"]["id"] == rule["id"]

    # A subscription that is gone: the action fails, logged in the run, nothing raised.
    gone = await make_rule(
        client,
        headers,
        trigger={"type": "message.created", "direction": "inbound"},
        conditions={"field": "message.text", "op": "contains", "value": "nowhere"},
        actions=[{"type": "send_webhook", "subscription_id": 999_999}],
    )
    await conversation_from(client, headers, inbox["id"], text="send this nowhere")
    failed = (await wait_runs(client, headers, rule_id=gone["id"]))[0]
    assert failed["status"] == "failed" and "999999" in failed["actions"][0]["error"]
