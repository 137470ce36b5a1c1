"""Event subscribers: domains react to committed events from a job, never inside ingest.

A subscriber names the event types it wants and a handler. `deliver(name)` hands it the events
after its cursor (`event_cursor`) in batches and moves the cursor once the handler returned, so
a slow or failing subscriber never delays an inbound message, and a crash re-delivers the batch
(handlers are idempotent: each records the last event it applied). The cursor row is locked for
the whole batch, so across any number of workers one delivery per subscriber runs at a time.

Event ids are in commit order (hub_emit holds its ordering lock to commit), so once event N is
visible every event before it is too, and the cursor can move to the newest visible id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from hub.db.engine import connection_pool
from hub.jobs.registry import enqueue
from hub.realtime import events
from hub.realtime.events import Event, decode_events
from hub.system.services import current, on_stop

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[Event]], Awaitable[None]]


@dataclass(frozen=True)
class Subscriber:
    name: str
    types: tuple[str, ...]
    handler: Handler
    batch: int = 1000


SUBSCRIBERS: dict[str, Subscriber] = {}


def subscribe(name: str, types: Sequence[str], handler: Handler, *, batch: int = 1000) -> None:
    if name in SUBSCRIBERS:
        raise RuntimeError(f"subscriber {name!r} is registered twice")
    SUBSCRIBERS[name] = Subscriber(name, tuple(types), handler, batch)


_EVENTS = (
    "SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'type', type, 'conversation_id',"
    " conversation, 'inbox_id', inbox, 'data', coalesce(nullif(data, 'null'::jsonb), '{}'::jsonb),"
    " 'created_at', created_at) ORDER BY id),"
    " '[]'::jsonb) FROM (SELECT * FROM event WHERE id > $1 AND id <= $2 AND type = ANY($3::text[])"
    " ORDER BY id LIMIT $4) e"
)


async def deliver(name: str, *, rounds: int = 20) -> int:
    """Hand `name` its pending events, up to `rounds` batches; returns how many it got."""
    subscriber = SUBSCRIBERS[name]
    delivered = 0
    async with connection_pool().acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO event_cursor (subscriber) VALUES ($1) ON CONFLICT DO NOTHING", name
        )
        cursor = await conn.fetchval(
            "SELECT last_id FROM event_cursor WHERE subscriber = $1 FOR UPDATE SKIP LOCKED", name
        )
        if cursor is None:
            return 0  # another worker is delivering to this subscriber right now
        for _ in range(rounds):
            newest = await conn.fetchval("SELECT coalesce(max(id), 0) FROM event")
            if newest <= cursor:
                break
            events = decode_events(
                await conn.fetchval(
                    _EVENTS, cursor, newest, list(subscriber.types), subscriber.batch
                )
            )
            if events:
                await subscriber.handler(events)
                delivered += len(events)
            full = len(events) == subscriber.batch
            cursor = events[-1].id if full else newest
            await conn.execute(
                "UPDATE event_cursor SET last_id = $2, updated_at = now() WHERE subscriber = $1",
                name,
                cursor,
            )
            if not full:
                break
    return delivered


# A delivery job right after a commit, instead of at the next one-second tick: at most one per
# NUDGE_SECONDS from this process, with a trailing one so the last commit of a burst is not left
# waiting for the tick. The job key (one per interval) keeps every process's nudges to one job.
NUDGE_SECONDS = 0.05


class _Nudge:
    at = 0.0
    timer: asyncio.TimerHandle | None = None
    tasks: set[asyncio.Task[None]] = set()


def _nudge_now() -> None:
    _Nudge.at = time.monotonic()
    _Nudge.timer = None
    task = asyncio.get_running_loop().create_task(_enqueue_delivery())
    _Nudge.tasks.add(task)  # keep a reference until it is done
    task.add_done_callback(_Nudge.tasks.discard)


async def _enqueue_delivery() -> None:
    try:
        bucket = int(time.time() / NUDGE_SECONDS)
        await enqueue(current().queue, "deliver_events", key=f"deliver:{bucket}")
    except Exception:
        log.exception("could not enqueue an event delivery; the next tick delivers")


def nudge(_: int = 0) -> None:
    if not SUBSCRIBERS:
        return
    wait = NUDGE_SECONDS - (time.monotonic() - _Nudge.at)
    if wait <= 0:
        _nudge_now()
    elif _Nudge.timer is None:
        _Nudge.timer = asyncio.get_running_loop().call_later(wait, _nudge_now)


events.on_notice(nudge)


async def _stop_nudges() -> None:
    """Before the queue closes: a pending nudge is dropped (the worker's tick delivers what it
    would have) and the enqueues already started are let finish, not failed on a closed pool."""
    if _Nudge.timer is not None:
        _Nudge.timer.cancel()
        _Nudge.timer = None
    if _Nudge.tasks:
        await asyncio.gather(*_Nudge.tasks, return_exceptions=True)


on_stop(_stop_nudges)


class _Running:
    """One delivery round per process at a time: deliveries hold a pool connection (the cursor
    lock) while their handler takes another, and rounds started by every nudge at once starved
    the pool ingest shares. A nudge during a round makes that round go once more instead."""

    active = False
    again = False


async def deliver_all() -> dict[str, int]:
    if _Running.active:
        _Running.again = True
        return {}
    _Running.active = True
    results: dict[str, int] = {}
    try:
        while True:
            _Running.again = False
            for name in SUBSCRIBERS:
                try:
                    results[name] = results.get(name, 0) + await deliver(name)
                except Exception:
                    # One failing subscriber must not starve the others; its cursor did not
                    # move, so the next round retries the same events.
                    log.exception("event subscriber %s failed", name)
                    results[name] = -1
            if not _Running.again:
                return results
    finally:
        _Running.active = False
