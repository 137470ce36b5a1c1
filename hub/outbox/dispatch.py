"""Outbound: the message row is the outbox.

A reply is stored `pending` in the same transaction as its event; `dispatch(message_id)` then
claims it (`pending → sending`, one winner), calls the channel's adapter, and records `sent` with
the provider's id, or the failure. A sweep re-enqueues rows left behind by a lost queue or a
killed worker, so no reply is lost; the claim makes sure none is sent twice by us.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import asyncpg
import msgspec

from hub.channels.contract import (
    Identity,
    Outbound,
    OutboundAttachment,
    PermanentSendError,
    Survey,
    TransientSendError,
)
from hub.db.engine import connection_pool
from hub.outbox.replies import InvalidReply, enqueue_dispatch
from hub.realtime import events

log = logging.getLogger(__name__)


MAX_ATTEMPTS = 8


# A claimed row older than this was abandoned (worker killed): longer than the job timeout.
STUCK_SENDING = dt.timedelta(seconds=120)


# A pending row older than this lost its queue entry (Redis flushed, enqueue failed).
STUCK_PENDING = dt.timedelta(seconds=30)


async def set_status(
    conn: asyncpg.Connection, message_id: int, status: str, **fields: Any
) -> list[events.Event]:
    sets = ["status = $2", "updated_at = now()"]
    values: list[Any] = [message_id, status]
    for column, value in fields.items():
        values.append(value)
        sets.append(f"{column} = ${len(values)}")
    row = await conn.fetchrow(
        f"UPDATE message SET {', '.join(sets)} WHERE id = $1 RETURNING conversation, inbox", *values
    )
    assert row is not None
    data = msgspec.json.decode(await conn.fetchval("SELECT hub_message_json($1)", message_id))
    return await events.emit(
        conn,
        [
            {
                "type": "message.updated",
                "conversation": row["conversation"],
                "inbox": row["inbox"],
                "data": data,
            }
        ],
    )


# How long a send deferred because its inbox is busy waits in the queue before it looks again.
BUSY_INBOX_DELAY = 1.0


async def _claim(message_id: int, per_inbox: int) -> asyncpg.Record | None:
    """pending → sending; exactly one caller wins. Not while `per_inbox` replies of the same inbox
    are being sent already (by any worker): a provider that hangs would otherwise take every job
    slot, one stalled reply after another, and no other inbox's reply would go out. The count and
    the claim are one statement, so concurrent claims can overshoot the limit only by the few
    that race, which is harmless."""
    return await connection_pool().fetchrow(
        "UPDATE message m SET status = 'sending', attempts = attempts + 1, updated_at = now()"
        " WHERE m.id = $1 AND m.status = 'pending' AND m.kind = 'message' AND m.direction = 'out'"
        " AND (SELECT count(*) FROM message s WHERE s.status = 'sending' AND s.inbox = m.inbox) < $2"
        " RETURNING id, conversation, inbox, text, html, attempts, author_id, meta",
        message_id,
        per_inbox,
    )


async def _defer_if_pending(message_id: int) -> bool:
    """The claim lost because the inbox is busy: look again shortly, from the queue rather than in
    this job slot. Touching `updated_at` keeps the sweep from queueing a second job meanwhile."""
    attempts = await connection_pool().fetchval(
        "UPDATE message SET updated_at = now() WHERE id = $1 AND status = 'pending'"
        " AND kind = 'message' AND direction = 'out' RETURNING attempts",
        message_id,
    )
    if attempts is None:
        return False
    await enqueue_dispatch(
        message_id, attempts, delay=BUSY_INBOX_DELAY, again=f":busy{time.time_ns()}"
    )
    return True


async def _build(row: asyncpg.Record, attachments_dir: Any) -> Outbound:
    from hub.storage import attachments as storage

    async with connection_pool().acquire() as conn:
        conv = await conn.fetchrow(
            "SELECT c.ref, c.subject, c.contact, c.meta FROM conversation c WHERE c.id = $1",
            row["conversation"],
        )
        assert conv is not None
        channel = await conn.fetchval("SELECT channel FROM inbox WHERE id = $1", row["inbox"])
        identity = await _recipient(conn, conv["contact"], str(channel))
        last_inbound = await conn.fetchval(
            "SELECT provider_message_id FROM message WHERE conversation = $1 AND direction = 'in'"
            " ORDER BY id DESC LIMIT 1",
            row["conversation"],
        )
        agent_name = (
            await conn.fetchval("SELECT name FROM agent WHERE id = $1", row["author_id"]) or ""
        )
        files = await conn.fetch(
            "SELECT id, filename, content_type, size, sha256 FROM attachment WHERE message = $1 ORDER BY id",
            row["id"],
        )
    meta = msgspec.json.decode(row["meta"]) if isinstance(row["meta"], str) else dict(row["meta"])
    csat = meta.get("csat")
    return Outbound(
        inbox_id=row["inbox"],
        conversation_id=row["conversation"],
        conversation_ref=conv["ref"],
        message_id=row["id"],
        recipient=identity,
        text=row["text"],
        html=row["html"],
        subject=conv["subject"],
        attachments=[
            OutboundAttachment(
                f["id"],
                f["filename"],
                f["content_type"],
                f["size"],
                str(storage.path_for(attachments_dir, f["sha256"])),
            )
            for f in files
        ],
        reply_to_provider_id=last_inbound,
        template=meta.get("template"),
        agent_name=agent_name,
        survey=(
            Survey(id=int(csat["survey"]), question=str(csat["question"]), link=str(csat["link"]))
            if isinstance(csat, dict)
            else None
        ),
    )


# Which identity kind a channel writes to, in order of preference.
_RECIPIENT_KINDS = {
    "email": ("email",),
    "telegram": ("telegram",),
    "whatsapp_twilio": ("phone",),
    "whatsapp_cloud": ("phone",),
    "webchat": ("webchat", "email"),
}


async def _recipient(conn: asyncpg.Connection, contact_id: int, channel: str) -> Identity:
    kinds = _RECIPIENT_KINDS.get(channel)
    rows = await conn.fetch(
        "SELECT i.kind, i.address, c.name FROM contact_identity i JOIN contact c ON c.id = i.contact"
        " WHERE i.contact = $1 ORDER BY i.id",
        contact_id,
    )
    for kind in kinds or [r["kind"] for r in rows]:
        for r in rows:
            if r["kind"] == kind:
                return Identity(r["kind"], r["address"], r["name"])
    raise PermanentSendError(f"the contact has no address this channel ({channel}) can write to")


async def dispatch(message_id: int) -> str:
    """Send one reply. Returns what happened; raises TransientSendError to have SAQ retry."""
    from hub.channels import inboxes
    from hub.system.services import current

    settings = current().settings
    row = await _claim(message_id, settings.outbox_inbox_concurrency)
    if row is None:
        if await _defer_if_pending(message_id):
            return "deferred: its inbox has as many replies in flight as it may"
        return "not pending (already sent, being sent, a note, or unknown)"
    try:
        outbound = await _build(row, settings.attachments_dir)
        adapter = await inboxes.adapter_for(
            row["inbox"], secret_key=settings.secret_key, public_url=settings.public_url
        )
        provider_id = await adapter.send(outbound)
    except TransientSendError as exc:
        if row["attempts"] >= MAX_ATTEMPTS:
            await _finish(
                message_id, "failed", error=f"gave up after {row['attempts']} attempts: {exc}"
            )
            return "failed"
        # Back to pending so the retry (or the sweep) can claim it again.
        await _finish(message_id, "pending", error=f"attempt {row['attempts']} failed: {exc}")
        if exc.retry_after:
            # The provider said when to come back (Telegram's 429 retry_after): honour it rather
            # than the queue's fixed backoff.
            await enqueue_dispatch(message_id, row["attempts"], delay=min(exc.retry_after, 3600))
            return f"retry in {exc.retry_after:g} s"
        raise
    except PermanentSendError as exc:
        await _finish(message_id, "failed", error=str(exc) or type(exc).__name__)
        return "failed"
    except Exception as exc:
        # An unexpected error in our own code or the adapter: keep the row for the sweep and retry.
        log.exception("sending message %s failed unexpectedly", message_id)
        await _finish(
            message_id,
            "pending",
            error=f"attempt {row['attempts']} failed: {type(exc).__name__}: {exc}",
        )
        raise TransientSendError(str(exc)) from exc
    await _finish(
        message_id,
        "sent",
        provider_message_id=provider_id,
        error="",
        sent_at=dt.datetime.now(dt.UTC),
    )
    return "sent"


async def _finish(message_id: int, status: str, **fields: Any) -> None:
    async with connection_pool().acquire() as conn, conn.transaction():
        emitted = await set_status(conn, message_id, status, **fields)
    await events.publish(emitted)


async def retry_failed(message_id: int) -> dict[str, Any]:
    """An agent's retry of a failed reply: back to pending, attempts reset, dispatched again."""
    async with connection_pool().acquire() as conn, conn.transaction():
        done = await conn.fetchval(
            "UPDATE message SET status = 'pending', attempts = 0, error = '', updated_at = now()"
            " WHERE id = $1 AND status = 'failed' AND direction = 'out' RETURNING id",
            message_id,
        )
        if done is None:
            raise InvalidReply("only a failed reply can be retried")
        emitted = await set_status(conn, message_id, "pending")
    await events.publish(emitted)
    await enqueue_dispatch(message_id, attempts=0)
    result: dict[str, Any] = emitted[-1].data
    return result


async def sweep() -> int:
    """Re-enqueue replies whose queue entry was lost or whose worker died mid-send."""
    now = dt.datetime.now(dt.UTC)
    async with connection_pool().acquire() as conn:
        # A row still `sending` long after the job's timeout belongs to a worker that died. It may
        # or may not have reached the provider; adapters pass the message id as an idempotency key
        # where the provider supports one, so the resend is dropped there if it did.
        rows = await conn.fetch(
            "WITH reset AS (UPDATE message SET status = 'pending', updated_at = now()"
            " WHERE status = 'sending' AND updated_at < $1 RETURNING id, attempts)"
            " SELECT id, attempts FROM reset UNION ALL"
            " (SELECT id, attempts FROM message WHERE status = 'pending' AND direction = 'out'"
            " AND kind = 'message' AND updated_at < $2 ORDER BY id LIMIT 1000)",
            now - STUCK_SENDING,
            now - STUCK_PENDING,
        )
    for row in rows:
        await enqueue_dispatch(row["id"], attempts=row["attempts"])
    return len(rows)
