"""CRM jobs: the sync of one source, and the schedule that starts one per source when due.

The schedule ticks every minute (cron, unique: one worker per tick) and decides per source from
the sync log whether HUB_SPLYNX_SYNC_INTERVAL has passed, so the interval is a setting rather
than a cron string fixed at import time. A source is never queued twice: a queued or live run
counts as in progress, and `crm_sync` itself holds the source's advisory lock.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from saq.types import Context

from hub.crm import runs, sources, sync
from hub.db.engine import connection_pool
from hub.jobs.registry import enqueue, job
from hub.system.services import current

log = logging.getLogger(__name__)


# A full sync of a large ISP (hundreds of thousands of invoices) takes minutes; a run cut short
# by the timeout is continued by the next one, so the limit only bounds a hung connection.
@job(timeout=3600, retries=1)
async def crm_sync(
    ctx: Context, *, source_id: int, run_id: int, full: bool = False
) -> dict[str, Any]:
    """Sync one CRM source (hub.crm.sync); the run row says how it went."""
    settings = current().settings
    try:
        run = await sync.run_sync(
            source_id,
            full=full,
            run_id=run_id,
            secret_key=settings.secret_key,
            overlap=dt.timedelta(seconds=settings.splynx_sync_overlap),
        )
    except sync.SyncBusy as exc:
        return {"skipped": str(exc)}
    return {"run": run["id"], "status": run["status"], "counts": run["counts"]}


async def start_sync(source_id: int, *, full: bool, trigger: str) -> dict[str, Any]:
    """Queue a sync of a source and return its run; one already queued or running is returned
    instead of starting a second."""
    await sources.get_source(source_id)
    running = await runs.in_progress(source_id)
    # A run marked running whose worker is gone (no lock) does not count: the new run continues it.
    if running is not None and (running["status"] == "queued" or await sync.is_running(source_id)):
        return runs.view(running)
    run = await runs.create(source_id, mode="full" if full else "incremental", trigger=trigger)
    await enqueue(
        current().queue,
        "crm_sync",
        key=f"crm-sync:{run['id']}",
        source_id=source_id,
        run_id=int(run["id"]),
        full=full,
    )
    return runs.view(run)


@job(timeout=30, retries=1, cron="* * * * *")
async def schedule_crm_syncs(ctx: Context) -> int:
    """Queue an incremental sync (a full one the first time) for each source that is due."""
    interval = current().settings.splynx_sync_interval
    started = 0
    for source in await sources.list_sources():
        if source["demo"]:
            continue  # demo data is written by hub.demo, not read from a CRM
        last = await runs.last_started(int(source["id"]))
        if last is not None:
            busy = await runs.in_progress(int(source["id"]))
            if busy is not None and (
                busy["status"] == "queued" or await sync.is_running(int(source["id"]))
            ):
                continue
            age = await connection_pool().fetchval(
                "SELECT now() - $1::timestamptz", last["created_at"]
            )
            if age < dt.timedelta(seconds=interval):
                continue
        never = source["last_synced_at"] is None
        await start_sync(int(source["id"]), full=never, trigger="cron")
        started += 1
    return started
