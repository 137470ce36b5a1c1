"""Replies through the outbox: claim, send, retry, sweep, permanent failure, delivery updates."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from hub.channels.contract import DeliveryStatus, DeliveryUpdate
from hub.db.engine import engine
from hub.db.tables import Message
from hub.outbox import delivery, dispatch, replies
from tests.conftest import admin_key, inbound, make_api_inbox
from tests.fakes.callback import CallbackReceiver


async def _conversation(
    client: httpx.AsyncClient, receiver: CallbackReceiver, url: str, **config: Any
) -> tuple[dict[str, str], int, int]:
    headers = await admin_key(client)
    receiver.secret = "integration-secret"
    inbox = await make_api_inbox(
        client, headers, callback_url=url, callback_secret="integration-secret", **config
    )
    message = (await inbound(client, headers, inbox["id"], "in-1")).json()
    return headers, inbox["id"], message["conversation_id"]


async def _reply(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "On it!", **body},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_reply_is_sent_once_with_a_valid_signature(
    client: httpx.AsyncClient, callback_receiver: Any
) -> None:
    receiver, url = callback_receiver
    headers, _, conversation_id = await _conversation(client, receiver, url)
    reply = await _reply(client, headers, conversation_id)
    assert (
        reply["status"] == "pending" and reply["direction"] == "out" and reply["kind"] == "message"
    )
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}) == "sent"
    assert receiver.deliveries(reply["id"]) == 1 and receiver.bad_signatures == 0
    payload = receiver.received[0]
    assert payload["message"]["text"] == "On it!"
    assert payload["recipient"] == {"kind": "phone", "address": "+4520123456"}
    row = await Message.select(Message.provider_message_id).where(Message.id == reply["id"]).first()
    assert row is not None and row["provider_message_id"] == f"ext-{reply['id']}"
    conversation = (
        await client.get(f"/api/v1/conversations/{conversation_id}", headers=headers)
    ).json()
    assert conversation["unread_count"] == 0


async def test_private_notes_are_never_sent(
    client: httpx.AsyncClient, callback_receiver: Any
) -> None:
    receiver, url = callback_receiver
    headers, _, conversation_id = await _conversation(client, receiver, url)
    note = await _reply(
        client, headers, conversation_id, text="Customer is on the legacy plan", private=True
    )
    assert note["kind"] == "note" and note["direction"] is None and note["status"] == "received"
    assert (await dispatch.dispatch(note["id"])).startswith("not pending")
    await asyncio.sleep(0.5)
    assert receiver.received == []


async def test_provider_timeout_is_retried_and_delivered_once(
    client: httpx.AsyncClient, callback_receiver: Any
) -> None:
    receiver, url = callback_receiver
    receiver.fail_next = ["hang"]
    receiver.hang_seconds = 3
    headers, _, conversation_id = await _conversation(client, receiver, url, timeout_seconds=1)
    reply = await _reply(client, headers, conversation_id)
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}, timeout=20) == "sent"
    assert len(receiver.received) == 2  # the first attempt timed out, the retry went through
    assert receiver.deliveries(reply["id"]) == 1
    row = await Message.select(Message.attempts).where(Message.id == reply["id"]).first()
    assert row is not None and row["attempts"] == 2


async def test_server_error_is_retried(client: httpx.AsyncClient, callback_receiver: Any) -> None:
    receiver, url = callback_receiver
    receiver.fail_next = [503]
    headers, _, conversation_id = await _conversation(client, receiver, url)
    reply = await _reply(client, headers, conversation_id)
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}, timeout=20) == "sent"
    assert receiver.deliveries(reply["id"]) == 1


async def test_permanent_error_fails_with_reason_and_is_not_retried(
    client: httpx.AsyncClient, callback_receiver: Any
) -> None:
    receiver, url = callback_receiver
    receiver.fail_next = [400]
    headers, _, conversation_id = await _conversation(client, receiver, url)
    reply = await _reply(client, headers, conversation_id)
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}) == "failed"
    await asyncio.sleep(3)  # longer than the retry delay: nothing else may arrive
    assert len(receiver.received) == 1
    messages = (
        await client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=headers)
    ).json()["items"]
    failed = next(m for m in messages if m["id"] == reply["id"])
    assert failed["status"] == "failed" and "400" in failed["error"]
    # An agent can retry it once the integration is fixed.
    retried = await client.post(f"/api/v1/messages/{reply['id']}/retry", headers=headers)
    assert retried.status_code == 200
    assert await delivery.wait_for_status(reply["id"], {"sent"}) == "sent"


async def test_reply_of_a_killed_worker_is_delivered_once_after_the_sweep(
    client: httpx.AsyncClient, callback_receiver: Any
) -> None:
    receiver, url = callback_receiver
    _headers, _inbox_id, conversation_id = await _conversation(client, receiver, url)
    # A reply stored while the queue was lost: pending, with no job.
    from hub.auth.accounts import AgentInfo

    agent = AgentInfo(id=1, name="Admin", email="a@example.com", role="admin")
    reply = await replies.create_reply(conversation_id, agent=agent, text="after the crash")
    # A worker claimed it and died before calling the provider.
    claimed = await dispatch._claim(reply["id"], per_inbox=4)
    assert claimed is not None
    pool = engine().pool
    assert pool is not None
    await pool.execute(
        "UPDATE message SET updated_at = now() - interval '10 minutes' WHERE id = $1", reply["id"]
    )
    assert (
        await dispatch.dispatch(reply["id"])
        == "not pending (already sent, being sent, a note, or unknown)"
    )
    assert await dispatch.sweep() == 1
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}) == "sent"
    assert receiver.deliveries(reply["id"]) == 1 and len(receiver.received) == 1
    assert await dispatch.sweep() == 0


async def test_delivery_updates_never_move_backwards(
    client: httpx.AsyncClient, callback_receiver: Any
) -> None:
    receiver, url = callback_receiver
    headers, inbox_id, conversation_id = await _conversation(client, receiver, url)
    reply = await _reply(client, headers, conversation_id)
    assert await delivery.wait_for_status(reply["id"], {"sent"}) == "sent"
    provider_id = f"ext-{reply['id']}"

    def update(status: DeliveryStatus) -> DeliveryUpdate:
        return DeliveryUpdate(inbox_id=inbox_id, provider_message_id=provider_id, status=status)

    assert await delivery.apply_delivery(update(DeliveryStatus.READ)) is True
    assert await delivery.apply_delivery(update(DeliveryStatus.DELIVERED)) is False
    assert await delivery.apply_delivery(update(DeliveryStatus.FAILED)) is False
    assert (
        await delivery.apply_delivery(
            DeliveryUpdate(
                inbox_id=inbox_id, provider_message_id="unknown", status=DeliveryStatus.READ
            )
        )
        is False
    )
    row = await Message.select(Message.status).where(Message.id == reply["id"]).first()
    assert row is not None and row["status"] == "read"


async def test_reply_over_the_channel_limit_is_refused_before_sending(
    client: httpx.AsyncClient, callback_receiver: Any
) -> None:
    receiver, url = callback_receiver
    headers, _, conversation_id = await _conversation(client, receiver, url)
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "x" * 70_000},
        headers=headers,
    )
    assert (
        response.status_code == 422
        and "at most 65536 characters" in response.json()["error"]["message"]
    )
    empty = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "  "}, headers=headers
    )
    assert empty.status_code == 422
