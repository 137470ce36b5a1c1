"""When surveys go: scheduled on a resolution, cancelled by a reopen, sent by the sweep.

The `csat` event subscriber reads conversation.updated events in commit order. A change to
`resolved` schedules a survey for `resolved + delay` when the inbox has CSAT on and the
conversation has no answer yet; the resolving event's id is the survey's unique key, so a batch
delivered twice schedules once. Any later status that is active again (open, pending, snoozed)
cancels a survey not sent yet. The sweep (a SAQ cron, hub.csat.jobs) claims due rows with
`FOR UPDATE SKIP LOCKED` and marks them sent in the transaction that stores the survey message,
so however many workers sweep at once, each survey goes once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from hub.csat import settings as csat_settings
from hub.csat import tokens
from hub.db.engine import connection_pool
from hub.outbox.replies import enqueue_dispatch
from hub.realtime import events
from hub.realtime.events import Event
from hub.system import clock

SUBSCRIBER = "csat"
EVENT_TYPES = ("conversation.updated",)
ACTIVE = frozenset({"open", "pending", "snoozed"})

_SCHEDULE = (
    "INSERT INTO csat_survey (conversation, inbox, resolution_event, due_at, question)"
    " SELECT $1, $2, $3, $4::timestamptz + make_interval(mins => s.delay_minutes),"
    " CASE WHEN s.question = '' THEN $5 ELSE s.question END"
    " FROM csat_setting s WHERE s.inbox = $2 AND s.enabled"
    " AND NOT EXISTS (SELECT 1 FROM csat_response r WHERE r.conversation = $1)"
    " ON CONFLICT (resolution_event) DO NOTHING"
)
_CANCEL = (
    "UPDATE csat_survey SET status = 'cancelled', error = $2"
    " WHERE conversation = $1 AND status = 'scheduled'"
)


async def handle(batch: Sequence[Event]) -> None:
    """Two reads per batch whatever its size (ingest emits a conversation.updated per message):
    which inboxes ask at all, and which of the batch's conversations have a survey waiting; then
    a statement only per resolution in such an inbox and per reopen of a waiting survey."""
    conversations = sorted({e.conversation_id for e in batch if e.conversation_id is not None})
    async with connection_pool().acquire() as conn, conn.transaction():
        asking = {
            r["inbox"] for r in await conn.fetch("SELECT inbox FROM csat_setting WHERE enabled")
        }
        waiting = {
            r["conversation"]
            for r in await conn.fetch(
                "SELECT DISTINCT conversation FROM csat_survey"
                " WHERE status = 'scheduled' AND conversation = ANY($1::int[])",
                conversations,
            )
        }
        for event in batch:
            conversation, inbox = event.conversation_id, event.inbox_id
            if conversation is None or inbox is None:
                continue
            status = event.data.get("status")
            changed = event.data.get("changed")
            resolved = status == "resolved" and isinstance(changed, dict) and "status" in changed
            if resolved and inbox in asking:
                made = await conn.execute(
                    _SCHEDULE,
                    conversation,
                    inbox,
                    event.id,
                    dt.datetime.fromisoformat(event.created_at),
                    csat_settings.DEFAULT_QUESTION,
                )
                if made.endswith(" 1"):
                    waiting.add(conversation)
            elif status in ACTIVE and conversation in waiting:
                await conn.execute(_CANCEL, conversation, f"the conversation became {status}")
                waiting.discard(conversation)


_DUE = (
    "SELECT s.id, s.conversation, s.inbox, s.question, c.status, c.last_inbound_at,"
    " i.reply_window_hours FROM csat_survey s JOIN conversation c ON c.id = s.conversation"
    " JOIN inbox i ON i.id = s.inbox WHERE s.status = 'scheduled' AND s.due_at <= $1"
    " ORDER BY s.due_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED"
)


def _template(
    row: asyncpg.Record, settings: csat_settings.CsatSettings, now: dt.datetime
) -> tuple[dict[str, Any] | None, str]:
    """(template, refusal): a channel with a reply window gets the template once it closed."""
    hours = row["reply_window_hours"]
    last = row["last_inbound_at"]
    if not hours or (last is not None and now < last + dt.timedelta(hours=hours)):
        return None, ""
    if not settings.template:
        return None, (
            f"the {hours}-hour reply window is closed and the inbox's CSAT settings name no"
            " approved template"
        )
    return {"name": settings.template, "variables": []}, ""


async def _send_one(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    now: dt.datetime,
    secret_key: str,
    public: str,
    cache: dict[int, csat_settings.CsatSettings],
) -> tuple[int | None, list[dict[str, Any]]]:
    """Store the survey message and mark the survey sent; (message id, events to emit)."""
    if row["status"] not in ("resolved", "closed"):
        await conn.execute(_CANCEL, row["conversation"], f"the conversation is {row['status']}")
        return None, []
    settings = cache.get(row["inbox"])
    if settings is None:
        settings = cache[row["inbox"]] = await csat_settings.load(conn, row["inbox"])
    template, refusal = _template(row, settings, now)
    if refusal:
        await conn.execute(
            "UPDATE csat_survey SET status = 'failed', error = $2 WHERE id = $1", row["id"], refusal
        )
        return None, []
    survey = {
        "survey": row["id"],
        "question": row["question"],
        "link": tokens.link(public, secret_key, row["id"]),
    }
    meta: dict[str, Any] = {"csat": survey}
    if template:
        meta["template"] = template
    message_id = await conn.fetchval(
        "INSERT INTO message (conversation, inbox, kind, direction, author_type, author_id, text,"
        " html, status, error, attempts, meta, created_at, updated_at) VALUES ($1, $2, 'message',"
        " 'out', 'system', NULL, $3, '', 'pending', '', 0, $4::jsonb, now(), now()) RETURNING id",
        row["conversation"],
        row["inbox"],
        row["question"],
        msgspec.json.encode(meta).decode(),
    )
    await conn.execute(
        "UPDATE csat_survey SET status = 'sent', sent_at = $2, expires_at = $3, message = $4"
        " WHERE id = $1",
        row["id"],
        now,
        now + dt.timedelta(hours=settings.window_hours),
        message_id,
    )
    message = msgspec.json.decode(await conn.fetchval("SELECT hub_message_json($1)", message_id))
    base = {"conversation": row["conversation"], "inbox": row["inbox"]}
    return message_id, [
        {**base, "type": "message.created", "data": message},
        {**base, "type": "csat.sent", "data": {"conversation": row["conversation"]}},
    ]


async def sweep(*, limit: int = 200) -> dict[str, int]:
    """Send every survey that is due; returns how many went."""
    from hub.system.services import current

    settings = current().settings
    now = clock.now()
    sent: list[int] = []
    async with connection_pool().acquire() as conn, conn.transaction():
        rows = await conn.fetch(_DUE, now, limit)
        pending: list[dict[str, Any]] = []
        cache: dict[int, csat_settings.CsatSettings] = {}  # each inbox's settings, read once
        for row in rows:
            message_id, emitted = await _send_one(
                conn, row, now, settings.secret_key, settings.public_url, cache
            )
            if message_id is not None:
                sent.append(message_id)
                pending.extend(emitted)
        published = await events.emit(conn, pending)
    await events.publish(published)
    # Together rather than one round trip after another; a lost enqueue is not a lost survey:
    # the outbox sweep re-enqueues pending rows.
    await asyncio.gather(*(enqueue_dispatch(m) for m in sent))
    return {"due": len(rows), "sent": len(sent)}
