"""The sync log: one `crm_sync_run` row per run, with counts per entity, a cursor and the error.

A run is created `queued` (by the schedule, the API or the CLI), becomes `running` when a worker
takes it, and ends `succeeded` or `failed`. Its cursor (entities done, the entity under way and
the last id stored) is written in the same transaction as each page, so a run that died can be
continued by the next one exactly where its data ends.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from hub.auth.access import NotFound
from hub.db.engine import connection_pool

# A run queued (or started) longer ago than this and still not finished no longer blocks a new
# one: its queue entry was lost, or the job hit its timeout.
QUEUED_SECONDS = 3900

_COLUMNS = (
    "id, source, mode, trigger, status, resumed_from, created_at, started_at, finished_at,"
    " heartbeat_at, counts, cursor, error"
)


def view(row: asyncpg.Record) -> dict[str, Any]:
    data = dict(row)
    for key in ("counts", "cursor"):
        if isinstance(data.get(key), str):
            data[key] = msgspec.json.decode(data[key])
    data["source_id"] = data.pop("source")
    data["bad_records"] = sum(int(c.get("bad", 0)) for c in data["counts"].values())
    return data


async def create(source_id: int, *, mode: str, trigger: str) -> asyncpg.Record:
    row = await connection_pool().fetchrow(
        f"INSERT INTO crm_sync_run (source, mode, trigger) VALUES ($1, $2, $3) RETURNING {_COLUMNS}",
        source_id,
        mode,
        trigger,
    )
    assert row is not None
    return row


async def in_progress(source_id: int) -> asyncpg.Record | None:
    """The latest queued or running run of a source (the caller checks a running one is alive)."""
    return await connection_pool().fetchrow(
        f"SELECT {_COLUMNS} FROM crm_sync_run WHERE source = $1 AND status IN ('queued', 'running')"
        " AND created_at > now() - make_interval(secs => $2) ORDER BY id DESC LIMIT 1",
        source_id,
        QUEUED_SECONDS,
    )


async def get(run_id: int) -> asyncpg.Record:
    row = await connection_pool().fetchrow(
        f"SELECT {_COLUMNS} FROM crm_sync_run WHERE id = $1", run_id
    )
    if row is None:
        raise NotFound(f"no sync run {run_id}")
    return row


async def recent(source_id: int | None = None, limit: int = 50) -> list[asyncpg.Record]:
    return await connection_pool().fetch(
        f"SELECT {_COLUMNS} FROM crm_sync_run WHERE ($1::int IS NULL OR source = $1)"
        " ORDER BY id DESC LIMIT $2",
        source_id,
        limit,
    )


async def last_started(source_id: int) -> asyncpg.Record | None:
    return await connection_pool().fetchrow(
        f"SELECT {_COLUMNS} FROM crm_sync_run WHERE source = $1 ORDER BY id DESC LIMIT 1",
        source_id,
    )


async def interrupted_before(conn: asyncpg.Connection, source_id: int, run_id: int) -> Any:
    """The latest earlier run, if it did not succeed and nobody continued it: the one to resume."""
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM crm_sync_run r WHERE source = $1 AND id < $2"
        " AND status IN ('running', 'failed') AND cursor <> '{}'::jsonb"
        " AND NOT EXISTS (SELECT 1 FROM crm_sync_run n WHERE n.resumed_from = r.id)"
        " AND NOT EXISTS (SELECT 1 FROM crm_sync_run s WHERE s.source = $1 AND s.id > r.id"
        "                 AND s.id < $2 AND s.status = 'succeeded')"
        " ORDER BY id DESC LIMIT 1",
        source_id,
        run_id,
    )


async def start(
    conn: asyncpg.Connection, run_id: int, *, mode: str, cursor: dict[str, Any], resumed: int | None
) -> None:
    await conn.execute(
        "UPDATE crm_sync_run SET status = 'running', mode = $2, cursor = $3::jsonb,"
        " resumed_from = $4, started_at = now(), heartbeat_at = now(), error = '' WHERE id = $1",
        run_id,
        mode,
        msgspec.json.encode(cursor).decode(),
        resumed,
    )


async def progress(
    conn: asyncpg.Connection, run_id: int, *, counts: dict[str, Any], cursor: dict[str, Any]
) -> None:
    await conn.execute(
        "UPDATE crm_sync_run SET counts = $2::jsonb, cursor = $3::jsonb, heartbeat_at = now()"
        " WHERE id = $1",
        run_id,
        msgspec.json.encode(counts).decode(),
        msgspec.json.encode(cursor).decode(),
    )


async def finish(run_id: int, source_id: int, *, error: str | None) -> None:
    """End a run; a success also stamps the source as refreshed, a failure records why."""
    async with connection_pool().acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE crm_sync_run SET status = $2, finished_at = now(), heartbeat_at = now(),"
            " error = $3 WHERE id = $1",
            run_id,
            "failed" if error else "succeeded",
            error or "",
        )
        if error:
            await conn.execute(
                "UPDATE crm_source SET last_error = $2 WHERE id = $1", source_id, error[:2000]
            )
        else:
            await conn.execute(
                "UPDATE crm_source SET last_synced_at = now(), last_error = '' WHERE id = $1",
                source_id,
            )


async def skip(run_id: int, reason: str) -> None:
    """A run that never started (another worker was syncing the source): closed, source untouched."""
    await connection_pool().execute(
        "UPDATE crm_sync_run SET status = 'failed', finished_at = now(), error = $2"
        " WHERE id = $1 AND status = 'queued'",
        run_id,
        reason,
    )


async def abandon(conn: asyncpg.Connection, run_id: int, successor: int) -> None:
    """A dead run (its worker crashed mid-sync) is closed as failed, naming who continues it."""
    await conn.execute(
        "UPDATE crm_sync_run SET status = 'failed', finished_at = now(),"
        " error = $2 WHERE id = $1 AND status = 'running'",
        run_id,
        f"interrupted; continued by run {successor}",
    )


async def bad_records(run_id: int, limit: int = 100) -> list[dict[str, Any]]:
    rows = await connection_pool().fetch(
        "SELECT id, entity, external_id, error, raw, created_at FROM crm_bad_record"
        " WHERE run = $1 ORDER BY id LIMIT $2",
        run_id,
        limit,
    )
    return [dict(r) for r in rows]
