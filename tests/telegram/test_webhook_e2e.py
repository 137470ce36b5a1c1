"""Webhook mode end to end: Telegram (the fake) pushes to the hub's HTTP endpoint, the agent
answers through the API, the worker sends the reply back through the Bot API."""

from __future__ import annotations

import json

import httpx

from hub.db.tables import Message
from hub.outbox import delivery
from tests.conftest import admin_key
from tests.telegram.conftest import fixture, make_inbox
from tests.telegram.fake_bot_api import FakeBotApi


async def test_webhook_round_trip(
    client: httpx.AsyncClient, base_url: str, bot_api: FakeBotApi
) -> None:
    headers = await admin_key(client)
    inbox = await make_inbox(client, headers, bot_api)

    # Telegram calls the URL it was given, with the secret it was given.
    pushed = await bot_api.push(fixture("private_text"), to=base_url)
    assert pushed.status_code == 200, pushed.text
    again = await bot_api.push(fixture("private_text"), to=base_url)  # Telegram retried
    assert again.status_code == 200
    assert await Message.count() == 1

    conversations = (
        await client.get("/api/v1/conversations", params={"inbox_id": inbox["id"]}, headers=headers)
    ).json()["items"]
    [conversation] = conversations
    assert conversation["channel"] == "telegram" and conversation["unread_count"] == 1

    reply = (
        await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            json={"text": "Sorry about that, we are on it."},
            headers=headers,
        )
    ).json()
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}) == "sent"
    [call] = bot_api.calls_to("sendMessage")
    assert call.params["chat_id"] == "424242424"
    assert json.loads(call.params["reply_parameters"])["message_id"] == 101

    # The customer answers the bot's message: same conversation.
    pushed = await bot_api.push(fixture("reply"), to=base_url)
    assert pushed.status_code == 200
    messages = (
        await client.get(f"/api/v1/conversations/{conversation['id']}/messages", headers=headers)
    ).json()["items"]
    assert [(m["direction"], m["text"]) for m in messages] == [
        ("in", "Hi, my internet has been down since this morning"),
        ("out", "Sorry about that, we are on it."),
        ("in", "Yes, the one ending in 4471"),
    ]
