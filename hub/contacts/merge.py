"""One person, one contact: merging two contacts, and undoing it within 30 days.

A merge moves the other contact's identities, conversations (with the authorship of its
messages) and manual CRM links to the kept contact, in one transaction, and records exactly
what moved in `contact_merge`, so an undo moves those same rows back. The emptied contact stays
(marked `merged_into`): ids in old links and in the audit log keep pointing at something.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from hub.auth import audit
from hub.auth.access import NotFound
from hub.db.engine import connection_pool
from hub.realtime import events

UNDO_DAYS = 30


class InvalidMerge(ValueError):
    pass


async def _lock_contacts(conn: asyncpg.Connection, *ids: int) -> dict[int, asyncpg.Record]:
    # In id order, so two merges of the same pair in opposite directions cannot deadlock.
    rows = await conn.fetch(
        "SELECT id, name, attributes FROM contact WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE",
        list(ids),
    )
    found = {int(r["id"]): r for r in rows}
    for contact_id in ids:
        if contact_id not in found:
            raise NotFound(f"no contact {contact_id}")
    return found


async def _conversation_events(
    conn: asyncpg.Connection, conversation_ids: list[int], changed: dict[str, Any]
) -> list[events.Event]:
    pending = []
    for conversation_id in conversation_ids:
        data = msgspec.json.decode(
            await conn.fetchval("SELECT hub_conversation_json($1)", conversation_id)
        )
        data["changed"] = changed
        pending.append(
            {
                "type": "conversation.updated",
                "conversation": conversation_id,
                "inbox": data["inbox_id"],
                "data": data,
            }
        )
    return await events.emit(conn, pending)


async def merge(
    into_id: int, other_id: int, *, agent_id: int | None, ip: str = ""
) -> dict[str, Any]:
    """Move everything of `other_id` to `into_id`; returns the merge record."""
    if into_id == other_id:
        raise InvalidMerge("a contact cannot be merged with itself")
    async with connection_pool().acquire() as conn, conn.transaction():
        contacts = await _lock_contacts(conn, into_id, other_id)
        attributes = msgspec.json.decode(contacts[into_id]["attributes"] or "{}")
        if attributes.get("merged_into"):
            raise InvalidMerge(
                f"contact {into_id} was merged into {attributes['merged_into']}; merge into that one"
            )
        identities = [
            r["id"]
            for r in await conn.fetch(
                "UPDATE contact_identity SET contact = $1 WHERE contact = $2 RETURNING id",
                into_id,
                other_id,
            )
        ]
        conversations = [
            r["id"]
            for r in await conn.fetch(
                "UPDATE conversation SET contact = $1, updated_at = now() WHERE contact = $2 RETURNING id",
                into_id,
                other_id,
            )
        ]
        await conn.execute(
            "UPDATE message SET author_id = $1 WHERE author_type = 'contact' AND author_id = $2"
            " AND conversation = ANY($3::int[])",
            into_id,
            other_id,
            conversations,
        )
        # An agent's decision about the other contact carries over, unless the kept contact
        # has its own decision about the same customer.
        links = [
            r["id"]
            for r in await conn.fetch(
                "UPDATE crm_link l SET contact = $1 WHERE l.contact = $2 AND NOT EXISTS"
                " (SELECT 1 FROM crm_link k WHERE k.contact = $1 AND k.customer = l.customer) RETURNING id",
                into_id,
                other_id,
            )
        ]
        await conn.execute(
            "UPDATE contact SET attributes = attributes || jsonb_build_object('merged_into', $1::int),"
            " updated_at = now() WHERE id = $2",
            into_id,
            other_id,
        )
        if not contacts[into_id]["name"] and contacts[other_id]["name"]:
            await conn.execute(
                "UPDATE contact SET name = $1 WHERE id = $2", contacts[other_id]["name"], into_id
            )
        row = await conn.fetchrow(
            "INSERT INTO contact_merge (into_contact, from_contact, identities, conversations, links,"
            " from_name, agent) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            into_id,
            other_id,
            identities,
            conversations,
            links,
            contacts[other_id]["name"],
            agent_id,
        )
        emitted = await _conversation_events(conn, conversations, {"contact_id": into_id})
    await events.publish(emitted)
    assert row is not None
    await audit.record(
        "contact.merged",
        actor_id=agent_id,
        target_type="contact",
        target_id=into_id,
        data={
            "merge_id": row["id"],
            "other_id": other_id,
            "identities": identities,
            "conversations": conversations,
        },
        ip=ip,
    )
    return view(row)


def view(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "contact_id": row["into_contact"],
        "other_id": row["from_contact"],
        "identities": list(row["identities"]),
        "conversations": list(row["conversations"]),
        "created_at": row["created_at"],
        "undone_at": row["undone_at"],
    }


async def unmerge(
    into_id: int, *, other_id: int | None, agent_id: int | None, ip: str = ""
) -> dict[str, Any]:
    """Undo the latest merge into `into_id` (of `other_id`, if given) made in the last 30 days.

    What moved goes back, as far as it is still with the kept contact (an identity merged again
    elsewhere since stays where it is).
    """
    async with connection_pool().acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM contact_merge WHERE into_contact = $1 AND ($2::int IS NULL OR from_contact = $2)"
            " AND undone_at IS NULL AND created_at > now() - make_interval(days => $3)"
            " ORDER BY id DESC LIMIT 1 FOR UPDATE",
            into_id,
            other_id,
            UNDO_DAYS,
        )
        if row is None:
            raise NotFound(f"no merge into contact {into_id} to undo in the last {UNDO_DAYS} days")
        other = int(row["from_contact"])
        await _lock_contacts(conn, into_id, other)
        await conn.execute(
            "UPDATE contact_identity SET contact = $1 WHERE id = ANY($2::int[]) AND contact = $3",
            other,
            list(row["identities"]),
            into_id,
        )
        conversations = [
            r["id"]
            for r in await conn.fetch(
                "UPDATE conversation SET contact = $1, updated_at = now() WHERE id = ANY($2::int[])"
                " AND contact = $3 RETURNING id",
                other,
                list(row["conversations"]),
                into_id,
            )
        ]
        await conn.execute(
            "UPDATE message SET author_id = $1 WHERE author_type = 'contact' AND author_id = $2"
            " AND conversation = ANY($3::int[])",
            other,
            into_id,
            conversations,
        )
        await conn.execute(
            "UPDATE crm_link SET contact = $1 WHERE id = ANY($2::bigint[]) AND contact = $3",
            other,
            list(row["links"]),
            into_id,
        )
        await conn.execute(
            "UPDATE contact SET attributes = attributes - 'merged_into', updated_at = now() WHERE id = $1",
            other,
        )
        done = await conn.fetchrow(
            "UPDATE contact_merge SET undone_at = now(), undone_by = $2 WHERE id = $1 RETURNING *",
            row["id"],
            agent_id,
        )
        emitted = await _conversation_events(conn, conversations, {"contact_id": other})
    await events.publish(emitted)
    assert done is not None
    await audit.record(
        "contact.unmerged",
        actor_id=agent_id,
        target_type="contact",
        target_id=into_id,
        data={"merge_id": row["id"], "other_id": other},
        ip=ip,
    )
    return view(done)
