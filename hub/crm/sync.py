"""A sync run: read every entity page by page from the CRM and store each page in one transaction.

- Full: every record, in id order (keyset: id > the last one stored). What a full read of an id
  range did not return is marked deleted.
- Incremental: records changed at or after the entity's high-water mark minus an overlap
  (HUB_SPLYNX_SYNC_OVERLAP), because a CRM can commit a change stamped a moment before one it
  already showed us; re-reading a record is free (an unchanged hash writes nothing).
- One run per source at a time (a session advisory lock), however many workers there are.
- The run's cursor is written with each page. A run that died (worker killed) or failed (the CRM
  went away) is continued by the next run from that cursor: what was stored stays stored and
  upserts make the overlap harmless, so there are no duplicates and nothing is skipped.
- The high-water mark moves only when an entity is read to its end, and only to stamps read
  from the CRM itself (never our clock: the CRM's is naive and may be skewed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from hub.crm import runs, sources, store
from hub.crm.contract import ENTITIES, CrmConnector, CrmError, Entity, Page
from hub.db.engine import connection_pool
from hub.realtime import events

log = logging.getLogger(__name__)

_LOCK_SPACE = 0x4855_4352_0000  # sync locks: this constant + source id

# Called after each stored page: (entity, records in the page, total expected or None).
Progress = Callable[[str, int, int | None], None]


class SyncBusy(Exception):
    """Another worker is syncing this source right now."""


async def is_running(source_id: int) -> bool:
    """Whether a worker holds the source's sync lock now (a crashed worker's lock is gone)."""
    pool = connection_pool()
    async with pool.acquire() as conn:
        if await conn.fetchval("SELECT pg_try_advisory_lock($1::bigint)", _LOCK_SPACE + source_id):
            await conn.execute("SELECT pg_advisory_unlock($1::bigint)", _LOCK_SPACE + source_id)
            return False
    return True


def _stamp(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _read_stamp(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


async def _high_waters(conn: asyncpg.Connection, source_id: int) -> dict[str, datetime | None]:
    rows = await conn.fetch(
        "SELECT entity, high_water FROM crm_sync_state WHERE source = $1", source_id
    )
    return {r["entity"]: r["high_water"] for r in rows}


async def _read_ahead(pages: AsyncIterator[Page]) -> AsyncIterator[tuple[Page, datetime]]:
    """The pages, each with when the read of the page after it began, reading one page ahead.

    Reading (HTTP and conversion, in Python) and storing (in PostgreSQL) then overlap instead
    of taking turns. The time a read began bounds what a full sync may mark deleted: a hook
    may store a record while the read is under way.
    """
    queue: asyncio.Queue[tuple[Page, datetime] | Exception | None] = asyncio.Queue(maxsize=1)
    pool = connection_pool()

    async def produce() -> None:
        try:
            page: Page | None = None
            async for page in pages:
                # The next read begins as soon as this page is handed over.
                await queue.put((page, await pool.fetchval("SELECT now()")))
            await queue.put(None)
        except Exception as exc:  # handed to the consumer, which raises it
            await queue.put(exc)

    task = asyncio.create_task(produce(), name="crm-read-ahead")
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task  # cancelled while waiting on the queue or the CRM: it ends at once


class Syncer:
    def __init__(
        self,
        source: asyncpg.Record,
        connector: CrmConnector,
        run_id: int,
        *,
        overlap: timedelta,
        progress: Progress | None = None,
    ) -> None:
        self.source_id = int(source["id"])
        self.region = str(source["phone_region"])
        self.connector = connector
        self.run_id = run_id
        self.overlap = overlap
        self.progress = progress
        self.counts: dict[str, dict[str, int]] = {}
        self.cursor: dict[str, Any] = {}

    async def run(self, *, full: bool) -> None:
        pool = connection_pool()
        async with pool.acquire() as conn:
            previous = await runs.interrupted_before(conn, self.source_id, self.run_id)
            mode = "full" if full else "incremental"
            resumed: int | None = None
            # An interrupted full sync is finished first, whatever was asked: its deletions
            # are only right once every range was read.
            if previous is not None and (previous["mode"] == "full" or not full):
                mode = previous["mode"]
                resumed = int(previous["id"])
                prior = runs.view(previous)
                self.cursor = dict(prior["cursor"])
                self.counts = {}
                await runs.abandon(conn, resumed, self.run_id)
                log.info("crm sync %s resumes run %s at %s", self.run_id, resumed, self.cursor)
            self.cursor.setdefault("done", [])
            self.cursor["mode"] = mode
            await runs.start(conn, self.run_id, mode=mode, cursor=self.cursor, resumed=resumed)
            marks = await _high_waters(conn, self.source_id)
        for entity in ENTITIES:
            if entity in self.cursor["done"]:
                continue
            await self._entity(entity, full=mode == "full", mark=marks.get(entity))

    async def _entity(self, entity: Entity, *, full: bool, mark: datetime | None) -> None:
        counts = self.counts.setdefault(
            entity, {"fetched": 0, "changed": 0, "bad": 0, "deleted": 0}
        )
        if self.cursor.get("entity") == entity:
            after_id = int(self.cursor.get("after_id") or 0)
            since = _read_stamp(self.cursor.get("since"))
            newest = _read_stamp(self.cursor.get("newest"))
        else:
            after_id = 0
            since = None if full or mark is None else mark - self.overlap
            newest = None
            self.cursor.update(entity=entity, after_id=0, since=_stamp(since), newest=None)
        total = await self._count(entity, since)
        if self.progress is not None:
            self.progress(entity, 0, total)
        read_at = await connection_pool().fetchval("SELECT now()")
        async for page, next_read_at in _read_ahead(
            self.connector.pages(entity, since=since, after_id=after_id)
        ):
            for record in page.records:
                stamp = record.changed_at
                if stamp is not None and (newest is None or stamp > newest):
                    newest = stamp
            await self._store(page, full=full, after_id=after_id, read_at=read_at, counts=counts)
            after_id = page.last_id
            self.cursor.update(after_id=after_id, newest=_stamp(newest))
            if self.progress is not None:
                self.progress(entity, len(page.records) + len(page.bad), total)
            read_at = next_read_at
        async with connection_pool().acquire() as conn, conn.transaction():
            changed: list[int] = []
            if full:
                # The range after the last page (or everything, for an empty list) is gone.
                changed = await store.tombstone_gaps(
                    conn,
                    self.source_id,
                    entity,
                    after_id=after_id,
                    up_to=None,
                    present=[],
                    read_at=read_at,
                )
                counts["deleted"] += len(changed)
            if newest is not None:
                await conn.execute(
                    "INSERT INTO crm_sync_state (source, entity, high_water) VALUES ($1, $2, $3)"
                    " ON CONFLICT (source, entity) DO UPDATE SET high_water ="
                    " greatest(crm_sync_state.high_water, EXCLUDED.high_water), updated_at = now()",
                    self.source_id,
                    entity,
                    newest,
                )
            self.cursor["done"] = [*self.cursor["done"], entity]
            self.cursor.update(entity=None, after_id=0, since=None, newest=None)
            await runs.progress(conn, self.run_id, counts=self.counts, cursor=self.cursor)
            published = await store.emit_changes(conn, self.source_id, changed)
        await events.publish(published)

    async def _count(self, entity: Entity, since: datetime | None) -> int | None:
        try:
            return await self.connector.count(entity, since=since)
        except CrmError:
            return None  # only for the progress bar

    async def _store(
        self,
        page: Page,
        *,
        full: bool,
        after_id: int,
        read_at: datetime,
        counts: dict[str, int],
    ) -> None:
        entity = page.entity
        async with connection_pool().acquire() as conn, conn.transaction():
            written, changed = await store.upsert(
                conn, self.source_id, entity, page.records, region=self.region
            )
            await store.keep_bad(conn, self.source_id, self.run_id, page.bad)
            for bad in page.bad:
                log.warning(
                    "crm source %s: %s %s skipped: %s (raw: %.500s)",
                    self.source_id,
                    bad.entity,
                    bad.external_id,
                    bad.error,
                    bad.raw,
                )
            gone: list[int] = []
            if full:
                present = [r.external_id for r in page.records]
                present += [int(b.external_id) for b in page.bad if b.external_id.isdigit()]
                gone = await store.tombstone_gaps(
                    conn,
                    self.source_id,
                    entity,
                    after_id=after_id,
                    up_to=page.last_id,
                    present=present,
                    read_at=read_at,
                )
            counts["fetched"] += len(page.records) + len(page.bad)
            counts["bad"] += len(page.bad)
            counts["changed"] += written
            counts["deleted"] += len(gone)
            self.cursor.update(after_id=page.last_id)
            await runs.progress(conn, self.run_id, counts=self.counts, cursor=self.cursor)
            published = await store.emit_changes(conn, self.source_id, [*changed, *gone])
        await events.publish(published)


async def run_sync(
    source_id: int,
    *,
    full: bool,
    secret_key: str,
    overlap: timedelta,
    run_id: int | None = None,
    trigger: str = "cron",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run (or continue) a sync of one source; returns the finished run. Never raises for a
    CRM failure: the run ends `failed` with the CRM's message, and the data stored stays."""
    pool = connection_pool()
    source = await sources.get_source(source_id)
    async with pool.acquire() as lock:
        if not await lock.fetchval(
            "SELECT pg_try_advisory_lock($1::bigint)", _LOCK_SPACE + source_id
        ):
            if run_id is not None:
                await runs.skip(run_id, "skipped: another sync of this source was running")
            raise SyncBusy(f"CRM source {source_id} is being synced by another worker")
        try:
            if run_id is None:
                run_id = int(
                    (
                        await runs.create(
                            source_id, mode="full" if full else "incremental", trigger=trigger
                        )
                    )["id"]
                )
            connector = sources.connector_for(source, secret_key=secret_key)
            syncer = Syncer(source, connector, run_id, overlap=overlap, progress=progress)
            error: str | None = None
            try:
                await syncer.run(full=full)
            except CrmError as exc:
                error = str(exc)
                log.warning("crm sync %s of source %s failed: %s", run_id, source_id, error)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.exception("crm sync %s of source %s failed", run_id, source_id)
            finally:
                await connector.aclose()
            await runs.finish(run_id, source_id, error=error)
        finally:
            await lock.execute("SELECT pg_advisory_unlock($1::bigint)", _LOCK_SPACE + source_id)
    return runs.view(await runs.get(run_id))
