"""What a visitor may see: only the messages of their own conversations in that inbox, never notes or activity lines."""

from __future__ import annotations

from typing import Any

import msgspec

from hub.db.engine import connection_pool
from hub.realtime.events import Event, decode_events


def attachment_url(attachment_id: int) -> str:
    return f"/api/v1/widget/attachments/{attachment_id}"


def message_view(message: dict[str, Any]) -> dict[str, Any] | None:
    """A message as the visitor sees it; None for notes and activity lines (kind `event`).

    Internal fields (meta, errors, agent ids, html) are left out; an agent is shown by name.
    """
    if message.get("kind") != "message":
        return None
    author = message.get("author") or {}
    inbound = message.get("direction") == "in"
    meta = message.get("meta") or {}
    return {
        "id": message["id"],
        "conversation_id": message.get("conversation_id"),
        "client_id": meta.get("client_id") if inbound else None,
        "direction": message.get("direction"),
        "author": {"type": author.get("type"), "name": author.get("name") or ""},
        "text": message.get("text") or "",
        "attachments": [
            {
                "id": a["id"],
                "filename": a.get("filename", ""),
                "content_type": a.get("content_type", ""),
                "size": a.get("size", 0),
                "url": attachment_url(a["id"]),
            }
            for a in message.get("attachments") or []
        ],
        # The visitor's own message is stored: "sent". An agent's reply shows its delivery state.
        "status": "sent" if inbound else message.get("status"),
        "created_at": message.get("created_at"),
        **_survey(meta, inbound),
    }


def _survey(meta: dict[str, Any], inbound: bool) -> dict[str, Any]:
    """A CSAT survey message carries its card: the question, and the rating once answered."""
    survey = meta.get("csat") if not inbound else None
    if not isinstance(survey, dict) or "survey" not in survey:
        return {}
    return {"csat": {"survey_id": survey["survey"], "rating": survey.get("rating")}}


def event_view(event: Event) -> dict[str, Any] | None:
    """An event as the visitor's socket carries it, or None if visitors do not see it."""
    if event.type in ("message.created", "message.updated"):
        view = message_view(event.data)
        if view is None:
            return None
        return {
            "id": event.id,
            "type": event.type,
            "conversation_id": event.conversation_id,
            "data": view,
        }
    if event.type in ("conversation.created", "conversation.updated"):
        # Only the state a visitor can act on: tags, assignees and priorities stay internal.
        return {
            "id": event.id,
            "type": event.type,
            "conversation_id": event.conversation_id,
            "data": {
                "id": event.conversation_id,
                "status": event.data.get("status"),
                "seen": event.data.get("unread_count") == 0,
            },
        }
    return None


async def list_messages(
    inbox_id: int,
    contact_id: int,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The visitor's messages in this inbox (every conversation of theirs), oldest first."""
    limit = max(1, min(limit, 200))
    # Newest page first (before=), or catching up in order (after=); shown oldest first either way.
    order, bound = ("ASC", "m.id > $3") if after is not None else ("DESC", "m.id < $3")
    rows = await connection_pool().fetch(
        "SELECT hub_message_json(id) AS m FROM (SELECT m.id FROM message m"
        " JOIN conversation c ON c.id = m.conversation"
        f" WHERE c.inbox = $1 AND c.contact = $2 AND m.kind = 'message' AND {bound}"
        f" ORDER BY m.id {order} LIMIT $4) x ORDER BY id",
        inbox_id,
        contact_id,
        after if after is not None else (before or 2**62),
        limit,
    )
    views = (message_view(msgspec.json.decode(r["m"])) for r in rows)
    return [v for v in views if v is not None]


async def last_event_id() -> int:
    """A safe resume point: ids are assigned in commit order, so nothing later can be lower."""
    return int(await connection_pool().fetchval("SELECT coalesce(max(id), 0) FROM event"))


async def events_for(
    after: int, inbox_id: int, contact_id: int, *, limit: int = 500
) -> list[Event]:
    """Committed events of the visitor's conversations with id > after, oldest first (unfiltered:
    pass each through `event_view`)."""
    raw = await connection_pool().fetchval(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'type', type, 'conversation_id',"
        " conversation, 'inbox_id', inbox, 'data', data, 'created_at', created_at) ORDER BY id),"
        " '[]'::jsonb) FROM (SELECT * FROM event WHERE id > $1 AND inbox = $2 AND conversation IN"
        " (SELECT id FROM conversation WHERE inbox = $2 AND contact = $3) ORDER BY id LIMIT $4) e",
        after,
        inbox_id,
        contact_id,
        limit,
    )
    return decode_events(raw)


async def attachment_for(
    attachment_id: int, inbox_id: int, contact_id: int
) -> dict[str, Any] | None:
    """A file of one of the visitor's visible messages (never of a note), else None."""
    row = await connection_pool().fetchrow(
        "SELECT a.sha256, a.filename, a.content_type FROM attachment a"
        " JOIN message m ON m.id = a.message JOIN conversation c ON c.id = m.conversation"
        " WHERE a.id = $1 AND m.kind = 'message' AND c.inbox = $2 AND c.contact = $3",
        attachment_id,
        inbox_id,
        contact_id,
    )
    return dict(row) if row is not None else None


async def unread_replies(
    inbox_id: int, contact_id: int, up_to: int, *, limit: int = 100
) -> list[str]:
    """Provider ids of the agent replies up to a message id that the visitor has not read yet."""
    rows = await connection_pool().fetch(
        "SELECT m.provider_message_id FROM message m JOIN conversation c ON c.id = m.conversation"
        " WHERE c.inbox = $1 AND c.contact = $2 AND m.id <= $3 AND m.kind = 'message'"
        " AND m.direction = 'out' AND m.status IN ('sent', 'delivered')"
        " AND m.provider_message_id IS NOT NULL ORDER BY m.id DESC LIMIT $4",
        inbox_id,
        contact_id,
        up_to,
        limit,
    )
    return [str(r["provider_message_id"]) for r in rows]
