"""Splitting a conversation: a message and the ones after it (or a chosen set) become a new
conversation of the same contact in the same inbox.

The rows keep their ids and times. The new conversation remembers where it came from
(`meta.split_from`), which also keeps thread repair from joining the two again. Email replies
follow the split by themselves: the customer's client names the message it answers, and
threading picks the newest stored message it names, which now lives in the new conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from hub.auth.accounts import AgentInfo
from hub.conversations import summary
from hub.conversations.lifecycle import InvalidChange, record_activity
from hub.db.engine import connection_pool
from hub.realtime import events


class InvalidSplit(InvalidChange):
    pass


async def split(
    conversation_id: int,
    *,
    message_id: int | None = None,
    message_ids: Sequence[int] = (),
    actor: AgentInfo | None,
) -> dict[str, Any]:
    """Move `message_id` and every later row, or exactly `message_ids`; returns the new conversation."""
    if (message_id is None) == (not message_ids):
        raise InvalidSplit("give either message_id (it and the later ones) or message_ids")
    async with connection_pool().acquire() as conn, conn.transaction():
        rows = await summary.lock(conn, [conversation_id])
        source = rows[conversation_id]
        if source["merged_into"] is not None:
            raise InvalidSplit(f"#{source['ref']} was merged into another conversation")
        chosen = [message_id] if message_id is not None else list(dict.fromkeys(message_ids))
        found = {
            int(r["id"]): r["kind"]
            for r in await conn.fetch(
                "SELECT id, kind FROM message WHERE conversation = $1 AND id = ANY($2::bigint[])",
                conversation_id,
                chosen,
            )
        }
        for n, wanted in enumerate(chosen):
            field = "message_id" if message_id is not None else f"message_ids[{n}]"
            if wanted not in found:
                raise InvalidSplit(f"{field}: no message {wanted} in conversation #{source['ref']}")
            if found[wanted] == "event":
                raise InvalidSplit(f"{field}: {wanted} is an activity line, not a message")
        if message_id is not None:
            ids = [
                int(r["id"])
                for r in await conn.fetch(
                    "SELECT id FROM message WHERE conversation = $1 AND id >= $2 ORDER BY id",
                    conversation_id,
                    message_id,
                )
            ]
        else:
            ids = sorted(found)
        left = await conn.fetchval(
            "SELECT count(*) FROM message WHERE conversation = $1 AND kind = 'message'"
            " AND NOT id = ANY($2::bigint[])",
            conversation_id,
            ids,
        )
        if not left:
            raise InvalidSplit(
                "message_id: that would move every message; the conversation would be left empty"
            )
        new_id = await conn.fetchval(
            # The tags are copied below, so what they required (hub.routing.requirements) too.
            "INSERT INTO conversation (inbox, contact, status, priority, subject, team, assignee,"
            " unread_count, created_at, updated_at, last_message_at, meta, requirements,"
            " tag_requirements) SELECT inbox, contact, 'open', priority, subject, team, assignee, 0,"
            " now(), now(), now(), jsonb_build_object('split_from', id), requirements,"
            " tag_requirements FROM conversation WHERE id = $1 RETURNING id",
            conversation_id,
        )
        await conn.execute(
            "UPDATE message SET conversation = $1 WHERE id = ANY($2::bigint[])", new_id, ids
        )
        await conn.execute(
            "INSERT INTO conversation_tag (conversation, tag) SELECT $1, tag FROM conversation_tag"
            " WHERE conversation = $2",
            new_id,
            conversation_id,
        )
        await summary.recompute(conn, [conversation_id, new_id])
        new_ref = await conn.fetchval("SELECT ref FROM conversation WHERE id = $1", new_id)
        created = msgspec.json.decode(
            await conn.fetchval("SELECT hub_conversation_json($1)", new_id)
        )
        emitted = await events.emit(
            conn,
            [
                {
                    "type": "conversation.created",
                    "conversation": new_id,
                    "inbox": source["inbox"],
                    "data": created,
                }
            ],
            actor_type="agent" if actor else "system",
            actor_id=actor.id if actor else None,
        )
        count = f"{len(ids)} message{'s' if len(ids) != 1 else ''}"
        emitted += await record_activity(
            conn,
            conversation_id,
            source["inbox"],
            [f"split {count} into #{new_ref}"],
            actor=actor,
            changed={"split_into": new_id, "messages": ids},
        )
        emitted += await record_activity(
            conn,
            new_id,
            source["inbox"],
            [f"split {count} from #{source['ref']} into this conversation"],
            actor=actor,
            changed={"split_from": conversation_id, "messages": ids},
        )
        result: dict[str, Any] = msgspec.json.decode(
            await conn.fetchval("SELECT hub_conversation_json($1)", new_id)
        )
    await events.publish(emitted)
    result["split_from"] = conversation_id
    result["moved_message_ids"] = ids
    return result
