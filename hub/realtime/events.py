"""Events: every visible change is a row with an id in commit order, then a live notification.

Writers call `emit` inside their transaction (hub_emit takes the ordering lock and inserts) and
`publish` after commit. Readers resume with `after` from the table, never from the fan-out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import msgspec

from hub.db.engine import connection_pool
from hub.system.services import on_stop
from hub.system.tasks import cancel

log = logging.getLogger(__name__)

CHANNEL = "hub_events"


class Event(msgspec.Struct, frozen=True, omit_defaults=True):
    id: int
    type: str
    conversation_id: int | None
    inbox_id: int | None
    data: dict[str, Any]
    created_at: str
    # Set on events for one agent alone (a notification): only that agent may receive them.
    # Left out of the JSON when unset, so every other event keeps its shape.
    agent_id: int | None = None

    def visible_to(self, agent_id: int | None) -> bool:
        return self.agent_id is None or self.agent_id == agent_id


_decoder = msgspec.json.Decoder(list[Event])


def decode_events(raw: str | bytes) -> list[Event]:
    return _decoder.decode(raw)


async def emit(
    conn: asyncpg.Connection,
    events: Sequence[dict[str, Any]],
    *,
    actor_type: str = "system",
    actor_id: int | None = None,
) -> list[Event]:
    """Insert events inside the caller's transaction; call as the transaction's last statement.

    Each event: {"type", "conversation", "inbox", "data"}.
    """
    if not events:
        return []
    raw = await conn.fetchval(
        "SELECT hub_emit($1::jsonb, $2, $3)",
        msgspec.json.encode(list(events)).decode(),
        actor_type,
        actor_id,
    )
    return decode_events(raw)


class Notice(msgspec.Struct, frozen=True):
    """What crosses the fan-out: only the highest new event id. PostgreSQL caps NOTIFY payloads
    at 8000 bytes, and the table is the source of truth anyway; relays read the events from it."""

    last_id: int


_notice_decoder = msgspec.json.Decoder(Notice)


def decode_notice(raw: bytes) -> Notice:
    return _notice_decoder.decode(raw)


async def publish(events: Sequence[Event]) -> None:
    """Notify every process of committed events. Failures are logged: readers resume from the table."""
    if events:
        await notify(max(e.id for e in events))


_notice_hooks: list[Callable[[int], None]] = []


def on_notice(hook: Callable[[int], None]) -> None:
    """Call `hook(last_id)` after each notice this process sends (event subscribers use it to
    start a delivery at once instead of at their next tick)."""
    if hook not in _notice_hooks:
        _notice_hooks.append(hook)


async def notify(last_id: int) -> None:
    """Tell every process that events up to `last_id` are committed."""
    from hub.system.services import current

    try:
        await current().fanout.publish(CHANNEL, msgspec.json.encode(Notice(last_id)))
    except Exception:
        log.exception(
            "could not publish events up to %d; clients will catch up from the event table",
            last_id,
        )
    for hook in _notice_hooks:
        hook(last_id)


class _Notifier:
    """Sends "up to id N" notices from a task of its own, coalescing those that pile up.

    Ingest commits many small batches a second; awaiting a NOTIFY round trip after each one kept
    its committer from starting the next batch. A notice only says how far to read, so the
    latest id stands for all earlier ones: one task at a time sends until it has caught up.
    """

    def __init__(self) -> None:
        self.latest = 0
        self.sent = 0
        self.task: asyncio.Task[None] | None = None

    def push(self, last_id: int) -> None:
        self.latest = max(self.latest, last_id)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._send(), name="event-notifier")

    async def _send(self) -> None:
        while self.sent < self.latest:
            target = self.latest
            await notify(target)
            self.sent = target

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            await cancel(task)
        # What was not sent yet is not lost: readers resume from the event table.
        self.latest = self.sent = 0


_notifier = _Notifier()


def notify_soon(last_id: int) -> None:
    """Like `notify`, without waiting: for callers that must get on with their next commit."""
    _notifier.push(last_id)


async def stop() -> None:
    await _notifier.stop()


async def events_after(
    after: int,
    *,
    limit: int = 500,
    inbox_ids: Sequence[int] | None = None,
    agent_id: int | None = None,
) -> list[Event]:
    """Committed events with id > after, oldest first, limited to what one agent may see.

    `inbox_ids` limits them to those inboxes (None: every inbox); `agent_id` is the reader, who
    also gets the events addressed to them alone and never anyone else's. Without `agent_id` (the
    relay, which filters per socket itself) events for single agents are included.
    """
    pool = connection_pool()
    query = (
        "SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('agent_id', agent))"
        " || jsonb_build_object('id', id, 'type', type, 'conversation_id', conversation,"
        " 'inbox_id', inbox, 'data', data, 'created_at', created_at) ORDER BY id), '[]'::jsonb) FROM"
        " (SELECT * FROM event WHERE id > $1 {filter} ORDER BY id LIMIT $2) e"
    )
    args: list[Any] = [after, limit]
    conditions: list[str] = []
    if agent_id is not None:
        args.append(agent_id)
        conditions.append(f"(agent IS NULL OR agent = ${len(args)})")
    if inbox_ids is not None:
        args.append(list(inbox_ids))
        mine = f" OR agent = ${len(args) - 1}" if agent_id is not None else ""
        conditions.append(f"(inbox = ANY(${len(args)}::int[]){mine})")
    where = "".join(f" AND {c}" for c in conditions)
    async with pool.acquire() as conn:
        raw = await conn.fetchval(query.format(filter=where), *args)
    return decode_events(raw)


on_stop(stop)
