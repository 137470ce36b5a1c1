"""An agent's notifications: the list, the unread count, marking read, preferences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from hub.db.engine import connection_pool
from hub.notifications import store
from hub.notifications.kinds import Preference, check_kinds, effective


class Page(msgspec.Struct):
    items: list[dict[str, Any]]
    unread_count: int
    next_cursor: int | None


async def unread_count(agent_id: int) -> int:
    return int(
        await connection_pool().fetchval(
            "SELECT count(*) FROM notification WHERE agent = $1 AND in_app AND read_at IS NULL",
            agent_id,
        )
    )


async def page(
    agent_id: int, *, unread: bool = False, limit: int = 50, before: int | None = None
) -> Page:
    """Newest first; `before` (the previous page's next_cursor) continues the list."""
    raw = await connection_pool().fetchval(
        "SELECT coalesce(jsonb_agg(" + store.NOTIFICATION_JSON + " ORDER BY n.id DESC),"
        " '[]'::jsonb) FROM (SELECT * FROM notification WHERE agent = $1 AND in_app"
        " AND ($2::bool IS FALSE OR read_at IS NULL) AND ($3::bigint IS NULL OR id < $3)"
        " ORDER BY id DESC LIMIT $4) n",
        agent_id,
        unread,
        before,
        limit,
    )
    items: list[dict[str, Any]] = msgspec.json.decode(raw)
    cursor = int(items[-1]["id"]) if len(items) == limit else None
    return Page(items=items, unread_count=await unread_count(agent_id), next_cursor=cursor)


async def mark_read(agent_id: int, ids: Sequence[int] | None) -> int:
    """Mark the agent's notifications read (`ids`, or all when None); returns the unread count.
    Ids of other agents' notifications are ignored, never touched."""
    pool = connection_pool()
    if ids is None:
        changed = await pool.fetch(
            "UPDATE notification SET read_at = now() WHERE agent = $1 AND in_app"
            " AND read_at IS NULL RETURNING id",
            agent_id,
        )
    else:
        changed = await pool.fetch(
            "UPDATE notification SET read_at = now() WHERE agent = $1 AND id = ANY($2::bigint[])"
            " AND read_at IS NULL RETURNING id",
            agent_id,
            list(ids),
        )
    unread = await unread_count(agent_id)
    if changed:
        await store.emit_read(agent_id, None if ids is None else [r["id"] for r in changed], unread)
    return unread


async def mark_conversation_read(agent_id: int, conversation_id: int) -> None:
    """Opening a conversation reads its notifications: the bell should not nag about it."""
    ids = await connection_pool().fetch(
        "SELECT id FROM notification WHERE agent = $1 AND conversation = $2 AND in_app"
        " AND read_at IS NULL",
        agent_id,
        conversation_id,
    )
    if ids:
        await mark_read(agent_id, [r["id"] for r in ids])


async def get_preferences(agent_id: int) -> dict[str, Preference]:
    async with connection_pool().acquire() as conn:
        return (await store.preferences(conn, [agent_id]))[agent_id]


async def set_preferences(
    agent_id: int, changes: Mapping[str, Preference]
) -> dict[str, Preference]:
    """Store the kinds given (the others keep theirs); returns every kind's preference."""
    check_kinds(changes)
    async with connection_pool().acquire() as conn, conn.transaction():
        for kind, pref in changes.items():
            await conn.execute(
                "INSERT INTO notification_preference (agent, kind, in_app, email)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (agent, kind)"
                " DO UPDATE SET in_app = excluded.in_app, email = excluded.email",
                agent_id,
                kind,
                pref.in_app,
                pref.email,
            )
    return effective(await get_preferences(agent_id))
