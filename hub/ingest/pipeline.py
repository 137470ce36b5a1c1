"""The one inbound pipeline: every channel hands `Inbound` structs to `ingest`.

Concurrent requests are committed together (group commit): a few committer tasks each take
whatever has queued up and store it with one call of the `hub_ingest` SQL function in one
transaction. Callers resume only after their batch has committed, so nothing is acknowledged
that is not durable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from hub.channels.contract import Inbound
from hub.contacts.identities import normalise
from hub.conversations import merge, summary, thread_repair
from hub.db.engine import connection_pool
from hub.realtime import events
from hub.storage import attachments
from hub.system.services import on_stop
from hub.system.tasks import cancel

log = logging.getLogger(__name__)

MAX_BATCH = 100
COMMITTERS = 4


class IngestResult(msgspec.Struct, frozen=True):
    created: bool
    message_id: int
    conversation_id: int
    contact_id: int | None = None
    conversation_created: bool = False
    reopened: bool = False
    # The message as the API shows it, as PostgreSQL encoded it: the API channel answers with
    # these bytes as they are (decoding and re-encoding them was a visible share of a request).
    message_json: msgspec.Raw = msgspec.field(default=msgspec.Raw(b"{}"), name="message")

    @property
    def message(self) -> dict[str, Any]:
        decoded: dict[str, Any] = msgspec.json.decode(self.message_json)
        return decoded


class _Batch(msgspec.Struct):
    results: list[IngestResult]
    last_event_id: int | None = None


_batch_decoder = msgspec.json.Decoder(_Batch)


async def prepare(
    inbound: Inbound, *, attachments_dir: Any, attachment_limit: int, reopen_window_hours: int
) -> dict[str, Any]:
    """Normalise the sender and store attachment content; returns the item for hub_ingest."""
    sender = normalise(inbound.sender)
    stored = []
    dropped: list[dict[str, Any]] = []
    for att in inbound.attachments:
        if att.data is None:
            continue  # adapters fetch remote content before ingest; a bare URL is kept in meta
        try:
            digest, size = await attachments.store(
                attachments_dir, att.data, limit=attachment_limit
            )
        except attachments.AttachmentTooLarge as exc:
            # The message itself must not be refused (a provider would retry it forever).
            dropped.append({"filename": att.filename, "size": exc.size, "reason": str(exc)})
            continue
        except OSError as exc:
            # Disk full, read-only or gone: the message is kept (a provider cannot resend the
            # file once we acknowledged), the file is marked missing, and the operator told.
            log.error(
                "attachment %r (%d bytes) of message %s in inbox %s NOT STORED, kept as missing:"
                " cannot write to %s: %s",
                att.filename,
                len(att.data),
                inbound.provider_message_id,
                inbound.inbox_id,
                attachments_dir,
                exc,
            )
            reason = f"missing: the attachment store could not write it ({exc.strerror or exc})"
            dropped.append(
                {"filename": att.filename, "size": len(att.data), "reason": reason, "missing": True}
            )
            continue
        stored.append(
            {
                "sha256": digest,
                "size": size,
                "filename": attachments.safe_filename(att.filename),
                "content_type": att.content_type,
            }
        )
    meta = dict(inbound.meta)
    if dropped:
        meta["dropped_attachments"] = dropped
    hints = inbound.hints

    thread = {k: v for k, v in msgspec.to_builtins(hints).items() if v not in (None, [], False)}
    if thread:
        meta["thread"] = thread
    return {
        "inbox_id": inbound.inbox_id,
        "provider_message_id": inbound.provider_message_id,
        "sender": {"kind": sender.kind, "address": sender.address, "name": sender.name},
        "text": inbound.text,
        "html": inbound.html,
        "subject": inbound.subject,
        "attachments": stored,
        "conversation_id": hints.conversation_id,
        "new_conversation": hints.new_conversation,
        "auto_reply": inbound.auto_reply,
        "sent_at": inbound.sent_at.isoformat() if inbound.sent_at else None,
        "reopen_window_hours": reopen_window_hours,
        "meta": meta,
    }


async def _store(conn: asyncpg.Connection, items: Sequence[dict[str, Any]]) -> _Batch:
    # One statement is its own transaction: no BEGIN/COMMIT round trips around it.
    raw = await conn.fetchval(
        "SELECT hub_ingest($1::jsonb)", msgspec.json.encode(list(items)).decode()
    )
    return _batch_decoder.decode(raw)


class _Committer:
    """Group commit: queued items are stored in batches by a few long-running tasks."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[IngestResult]]] = (
            asyncio.Queue()
        )
        self.tasks: list[asyncio.Task[None]] = []
        self.loop: asyncio.AbstractEventLoop | None = None

    def ensure_started(self) -> None:
        loop = asyncio.get_running_loop()
        if self.loop is not loop or not self.tasks or all(t.done() for t in self.tasks):
            self.loop = loop
            self.queue = asyncio.Queue()
            self.tasks = [
                asyncio.create_task(self._run(), name=f"ingest-committer-{n}")
                for n in range(COMMITTERS)
            ]

    async def stop(self) -> None:
        await cancel(*self.tasks)
        self.tasks = []

    async def _run(self) -> None:
        while True:
            first = await self.queue.get()
            batch = [first]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            await self._commit(batch)

    async def _commit(
        self, batch: list[tuple[dict[str, Any], asyncio.Future[IngestResult]]]
    ) -> None:
        # No ordering needed here: hub_ingest takes every sender's lock first, in one global order.
        pool = connection_pool()
        try:
            async with pool.acquire() as conn:
                stored = await _store(conn, [item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc=exc)
                return
            # Isolate the item that failed: the others are stored one by one.
            log.warning(
                "ingest batch of %d failed (%s); retrying items one by one", len(batch), exc
            )
            for pair in batch:
                await self._commit([pair])
            return
        results = await _follow_merges(pool, stored.results)
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)
        if stored.last_event_id is not None:
            events.notify_soon(stored.last_event_id)


