"""What merging and splitting share: locking conversations, following `merged_into`, and
recomputing the summary columns a conversation row carries from the messages it now holds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg
import msgspec

from hub.auth.access import NotFound
from hub.db.engine import connection_pool
from hub.realtime import events

# Columns of the conversation row that describe its state; a merge keeps the sources' values so
# that an undo puts them back exactly.
STATE_COLUMNS = (
    "status",
    "resolved_at",
    "snoozed_until",
    "unread_count",
    "waiting_since",
    "last_message_at",
    "last_inbound_at",
    "first_reply_at",
    "assignee",
)

_LOCK = (
    "SELECT id, ref, inbox, contact, merged_into, meta, "
    + ", ".join(STATE_COLUMNS)
    + " FROM conversation WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE"
)

# When a message happened: the customer's own Date for inbound mail, our clock for the rest.
_AT = "CASE WHEN m.direction = 'in' THEN coalesce(m.sent_at, m.created_at) ELSE m.created_at END"

_RECOMPUTE = f"""
UPDATE conversation c SET
    last_message_at = coalesce(s.last_at, c.created_at),
    last_inbound_at = s.last_in,
    first_reply_at = s.first_reply,
    waiting_since = s.waiting,
    updated_at = now()
FROM (
    SELECT x.id,
           (SELECT max({_AT}) FROM message m WHERE m.conversation = x.id AND m.kind = 'message') AS last_at,
           (SELECT max({_AT}) FROM message m WHERE m.conversation = x.id AND m.kind = 'message'
               AND m.direction = 'in') AS last_in,
           (SELECT min(m.created_at) FROM message m WHERE m.conversation = x.id AND m.kind = 'message'
               AND m.direction = 'out' AND m.author_type = 'agent') AS first_reply,
           -- The customer waits since their first message after the last agent reply.
           (SELECT min({_AT}) FROM message m WHERE m.conversation = x.id AND m.kind = 'message'
               AND m.direction = 'in' AND m.id > coalesce((SELECT max(o.id) FROM message o
                   WHERE o.conversation = x.id AND o.kind = 'message' AND o.direction = 'out'
                     AND o.author_type = 'agent'), 0)) AS waiting
      FROM unnest($1::int[]) AS x(id)
) s
WHERE c.id = s.id
"""


async def lock(conn: asyncpg.Connection, ids: Iterable[int]) -> dict[int, asyncpg.Record]:
    """Lock the conversations in id order (two merges of one pair in opposite directions wait
    for each other instead of deadlocking); NotFound for an unknown id."""
    wanted = sorted(set(ids))
    rows = {int(r["id"]): r for r in await conn.fetch(_LOCK, wanted)}
    for conversation_id in wanted:
        if conversation_id not in rows:
            raise NotFound(f"no conversation {conversation_id}")
    return rows


async def recompute(conn: asyncpg.Connection, ids: Iterable[int]) -> None:
    """Last message, last inbound, first reply and waiting time from the messages held now."""
    await conn.execute(_RECOMPUTE, sorted(set(ids)))


def state_of(row: asyncpg.Record) -> dict[str, Any]:
    return {
        column: (row[column].isoformat() if hasattr(row[column], "isoformat") else row[column])
        for column in STATE_COLUMNS
    }


async def restore_state(
    conn: asyncpg.Connection, conversation_id: int, state: dict[str, Any]
) -> None:
    await conn.execute(
        "UPDATE conversation SET status = $2, resolved_at = $3::text::timestamptz,"
        " snoozed_until = $4::text::timestamptz, unread_count = $5,"
        " waiting_since = $6::text::timestamptz, last_message_at = $7::text::timestamptz,"
        " last_inbound_at = $8::text::timestamptz, first_reply_at = $9::text::timestamptz,"
        " assignee = $10, merged_into = NULL, updated_at = now() WHERE id = $1",
        conversation_id,
        *(state.get(column) for column in STATE_COLUMNS),
    )


async def resolve(conversation_id: int) -> int:
    """The conversation that holds this one's messages now (itself unless it was merged)."""
    pool = connection_pool()
    current = conversation_id
    for _ in range(20):  # merges chain (a into b, b into c); a cycle cannot form, but be safe
        merged_into = await pool.fetchval(
            "SELECT merged_into FROM conversation WHERE id = $1", current
        )
        if merged_into is None:
            return current
        current = int(merged_into)
    return current


async def updated_events(
    conn: asyncpg.Connection, ids: Iterable[int], changed: dict[str, Any]
) -> list[events.Event]:
    """conversation.updated for each, telling open tabs to reload the timeline."""
    pending = []
    for conversation_id in sorted(set(ids)):
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
