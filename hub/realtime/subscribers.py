"""Event subscribers: domains react to committed events from a job, never inside ingest.

A subscriber names the event types it wants and a handler. A delivery round hands every
subscriber the events after its cursor (`event_cursor`) in batches and moves the cursors once the
handlers returned, so a slow or failing subscriber never delays an inbound message, and a crash
re-delivers the batch (handlers are idempotent: each records the last event it applied). The
cursor rows are locked for the whole round, so across any number of workers one delivery per
subscriber runs at a time.

A round reads the new events once for all subscribers (one query, one decode) and takes its
cursor locks and moves the cursors with one statement each: with a round every 50 ms under load,
the seven subscribers' own transactions and reads were a tenth of a web process and most of its
event decoding. Handlers get the same Event objects and must treat them as read-only.

Event ids are in commit order (hub_emit holds its ordering lock to commit), so once event N is
visible every event before it is too, and the cursor can move to the newest visible id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg

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

# How many events a round reads once for every subscriber; beyond it a subscriber reads its own.
WINDOW = 2000


@dataclass(frozen=True)
class _Window:
    """Every subscribed event in (start, end], read once for the round; `complete` when `end`
    is the newest event of the round (a full window stops short of it)."""

    start: int
    end: int
    events: list[Event]
    complete: bool

    def serves(self, cursor: int) -> bool:
        return self.start <= cursor < self.end

    def take(self, cursor: int, types: frozenset[str], limit: int) -> list[Event]:
        taken = []
        for event in self.events:
            if event.id > cursor and event.type in types:
                taken.append(event)
                if len(taken) == limit:
                    break
        return taken


async def _fetch(
    conn: asyncpg.Connection, after: int, upto: int, types: Sequence[str], limit: int
) -> list[Event]:
    return decode_events(await conn.fetchval(_EVENTS, after, upto, list(types), limit))


async def _deliver_one(
    conn: asyncpg.Connection, subscriber: Subscriber, cursor: int, window: _Window, rounds: int
) -> tuple[int, int]:
    """Up to `rounds` batches for one subscriber: (events handed over, its new cursor)."""
    delivered = 0
    wanted = frozenset(subscriber.types)
    for _ in range(rounds):
        served = window.serves(cursor)
        if served:
            newest = window.end
            batch = window.take(cursor, wanted, subscriber.batch)
        else:
            newest = await conn.fetchval("SELECT coalesce(max(id), 0) FROM event")
            if newest <= cursor:
                break
            batch = await _fetch(conn, cursor, newest, subscriber.types, subscriber.batch)
        if batch:
            await subscriber.handler(batch)
            delivered += len(batch)
        full = len(batch) == subscriber.batch
        cursor = batch[-1].id if full else newest
        if not full and not (served and not window.complete):
            break
    return delivered, cursor


async def _round(names: Sequence[str], rounds: int = 20) -> dict[str, int]:
    """One delivery round for these subscribers (those another worker is not serving now)."""
    results: dict[str, int] = {}
    async with connection_pool().acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO event_cursor (subscriber) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
            list(names),
        )
        rows = await conn.fetch(
            "SELECT subscriber, last_id FROM event_cursor WHERE subscriber = ANY($1::text[])"
            " ORDER BY subscriber FOR UPDATE SKIP LOCKED",
            list(names),
        )
        cursors = {row["subscriber"]: int(row["last_id"]) for row in rows}
        if not cursors:
            return results
        newest = await conn.fetchval("SELECT coalesce(max(id), 0) FROM event")
        start = min(cursors.values())
        if newest <= start:
            return {name: 0 for name in cursors}
        types = sorted({t for name in cursors for t in SUBSCRIBERS[name].types})
        shared = await _fetch(conn, start, newest, types, WINDOW)
        # A full window ends at its last event: a subscriber reads on from there by itself.
        end = shared[-1].id if len(shared) == WINDOW else newest
        window = _Window(start, end, shared, complete=end == newest)
        moved: dict[str, int] = {}
        for name in names:
            if name not in cursors:
                continue  # another worker is delivering to this subscriber right now
            try:
                count, cursor = await _deliver_one(
                    conn, SUBSCRIBERS[name], cursors[name], window, rounds
                )
            except Exception:
                # One failing subscriber must not starve the others; its cursor does not move,
                # so the next round retries the same events.
                log.exception("event subscriber %s failed", name)
                results[name] = -1
                continue
            results[name] = count
            if cursor != cursors[name]:
                moved[name] = cursor
        if moved:
            await conn.execute(
                "UPDATE event_cursor c SET last_id = v.last_id, updated_at = now()"
                " FROM unnest($1::text[], $2::bigint[]) AS v(subscriber, last_id)"
                " WHERE c.subscriber = v.subscriber",
                list(moved),
                list(moved.values()),
            )
    return results


async def deliver(name: str, *, rounds: int = 20) -> int:
    """Hand `name` its pending events, up to `rounds` batches; returns how many it got."""
    delivered = (await _round([name], rounds)).get(name, 0)
    if delivered < 0:
        raise RuntimeError(f"event subscriber {name} failed (logged)")
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
    # A process with a worker inside delivers itself: a queued job per nudge cost more (enqueue,
    # claim and three status writes on the PostgreSQL queue) than the round it ran.
    run = _deliver_here if current().worker is not None else _enqueue_delivery
    task = asyncio.get_running_loop().create_task(run())
    _Nudge.tasks.add(task)  # keep a reference until it is done
    task.add_done_callback(_Nudge.tasks.discard)


async def _deliver_here() -> None:
    try:
        await deliver_all()
    except Exception:
        log.exception("event delivery failed; the next tick delivers")


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
            for name, count in (await _round(list(SUBSCRIBERS))).items():
                previous = results.get(name, 0)
                results[name] = -1 if count < 0 or previous < 0 else previous + count
            if not _Running.again:
                return results
    finally:
        _Running.active = False