async def _redirect(conversation_id: int) -> int:
    return await summary.resolve(conversation_id)


async def _follow_merges(pool: Any, results: list[IngestResult]) -> list[IngestResult]:
    """A message stored into a conversation merged while its batch was committing (ingest had
    picked the conversation before the merge committed) moves on to the target. One query per
    batch; the move itself is rare."""
    created = {r.conversation_id for r in results if r.created}
    if not created:
        return results
    merged = await pool.fetch(
        "SELECT id FROM conversation WHERE id = ANY($1::int[]) AND merged_into IS NOT NULL",
        list(created),
    )
    if not merged:
        return results
    targets = {}
    for row in merged:
        source = int(row["id"])
        late = [r.message_id for r in results if r.created and r.conversation_id == source]
        targets[source] = await merge.adopt_late(source, late)
    return [
        msgspec.structs.replace(r, conversation_id=targets[r.conversation_id])
        if r.created and r.conversation_id in targets
        else r
        for r in results
    ]


def _settle(
    future: asyncio.Future[IngestResult],
    *,
    result: IngestResult | None = None,
    exc: BaseException | None = None,
) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        assert result is not None
        future.set_result(result)


_committer = _Committer()


async def ingest(inbound: Inbound) -> IngestResult:
    """Store one inbound message (idempotent on inbox + provider message id) and publish its events."""
    from hub.csat import replies
    from hub.system.services import current

    answered = await replies.intercept(inbound)
    if answered is not None:
        # A survey answer (a button, a bare digit after a survey): stored as the answer, not as
        # a message that would reopen the conversation.
        line, conversation, created = answered
        shown = await connection_pool().fetchval("SELECT hub_message_json($1)", line)
        return IngestResult(
            created=created,
            message_id=line,
            conversation_id=conversation,
            message_json=msgspec.Raw(str(shown).encode()),
        )
    if inbound.edit_of:
        edited = await _apply_edit(inbound)
        if edited is not None:
            return edited
    settings = current().settings
    item = await prepare(
        inbound,
        attachments_dir=settings.attachments_dir,
        attachment_limit=settings.attachment_max_bytes,
        reopen_window_hours=settings.reopen_window_hours,
    )
    if item["conversation_id"] is not None:
        # A reply token, a widget session or a Recent entry of an import may name a conversation
        # merged since: its messages live in the target now, and so does this one.
        item["conversation_id"] = await _redirect(int(item["conversation_id"]))
    _committer.ensure_started()
    future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
    await _committer.queue.put((item, future))
    result = await future
    # After the commit, so that of two messages in flight together the later sees the other.
    if (
        result.created
        and item["meta"].get("thread")
        and await thread_repair.repair(item, result.conversation_id)
    ):
        conversation = await summary.resolve(result.conversation_id)
        result = msgspec.structs.replace(result, conversation_id=conversation)
    return result


async def _apply_edit(inbound: Inbound) -> IngestResult | None:
    """Replace an earlier message's text, once per edit id; None if the original is unknown."""
    pool = connection_pool()
    emitted: list[events.Event] = []
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT id, conversation, inbox, text, meta FROM message"
            " WHERE inbox = $1 AND provider_message_id = $2 FOR UPDATE",
            inbound.inbox_id,
            inbound.edit_of,
        )
        if row is None:
            return None
        meta = (
            msgspec.json.decode(row["meta"]) if isinstance(row["meta"], str) else dict(row["meta"])
        )
        edits = list(meta.get("edits", []))
        first_time = not any(e.get("id") == inbound.provider_message_id for e in edits)
        if first_time:
            edits.append(
                {
                    "id": inbound.provider_message_id,
                    "previous_text": row["text"],
                    "edited_at": inbound.sent_at.isoformat() if inbound.sent_at else None,
                }
            )
            await conn.execute(
                "UPDATE message SET text = $2, meta = meta || $3::jsonb, updated_at = now() WHERE id = $1",
                row["id"],
                inbound.text,
                msgspec.json.encode({"edits": edits}).decode(),
            )
        message = msgspec.Raw(
            (await conn.fetchval("SELECT hub_message_json($1)", row["id"])).encode()
        )
        if first_time:
            emitted = await events.emit(
                conn,
                [
                    {
                        "type": "message.updated",
                        "conversation": row["conversation"],
                        "inbox": row["inbox"],
                        "data": message,
                    }
                ],
                actor_type="contact",
            )
    await events.publish(emitted)
    return IngestResult(
        created=False,
        message_id=row["id"],
        conversation_id=row["conversation"],
        message_json=message,
    )


async def stop() -> None:
    await _committer.stop()


on_stop(stop)
