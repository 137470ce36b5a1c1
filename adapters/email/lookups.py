"""The one query email threading needs beyond hub.conversations.threading: newsletter-aware id matching.

`hub.conversations.threading.conversation_by_provider_ids` returns the newest conversation holding any of the
ids. Email also needs to know whether the matched message was bulk mail (a newsletter), because
replies from different people to one newsletter must not be merged into one conversation.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from hub.db.engine import connection_pool


class IdMatch(msgspec.Struct, frozen=True):
    conversation_id: int
    ref: int
    bulk: bool


async def matches_for_ids(inbox_id: int, ids: Sequence[str]) -> list[IdMatch]:
    """Stored messages of this inbox with any of these provider ids, newest first."""
    wanted = [i for i in dict.fromkeys(ids) if i]
    if not wanted:
        return []
    pool = connection_pool()
    rows = await pool.fetch(
        "SELECT m.conversation, c.ref, coalesce((m.meta->>'bulk')::boolean, false) AS bulk"
        " FROM message m JOIN conversation c ON c.id = m.conversation"
        " WHERE m.inbox = $1 AND m.provider_message_id = ANY($2::text[]) ORDER BY m.id DESC",
        inbox_id,
        wanted,
    )
    return [IdMatch(r["conversation"], r["ref"], r["bulk"]) for r in rows]
