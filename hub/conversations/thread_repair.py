"""Threads that repair themselves when their messages arrive out of order.

A reply stored before its parent opens a conversation of its own (threading found none of the ids
it names). Once both are stored, the two conversations are merged, whichever arrived last:

- the parent arrives: the conversations opened by a message naming the parent's Message-ID in
  In-Reply-To / References are merged into the parent's (an index holds exactly those messages);
- the reply's own commit comes after its parent's (they were in flight together): the reply's
  conversation is merged into the one holding the newest message it names, as threading would
  have chosen had the parent been there.

The later of the two commits always sees the other, so imports in any order end with the same
conversations as in-order ones. Bulk mail (newsletters) only joins replies from the contact of
its conversation, as threading does; conversations an agent split apart, or whose merge an agent
undid, are never joined again.
"""

from __future__ import annotations

import logging
from typing import Any

from hub.conversations import merge, summary
from hub.db.engine import connection_pool

log = logging.getLogger(__name__)

_OPENED_BY_REPLIES = (
    "SELECT DISTINCT m.conversation FROM message m JOIN conversation c ON c.id = m.conversation"
    " WHERE m.inbox = $1 AND m.conversation <> $2 AND c.merged_into IS NULL"
    " AND m.meta->'thread'->'new_conversation' = 'true'::jsonb"
    " AND (coalesce(m.meta->'thread'->'in_reply_to', '[]'::jsonb)"
    "      || coalesce(m.meta->'thread'->'references', '[]'::jsonb)) ? $3"
    " AND (NOT $4 OR c.contact = (SELECT contact FROM conversation WHERE id = $2))"
)

_NEWEST_NAMED = (
    "SELECT m.conversation, coalesce((m.meta->>'bulk')::boolean, false) AS bulk, c.contact"
    " FROM message m JOIN conversation c ON c.id = m.conversation"
    " WHERE m.inbox = $1 AND m.provider_message_id = ANY($2::text[]) AND m.conversation <> $3"
    " ORDER BY m.id DESC LIMIT 20"
)

# Pairs an agent separated: one split from the other, or an undone merge of one into the other.
_SEPARATED = (
    "SELECT EXISTS (SELECT 1 FROM conversation WHERE (id = $1::int AND meta->>'split_from' = $2::int::text)"
    "   OR (id = $2::int AND meta->>'split_from' = $1::int::text))"
    " OR EXISTS (SELECT 1 FROM conversation_merge WHERE undone_at IS NOT NULL"
    "   AND ((target = $1::int AND $2::int = ANY(sources)) OR (target = $2::int AND $1::int = ANY(sources))))"
)


async def repair(item: dict[str, Any], conversation_id: int) -> list[int]:
    """After a message with thread hints was stored in `conversation_id`; returns the
    conversations merged away (usually none)."""
    meta = item.get("meta") or {}
    thread = meta.get("thread") or {}
    if not thread:
        return []
    inbox_id = int(item["inbox_id"])
    pool = connection_pool()
    merged: list[int] = []
    own_id = thread.get("message_id")
    if own_id:
        waiting = await pool.fetch(
            _OPENED_BY_REPLIES, inbox_id, conversation_id, own_id, bool(meta.get("bulk"))
        )
        for row in waiting:
            if await _join(
                int(row["conversation"]),
                conversation_id,
                f"a reply to <{own_id}> had arrived before it",
            ):
                merged.append(int(row["conversation"]))
    named = list(
        dict.fromkeys([*thread.get("in_reply_to", []), *reversed(thread.get("references", []))])
    )
    if thread.get("new_conversation") and named:
        current = await summary.resolve(conversation_id)
        for row in await pool.fetch(_NEWEST_NAMED, inbox_id, named, current):
            if row["bulk"]:
                continue  # a newsletter: threading would not have joined this reply either
            if await _join(
                current, int(row["conversation"]), "it answers a message of this conversation"
            ):
                merged.append(current)
            break
    return merged


async def _join(source_id: int, target_id: int, why: str) -> bool:
    """Merge source into target as the hub; follows earlier merges, retries a lost race once."""
    for _ in range(3):
        source = await summary.resolve(source_id)
        target = await summary.resolve(target_id)
        if source == target:
            return False
        if await connection_pool().fetchval(_SEPARATED, source, target):
            return False
        try:
            await merge.merge(target, [source], actor=None, reason=f"email thread repair: {why}")
            return True
        except merge.InvalidMerge as exc:
            # Merged concurrently by another repair (or moved inbox): look again.
            log.debug("thread repair of %s into %s: %s", source, target, exc)
    return False
