"""Replies to Telegram through the outbox: quoting, files, flood control, blocked bots, limits."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from hub.db.tables import Message
from hub.outbox import delivery
from tests.conftest import admin_key
from tests.telegram.conftest import fixture, make_inbox, post_update
from tests.telegram.fake_bot_api import DEACTIVATED, FakeBotApi


async def _conversation(
    client: httpx.AsyncClient, bot_api: FakeBotApi, name: str = "private_text", **config: Any
) -> tuple[dict[str, str], int]:
    """A webhook inbox with one customer message in it; returns (headers, conversation id)."""
    headers = await admin_key(client)
    inbox = await make_inbox(client, headers, bot_api, **config)
    response = await post_update(
        client, inbox["id"], fixture(name), str(bot_api.webhook["secret_token"])
    )
    assert response.status_code == 200, response.text
    conversations = (
        await client.get("/api/v1/conversations", params={"inbox_id": inbox["id"]}, headers=headers)
    ).json()["items"]
    return headers, int(conversations[0]["id"])


async def _reply(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "A technician is on the way.", **body},
        headers=headers,
    )


async def _error(message_id: int) -> str:
    row = await Message.select(Message.error).where(Message.id == message_id).first()
    assert row is not None
    return str(row["error"])


async def test_reply_quotes_the_customer_message_and_is_sent_once(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers, conversation_id = await _conversation(client, bot_api)
    reply = (await _reply(client, headers, conversation_id)).json()
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}) == "sent"
    [call] = bot_api.calls_to("sendMessage")
    assert call.params["chat_id"] == "424242424"
    assert call.params["text"] == "A technician is on the way."
    assert json.loads(call.params["reply_parameters"]) == {
        "message_id": 101,
        "allow_sending_without_reply": True,
    }
    sent = bot_api.sent[0]["message"]
    row = await Message.select(Message.provider_message_id).where(Message.id == reply["id"]).first()
    assert row is not None and row["provider_message_id"] == f"424242424:{sent['message_id']}"


async def _upload(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, content: bytes, kind: str
) -> str:
    response = await client.post(
        "/api/v1/attachments", files={"data": (name, content, kind)}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["upload"])


async def test_photo_and_document_replies(client: httpx.AsyncClient, bot_api: FakeBotApi) -> None:
    headers, conversation_id = await _conversation(client, bot_api)
    photo = await _upload(client, headers, "router.png", b"\x89PNG fake image", "image/png")
    manual = await _upload(client, headers, "manual.pdf", b"%PDF-1.4 fake", "application/pdf")
    # One file and a short text: a single captioned photo.
    single = (
        await _reply(
            client, headers, conversation_id, text="Like this?", attachments=[{"upload": photo}]
        )
    ).json()
    assert await delivery.wait_for_status(single["id"], {"sent", "failed"}) == "sent"
    [sent_photo] = bot_api.calls_to("sendPhoto")
    assert sent_photo.params["caption"] == "Like this?"
    assert sent_photo.files["photo"] == ("router.png", b"\x89PNG fake image", "image/png")
    assert "reply_parameters" in sent_photo.params
    # Two files: the text first, then each file, only the first part quoting the customer.
    both = (
        await _reply(
            client,
            headers,
            conversation_id,
            text="Here are both.",
            attachments=[{"upload": photo}, {"upload": manual}],
        )
    ).json()
    assert await delivery.wait_for_status(both["id"], {"sent", "failed"}) == "sent"
    methods = [c.method for c in bot_api.calls if c.method.startswith("send")]
    assert methods == ["sendPhoto", "sendMessage", "sendPhoto", "sendDocument"]
    text_call, photo_call, document_call = bot_api.calls[-3:]
    assert text_call.params["text"] == "Here are both." and "reply_parameters" in text_call.params
    assert "reply_parameters" not in photo_call.params and "caption" not in photo_call.params
    assert document_call.files["document"][0] == "manual.pdf"


async def test_flood_control_429_is_waited_out_and_delivered_once(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers, conversation_id = await _conversation(client, bot_api)
    bot_api.fail("sendMessage", 429, retry_after=1)
    reply = (await _reply(client, headers, conversation_id)).json()
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}, timeout=20) == "sent"
    assert len(bot_api.calls_to("sendMessage")) == 2  # refused once, then accepted
    assert len(bot_api.sent) == 1


async def test_server_error_is_retried_by_the_hub(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers, conversation_id = await _conversation(client, bot_api)
    bot_api.fail("sendMessage", 500)
    reply = (await _reply(client, headers, conversation_id)).json()
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}, timeout=20) == "sent"
    assert len(bot_api.sent) == 1
    row = await Message.select(Message.attempts).where(Message.id == reply["id"]).first()
    assert row is not None and row["attempts"] == 2


async def test_blocked_bot_fails_with_the_reason_and_is_not_retried(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers, conversation_id = await _conversation(client, bot_api)
    bot_api.fail("sendMessage", 403)  # "Forbidden: bot was blocked by the user"
    reply = (await _reply(client, headers, conversation_id)).json()
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}) == "failed"
    await asyncio.sleep(3)  # longer than the hub's retry delay: no second attempt may come
    assert len(bot_api.calls_to("sendMessage")) == 1
    assert "bot was blocked by the user" in await _error(reply["id"])


async def test_deactivated_user_fails_with_the_reason(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers, conversation_id = await _conversation(client, bot_api)
    bot_api.fail("sendMessage", 403, DEACTIVATED)
    reply = (await _reply(client, headers, conversation_id)).json()
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}) == "failed"
    assert "user is deactivated" in await _error(reply["id"])


async def test_text_over_4096_characters_is_refused_before_sending(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers, conversation_id = await _conversation(client, bot_api)
    response = await _reply(client, headers, conversation_id, text="x" * 4097)
    assert response.status_code == 422, response.text
    assert "4096" in response.text
    ok = await _reply(client, headers, conversation_id, text="y" * 4096)
    assert ok.status_code == 201
    assert await delivery.wait_for_status(ok.json()["id"], {"sent", "failed"}) == "sent"
    assert bot_api.calls_to("sendMessage")[-1].params["text"] == "y" * 4096


async def test_reply_in_an_allowed_group_goes_to_the_group(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers, conversation_id = await _conversation(
        client, bot_api, "group_message", allow_groups=True
    )
    reply = (await _reply(client, headers, conversation_id)).json()
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}) == "sent"
    [call] = bot_api.calls_to("sendMessage")
    assert call.params["chat_id"] == "-1001987654321"
    assert json.loads(call.params["reply_parameters"])["message_id"] == 57
