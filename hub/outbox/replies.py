"""Creating a reply: checks (channel window, attachments), the `pending` row and its event in one transaction, then the dispatch job."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence
from typing import Any

import msgspec

from hub.auth.access import NotFound
from hub.auth.accounts import AgentInfo
from hub.db.engine import connection_pool
from hub.realtime import events

log = logging.getLogger(__name__)

# An enqueue that has not answered by then is given up: the reply is committed `pending` and the
# sweep sends it, so a hanging queue must not hold the agent's request (or a job) with it.
ENQUEUE_TIMEOUT_SECONDS = 5.0


class InvalidReply(ValueError):
    pass


async def create_reply(
    conversation_id: int,
    *,
    agent: AgentInfo | None,
    text: str,
    private: bool = False,
    attachments: Sequence[dict[str, Any]] = (),
    template: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    mentions: Sequence[dict[str, Any]] = (),
    origin: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Store a reply (`pending`) or a private note; the caller enqueues dispatch for replies.

    `mentions` (checked by hub.notifications.mentions) are kept in a note's meta. Without an
    agent the hub itself is the author (a macro run by automation); `origin` (what made it, e.g.
    a macro and a rule) is kept in the meta too."""
    text = text.strip()
    if not text and not attachments and not template:
        raise InvalidReply("a message needs text, an attachment or a template")
    if limits and not private:
        max_len = limits.get("max_text_length")
        if max_len and len(text) > max_len:
            raise InvalidReply(
                f"this channel accepts at most {max_len} characters; the text has {len(text)}"
            )
        if attachments and not limits.get("supports_attachments"):
            raise InvalidReply("this channel cannot send attachments")
    kind = "note" if private else "message"
    status = "received" if private else "pending"
    if mentions and not private:
        raise InvalidReply("only private notes can mention agents and teams")
    meta: dict[str, Any] = {"template": template} if template else {}
    if mentions:
        meta["mentions"] = list(mentions)
    if origin:
        meta["origin"] = origin
    async with connection_pool().acquire() as conn, conn.transaction():
        conv = await conn.fetchrow(
            "SELECT id, inbox, last_inbound_at FROM conversation WHERE id = $1 FOR UPDATE",
            conversation_id,
        )
        if conv is None:
            raise NotFound(f"no conversation {conversation_id}")
        window = (limits or {}).get("reply_window_hours")
        if window and not private and not template:
            _check_window(conv["last_inbound_at"], window)

        message_id = await conn.fetchval(
            "INSERT INTO message (conversation, inbox, kind, direction, author_type, author_id, text, html, status,"
            " error, attempts, meta, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $9, $5, $6, '', $7, '', 0, $8::jsonb, now(), now()) RETURNING id",
            conversation_id,
            conv["inbox"],
            kind,
            None if private else "out",
            agent.id if agent else None,
            text,
            status,
            msgspec.json.encode(meta).decode(),
            "agent" if agent else "system",
        )
        for att in attachments:
            await conn.execute(
                "INSERT INTO attachment (message, sha256, filename, content_type, size, created_at)"
                " VALUES ($1, $2, $3, $4, $5, now())",
                message_id,
                att["sha256"],
                att["filename"],
                att["content_type"],
                att["size"],
            )
        if not private:
            # A reply answers the customer: nothing is waiting or unread any more.
            await conn.execute(
                "UPDATE conversation SET first_reply_at = coalesce(first_reply_at, now()), waiting_since = NULL,"
                " unread_count = 0, last_message_at = now(), updated_at = now() WHERE id = $1",
                conversation_id,
            )
        message = msgspec.json.decode(
            await conn.fetchval("SELECT hub_message_json($1)", message_id)
        )
        pending = [
            {
                "type": "message.created",
                "conversation": conversation_id,
                "inbox": conv["inbox"],
                "data": message,
            }
        ]
        if not private:
            conversation = msgspec.json.decode(
                await conn.fetchval("SELECT hub_conversation_json($1)", conversation_id)
            )
            pending.append(
                {
                    "type": "conversation.updated",
                    "conversation": conversation_id,
                    "inbox": conv["inbox"],
                    "data": conversation,
                }
            )
        emitted = await events.emit(
            conn,
            pending,
            actor_type="agent" if agent else "system",
            actor_id=agent.id if agent else None,
        )
    await events.publish(emitted)
    result: dict[str, Any] = message
    return result


def _check_window(last_inbound: dt.datetime | None, hours: int) -> None:
    """Free text is refused before anything is stored once the channel's reply window closed."""
    if last_inbound is None:
        raise InvalidReply(
            f"this channel allows free text only within {hours} hours of the customer's last"
            " message, and the customer has not written yet: send an approved template"
        )
    closes = last_inbound + dt.timedelta(hours=hours)
    if dt.datetime.now(dt.UTC) >= closes:
        raise InvalidReply(
            f"outside the {hours}-hour reply window: the customer last wrote at"
            f" {last_inbound.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC; send an approved template instead"
        )


async def enqueue_dispatch(
    message_id: int, attempts: int = 0, *, delay: float = 0.0, again: str = ""
) -> bool:
    """Queue the send; the key makes a second enqueue of the same attempt a no-op.

    Never raises: the reply is already committed `pending`, which is the outbox. When the queue
    is away (Redis down) the row waits for `sweep_outbound`, which enqueues it once the queue is
    back. Raising here answered the agent's reply with a 500 although it had been stored, and a
    retried request would have sent it twice. False when the queue refused. `again` makes the key
    of a deliberate second job for the same attempt (a send deferred while its inbox is busy).
    """
    from hub.jobs.registry import enqueue
    from hub.system.services import current

    extra = {"scheduled": int(time.time() + delay)} if delay > 0 else {}
    try:
        await asyncio.wait_for(
            enqueue(
                current().queue,
                "dispatch",
                key=f"dispatch:{message_id}:{attempts}{again}",
                message_id=message_id,
                **extra,
            ),
            ENQUEUE_TIMEOUT_SECONDS,
        )
    except Exception as exc:
        log.warning(
            "could not queue reply %s (%s: %s); the outbox sweep will send it",
            message_id,
            type(exc).__name__,
            exc,
        )
        return False
    return True
