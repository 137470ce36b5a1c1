"""The inbound pipeline through the API channel's HTTP endpoint and directly."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx

from hub.channels.contract import Identity, Inbound, InboundAttachment, ThreadHints
from hub.db.engine import engine
from hub.db.tables import Contact, ContactIdentity, Conversation, Event, Message
from hub.ingest import pipeline
from tests.conftest import admin_key, inbound, make_api_inbox, unique


async def test_first_message_creates_contact_conversation_message_and_events(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    response = await inbound(
        client, headers, inbox["id"], "m-1", text="My internet is down", sender="+45 20 12 34 56"
    )
    assert response.status_code == 201, response.text
    message = response.json()
    assert message["direction"] == "in" and message["status"] == "received"
    assert message["author"] == {
        "type": "contact",
        "id": message["author"]["id"],
        "name": "Customer",
    }
    identity = await ContactIdentity.select().first()
    assert identity is not None and (identity["kind"], identity["address"]) == (
        "phone",
        "+4520123456",
    )
    conversation = (
        await client.get(f"/api/v1/conversations/{message['conversation_id']}", headers=headers)
    ).json()
    assert conversation["status"] == "open" and conversation["unread_count"] == 1
    assert conversation["ref"] >= 1000 and conversation["channel"] == "api"
    types = [e["type"] for e in await Event.select(Event.type).order_by(Event.id)]
    assert types == ["conversation.created", "message.created"]


async def test_redelivery_returns_the_existing_message(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    first = await inbound(client, headers, inbox["id"], "dup-1")
    again = await inbound(client, headers, inbox["id"], "dup-1", text="changed text is ignored")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["text"] == "hello"
    assert await Message.count() == 1


async def test_fifty_concurrent_deliveries_store_one_message(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    responses = await asyncio.gather(
        *(inbound(client, headers, inbox["id"], "same-id") for _ in range(50))
    )
    assert sorted(r.status_code for r in responses) == [200] * 49 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await Message.count() == 1
    assert await Event.count().where(Event.type == "message.created") == 1


async def test_twenty_concurrent_first_messages_make_one_contact_and_conversation(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    responses = await asyncio.gather(
        *(
            inbound(client, headers, inbox["id"], f"first-{n}", sender="+4570000001")
            for n in range(20)
        )
    )
    assert all(r.status_code == 201 for r in responses)
    assert await Contact.count() == 1
    assert await Conversation.count() == 1
    assert await Message.count() == 20
    conversation = await Conversation.select(Conversation.unread_count).first()
    assert conversation is not None and conversation["unread_count"] == 20


async def test_a_reply_reopens_a_recently_resolved_conversation(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    first = (await inbound(client, headers, inbox["id"], "r-1")).json()
    patched = await client.patch(
        f"/api/v1/conversations/{first['conversation_id']}",
        json={"status": "resolved"},
        headers=headers,
    )
    assert patched.json()["status"] == "resolved"
    second = (await inbound(client, headers, inbox["id"], "r-2", text="still broken")).json()
    assert second["conversation_id"] == first["conversation_id"]
    conversation = (
        await client.get(f"/api/v1/conversations/{first['conversation_id']}", headers=headers)
    ).json()
    assert conversation["status"] == "open"


async def test_an_old_resolved_conversation_is_not_reopened(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    first = (await inbound(client, headers, inbox["id"], "o-1")).json()
    await client.patch(
        f"/api/v1/conversations/{first['conversation_id']}",
        json={"status": "resolved"},
        headers=headers,
    )
    pool = engine().pool
    assert pool is not None
    await pool.execute("UPDATE conversation SET resolved_at = now() - interval '30 days'")
    second = (await inbound(client, headers, inbox["id"], "o-2")).json()
    assert second["conversation_id"] != first["conversation_id"]
    assert await Contact.count() == 1


async def test_channel_hints_thread_and_auto_replies_do_not_reopen(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    first = (
        await inbound(client, headers, inbox["id"], "h-1", kind="email", sender="Ann@Example.COM")
    ).json()
    conversation_id = first["conversation_id"]
    await client.patch(
        f"/api/v1/conversations/{conversation_id}", json={"status": "pending"}, headers=headers
    )
    sender = Identity("email", "ann@example.com", "Ann")
    auto = await pipeline.ingest(
        Inbound(
            channel="api",
            inbox_id=inbox["id"],
            provider_message_id="h-2",
            sender=sender,
            text="Out of office",
            auto_reply=True,
            hints=ThreadHints(conversation_id=conversation_id),
        )
    )
    assert auto.created and auto.conversation_id == conversation_id and not auto.reopened
    conversation = (
        await client.get(f"/api/v1/conversations/{conversation_id}", headers=headers)
    ).json()
    assert conversation["status"] == "pending" and conversation["unread_count"] == 1
    separate = await pipeline.ingest(
        Inbound(
            channel="api",
            inbox_id=inbox["id"],
            provider_message_id="h-3",
            sender=sender,
            text="New topic",
            subject="Invoice",
            hints=ThreadHints(new_conversation=True),
        )
    )
    assert separate.conversation_created and separate.conversation_id != conversation_id


async def test_attachments_are_stored_by_content(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    data = b"%PDF-1.4 fake invoice"
    result = await pipeline.ingest(
        Inbound(
            channel="api",
            inbox_id=inbox["id"],
            provider_message_id=unique("att"),
            sender=Identity("phone", "+4511111111"),
            text="see attached",
            attachments=[InboundAttachment("invoice.pdf", "application/pdf", data=data)],
            sent_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        )
    )
    attachment = result.message["attachments"][0]
    assert attachment["filename"] == "invoice.pdf" and attachment["size"] == len(data)
    download = await client.get(attachment["url"], headers=headers)
    assert download.status_code == 200 and download.content == data
    assert download.headers["content-disposition"].startswith("attachment")


async def test_bad_input_is_a_clear_error_and_stores_nothing(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    bad_kind = await inbound(client, headers, inbox["id"], "b-1", kind="fax", sender="123")
    assert bad_kind.status_code == 422 and "identity kind" in bad_kind.json()["error"]["message"]
    bad_phone = await inbound(client, headers, inbox["id"], "b-2", kind="phone", sender="call me")
    assert bad_phone.status_code == 422
    missing = await client.post(
        f"/api/v1/inboxes/{inbox['id']}/messages", json={"text": "x"}, headers=headers
    )
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "invalid_input"
    unauthenticated = await client.post(f"/api/v1/inboxes/{inbox['id']}/messages", json={})
    assert unauthenticated.status_code == 401
    assert await Message.count() == 0
