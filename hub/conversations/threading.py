"""Threading lookups channels use to fill `ThreadHints.conversation_id` before ingest.

Email threads by reply token, then by stored message ids (Message-ID / In-Reply-To /
References), then by `[#ref]` from a participant; chat channels need none of this and let
ingest pick the open conversation of the contact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hub.channels.contract import Identity
from hub.contacts.identities import normalise
from hub.db.engine import connection_pool
from hub.system.crypto import constant_time_equal, reading_keys, sign

_TOKEN = re.compile(r"^c(\d+)([0-9a-f]{16})$")


def reply_token(secret_key: str, conversation_id: int) -> str:
    """An unguessable token naming a conversation (e.g. for support+<token>@example.com)."""
    return (
        f"c{conversation_id}{sign(secret_key, 'reply-token', str(conversation_id).encode())[:16]}"
    )


def conversation_for_token(secret_key: str, token: str) -> int | None:
    match = _TOKEN.match(token.strip().lower())
    if not match:
        return None
    conversation_id = int(match.group(1))
    return (
        conversation_id
        if any(
            constant_time_equal(token.strip().lower(), reply_token(key, conversation_id))
            for key in reading_keys(secret_key)
        )
        else None
    )


async def conversation_by_provider_ids(inbox_id: int, provider_ids: Sequence[str]) -> int | None:
    """The conversation holding any of these provider message ids (newest match wins)."""
    ids = [i for i in dict.fromkeys(provider_ids) if i]
    if not ids:
        return None
    pool = connection_pool()
    found = await pool.fetchval(
        "SELECT conversation FROM message WHERE inbox = $1 AND provider_message_id = ANY($2::text[])"
        " ORDER BY id DESC LIMIT 1",
        inbox_id,
        ids,
    )
    return int(found) if found is not None else None


async def conversation_by_ref(inbox_id: int, ref: int, sender: Identity) -> int | None:
    """The conversation `#ref` of this inbox, only if the sender is its contact or wrote in it."""
    who = normalise(sender)
    pool = connection_pool()
    found = await pool.fetchval(
        "SELECT c.id FROM conversation c WHERE c.inbox = $1 AND c.ref = $2 AND ("
        " c.contact = (SELECT contact FROM contact_identity WHERE kind = $3 AND address = $4)"
        " OR EXISTS (SELECT 1 FROM message m JOIN contact_identity i ON i.contact = m.author_id"
        "   WHERE m.conversation = c.id AND m.author_type = 'contact' AND i.kind = $3 AND i.address = $4))",
        inbox_id,
        ref,
        who.kind,
        who.address,
    )
    return int(found) if found is not None else None


async def provider_ids_of(conversation_id: int, *, limit: int = 20) -> list[str]:
    """Provider ids of a conversation's messages, oldest first (for email References)."""
    pool = connection_pool()
    rows = await pool.fetch(
        "SELECT provider_message_id FROM (SELECT id, provider_message_id FROM message"
        " WHERE conversation = $1 AND provider_message_id IS NOT NULL ORDER BY id DESC LIMIT $2) x ORDER BY id",
        conversation_id,
        limit,
    )
    return [r["provider_message_id"] for r in rows]


async def merged_thread_roots(conversation_id: int) -> list[str]:
    """The first provider id of each conversation merged (and not unmerged) into this one, oldest
    merge first: replies name every thread the customer's mail client knows (docs/inbox.md)."""
    rows = await connection_pool().fetch(
        "SELECT r.provider_message_id FROM conversation_merge g, LATERAL unnest(g.sources) AS x(source),"
        " LATERAL (SELECT m.provider_message_id FROM jsonb_array_elements_text(g.moved->(x.source::text)) e(id)"
        "   JOIN message m ON m.id = e.id::bigint"
        "  WHERE m.conversation = $1 AND m.provider_message_id IS NOT NULL ORDER BY m.id LIMIT 1) r"
        " WHERE g.target = $1 AND g.undone_at IS NULL ORDER BY g.id, x.source",
        conversation_id,
    )
    return [r["provider_message_id"] for r in rows]
