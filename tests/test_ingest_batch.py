"""One group-commit batch mixing every case hub_ingest distinguishes.

Known senders in open conversations are stored together (one statement per step for the batch);
new senders, conversations to create and provider ids twice in the batch go one by one. The batch
must answer in input order and store exactly what one-by-one ingest would.
"""

from __future__ import annotations

from typing import Any

import httpx

from hub.channels.contract import Identity, Inbound, ThreadHints
from hub.db.engine import engine
from hub.db.tables import Conversation, Event, Message
from hub.ingest import pipeline
from tests.conftest import admin_key, inbound, make_api_inbox


async def _item(inbox_id: int, pid: str, address: str, **extra: Any) -> dict[str, Any]:
    return await pipeline.prepare(
        Inbound(
            channel="api",
            inbox_id=inbox_id,
            provider_message_id=pid,
            sender=Identity("phone", address, extra.pop("name", "Customer")),
            text=extra.pop("text", f"text of {pid}"),
            **extra,
        ),
        attachments_dir=None,
        attachment_limit=1024,
        reopen_window_hours=168,
    )


async def test_a_mixed_batch_answers_in_order_and_stores_what_one_by_one_would(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = (await make_api_inbox(client, headers))["id"]
    a1 = (await inbound(client, headers, inbox, "a-1", sender="+4511111111")).json()
    b1 = (await inbound(client, headers, inbox, "b-1", sender="+4522222222")).json()
    await client.patch(
        f"/api/v1/conversations/{b1['conversation_id']}",
        json={"status": "pending"},
        headers=headers,
    )
    pool = engine().pool
    assert pool is not None
    before = await pool.fetchval("SELECT coalesce(max(id), 0) FROM event")
    # A contact known only by its number takes the name its sender gives next.
    await pool.execute("UPDATE contact SET name = '' WHERE id = $1", a1["author"]["id"])

    items = [
        await _item(inbox, "a-2", "+4511111111", name="Anders"),
        await _item(inbox, "b-2", "+4522222222"),
        await _item(inbox, "b-3", "+4522222222", auto_reply=True),
        await _item(inbox, "c-1", "+4533333333", name="Cecilie"),
        await _item(inbox, "a-1", "+4511111111", text="a redelivery"),
        await _item(inbox, "d-1", "+4544444444"),
        await _item(inbox, "d-1", "+4544444444"),
    ]
    async with pool.acquire() as conn:
        stored = await pipeline._store(conn, items)
    a2, b2, b3, c1, a1_again, d1, d1_again = stored.results

    # Known senders thread into their open conversations; a customer message reopens a pending
    # one, an automatic one does not count as unread.
    assert a2.created and a2.conversation_id == a1["conversation_id"] and not a2.reopened
    assert b2.created and b2.conversation_id == b1["conversation_id"] and b2.reopened
    assert b3.created and b3.conversation_id == b1["conversation_id"] and not b3.reopened
    assert a2.message["author"]["name"] == "Anders"
    assert b2.message_id < b3.message_id
    assert b2.message["text"] == "text of b-2" and b2.message["author"]["name"] == "Customer"
    conversation = (
        await Conversation.select().where(Conversation.id == b1["conversation_id"]).first()
    )
    assert conversation is not None
    assert conversation["status"] == "open" and conversation["unread_count"] == 2
    # A new sender gets a contact and a conversation; a stored message is not stored again; a
    # provider id twice in one batch is stored once.
    assert (
        c1.created
        and c1.conversation_created
        and c1.conversation_id
        not in (
            a1["conversation_id"],
            b1["conversation_id"],
        )
    )
    assert not a1_again.created and a1_again.message_id == a1["id"]
    assert a1_again.message["text"] == "hello"
    assert d1.created and not d1_again.created and d1_again.message_id == d1.message_id
    assert await Message.count().where(Message.provider_message_id == "d-1") == 1
    assert await Message.count().where(Message.direction == "in") == 2 + 5

    events = (
        await Event.select(Event.id, Event.type, Event.conversation)
        .where(Event.id > before)
        .order_by(Event.id)
    )
    assert stored.last_event_id == events[-1]["id"]
    created = [e for e in events if e["type"] == "message.created"]
    assert len(created) == 5
    updated = [e["conversation"] for e in events if e["type"] == "conversation.updated"]
    # The stored-together messages update each conversation once, after its messages.
    assert sorted(updated) == sorted([a1["conversation_id"], b1["conversation_id"]])
    assert [e["type"] for e in events].count("conversation.created") == 2


async def test_a_sender_with_a_message_to_go_one_by_one_keeps_its_order(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = (await make_api_inbox(client, headers))["id"]
    first = (await inbound(client, headers, inbox, "e-1", sender="+4555555555")).json()
    items = [
        await _item(inbox, "e-2", "+4555555555"),
        await _item(inbox, "e-3", "+4555555555", hints=ThreadHints(new_conversation=True)),
        await _item(inbox, "e-4", "+4555555555"),
    ]
    pool = engine().pool
    assert pool is not None
    async with pool.acquire() as conn:
        e2, e3, e4 = (await pipeline._store(conn, items)).results
    assert e2.message_id < e3.message_id < e4.message_id
    assert e2.conversation_id == first["conversation_id"]
    assert e3.conversation_created and e3.conversation_id != first["conversation_id"]
    # The newest open conversation (ties: the one opened last) is the one just opened.
    assert e4.conversation_id == e3.conversation_id
