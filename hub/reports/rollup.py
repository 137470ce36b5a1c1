"""The rollup job: apply the events after the mark, in id order, one transaction per batch.

The mark (`report_mark.last_event`) moves in the same transaction as the rows it accounts for,
so a crash or a second worker never counts an event twice or skips one: the mark row is locked
for the batch, and whoever does not get it leaves the work to the holder.

It relies on what the event subscribers rely on (hub.realtime.subscribers): event ids are in
commit order, because `hub_emit` takes its ordering lock before inserting and holds it to
commit. So once the newest visible id is N, no event below N can still appear, and the mark can
move to N even when the last events of the batch were of types the rollup ignores. A writer that
inserted into `event` without `hub_emit` would break that promise; `hub reports rebuild` repairs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import msgspec

from hub.db.engine import connection_pool
from hub.realtime.events import Event
from hub.reports import daily, store
from hub.reports.fold import EVENT_TYPES, Deltas, apply
from hub.system.services import current

BATCH = 5000

# Plain rows, not one jsonb_agg document as the subscribers read: building that document was
# most of a batch's time, and msgspec decodes each row's data faster than the server encodes it.
_EVENTS = (
    "SELECT id, type, conversation, inbox, data::text AS data, created_at FROM event"
    " WHERE id > $1 AND id <= $2 AND type = ANY($3::text[]) ORDER BY id LIMIT $4"
)
_data = msgspec.json.Decoder(dict[str, Any] | None)


async def _events(conn: asyncpg.Connection, after: int, upto: int, limit: int) -> list[Event]:
    rows = await conn.fetch(_EVENTS, after, upto, list(EVENT_TYPES), limit)
    return [
        Event(
            id=r["id"],
            type=r["type"],
            conversation_id=r["conversation"],
            inbox_id=r["inbox"],
            data=_data.decode(r["data"]) or {},
            created_at=r["created_at"].isoformat(),
        )
        for r in rows
    ]


def account_zone() -> str:
    """The zone the daily rows should be in: the account's (HUB_TIMEZONE)."""
    return current().settings.timezone


async def advance(
    *, batch: int = BATCH, wait: bool = False, zone: str | None = None
) -> tuple[int, int] | None:
    """Apply one batch; returns (events applied, new mark), or None when another worker holds
    the mark (unless `wait`, which queues behind it).

    The daily rows are written in `zone` (default the account's); when they are in another
    zone (HUB_TIMEZONE changed, or never built), they are first rebuilt from the hourly rows,
    in this transaction, so no report ever reads days of two zones.
    """
    zone = zone or account_zone()
    async with connection_pool().acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO report_mark (id, last_event) VALUES (1, 0) ON CONFLICT DO NOTHING"
        )
        lock = "FOR UPDATE" if wait else "FOR UPDATE SKIP LOCKED"
        row = await conn.fetchrow(f"SELECT last_event, zone FROM report_mark WHERE id = 1 {lock}")
        if row is None:
            return None
        mark = row["last_event"]
        if row["zone"] != zone:
            await daily.rebuild_days(conn, zone)
        newest = await conn.fetchval("SELECT coalesce(max(id), 0) FROM event")
        if newest <= mark:
            return 0, mark
        events = await _events(conn, mark, newest, batch)
        full = len(events) == batch
        moved_to = events[-1].id if full else newest
        if events:
            ids = sorted({e.conversation_id for e in events if e.conversation_id is not None})
            states = await store.load_states(conn, ids)
            deltas = Deltas()
            touched = apply(states, events, deltas)
            await store.save_states(conn, [states[i] for i in sorted(touched)])
            await store.save_deltas(conn, deltas, zone)
        await conn.execute(
            "UPDATE report_mark SET last_event = $1, updated_at = now() WHERE id = 1", moved_to
        )
        return len(events), moved_to


async def catch_up(*, batch: int = BATCH, rounds: int = 1000, zone: str | None = None) -> int:
    """Apply batches until the mark reaches the newest event (or `rounds` ran); events applied."""
    applied = 0
    for _ in range(rounds):
        result = await advance(batch=batch, zone=zone)
        if result is None:
            break
        count, _mark = result
        applied += count
        if count < batch:
            break
    return applied


async def pending() -> tuple[int, int]:
    """(mark, newest event id): how far the rollup is behind."""
    async with connection_pool().acquire() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT last_event FROM report_mark WHERE id = 1) AS mark,"
            " (SELECT coalesce(max(id), 0) FROM event) AS newest"
        )
    return int(row["mark"] or 0), int(row["newest"])


async def count_events(after: int = 0) -> int:
    async with connection_pool().acquire() as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM event WHERE id > $1 AND type = ANY($2::text[])",
                after,
                list(EVENT_TYPES),
            )
        )


async def reset() -> None:
    """Forget every rollup row and start the mark again at the first event."""
    async with connection_pool().acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO report_mark (id, last_event) VALUES (1, 0) ON CONFLICT DO NOTHING"
        )
        await conn.execute("SELECT last_event FROM report_mark WHERE id = 1 FOR UPDATE")
        await conn.execute(
            "TRUNCATE report_hour, report_duration, report_open, report_conversation,"
            " report_day, report_day_duration"
        )
        await conn.execute(
            "UPDATE report_mark SET last_event = 0, zone = NULL, updated_at = now() WHERE id = 1"
        )


async def switch_zone(zone: str | None = None) -> bool:
    """Rebuild the daily rows from the hourly ones when they are not in `zone` (default the
    account's); waits for a running batch. True when it rebuilt."""
    zone = zone or account_zone()
    async with connection_pool().acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO report_mark (id, last_event) VALUES (1, 0) ON CONFLICT DO NOTHING"
        )
        stored = await conn.fetchval("SELECT zone FROM report_mark WHERE id = 1 FOR UPDATE")
        if stored == zone:
            return False
        await daily.rebuild_days(conn, zone)
        return True


async def rebuild(
    *,
    batch: int = 20_000,
    progress: Callable[[int], None] | None = None,
    zone: str | None = None,
) -> int:
    """Recompute every rollup from the whole event log; calls `progress(events)` per batch.

    The same fold as the incremental job, only in bigger batches; meanwhile the job finds the
    mark locked or already moved and does nothing. Interrupted, the job carries on from the mark.
    """
    await reset()
    applied = 0
    while True:
        result = await advance(batch=batch, wait=True, zone=zone)
        assert result is not None  # `wait` queues behind a running job instead of skipping
        count, _mark = result
        applied += count
        if progress is not None:
            progress(count)
        if count < batch:
            break
    # Every row is new: fresh statistics, so reports are planned on the indexes at once.
    async with connection_pool().acquire() as conn:
        await conn.execute(
            "ANALYZE report_hour, report_duration, report_open, report_conversation,"
            " report_day, report_day_duration"
        )
    return applied
