"""Pull channels: each polling inbox is fetched by exactly one worker at a time.

A cron tick enqueues `poll_inbox` for every polling inbox; the job takes a session-level
advisory lock for the inbox (skipping if another worker holds it), fetches with the saved state,
ingests, and saves the new state only after the items are committed — so a crash re-fetches
rather than skips.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec

from hub.channels import inboxes
from hub.channels.contract import DeliveryUpdate, Inbound
from hub.db.engine import connection_pool
from hub.ingest import pipeline
from hub.outbox import delivery

log = logging.getLogger(__name__)

_LOCK_SPACE = 0x4855_4300  # poll locks: this constant + inbox id


# What each inbox's adapter last failed to load with: the schedule runs every minute, and an
# inbox left half-configured is reported when its problem appears or changes, not every tick.
_unloadable: dict[int, str] = {}


async def polling_inbox_ids(secret_key: str, public_url: str) -> list[int]:
    pool = connection_pool()
    ids = []
    for row in await pool.fetch("SELECT id FROM inbox WHERE active ORDER BY id"):
        try:
            adapter = await inboxes.adapter_for(
                row["id"], secret_key=secret_key, public_url=public_url
            )
        except ValueError as exc:  # its configuration is incomplete or invalid
            if _unloadable.get(row["id"]) != str(exc):
                log.warning("inbox %s is not polled: %s", row["id"], exc)
            _unloadable[row["id"]] = str(exc)
            continue
        except Exception:
            log.exception("cannot load the adapter of inbox %s", row["id"])
            continue
        _unloadable.pop(row["id"], None)
        if adapter.wants_polling():
            ids.append(row["id"])
    return ids


async def poll_inbox(inbox_id: int, *, secret_key: str, public_url: str) -> dict[str, Any]:
    pool = connection_pool()
    async with pool.acquire() as lock_conn:
        if not await lock_conn.fetchval(
            "SELECT pg_try_advisory_lock($1::bigint)", _LOCK_SPACE + inbox_id
        ):
            return {"skipped": "another worker is polling this inbox"}
        try:
            adapter = await inboxes.adapter_for(
                inbox_id, secret_key=secret_key, public_url=public_url
            )
            raw = await pool.fetchval("SELECT state FROM channel_state WHERE inbox = $1", inbox_id)
            state: dict[str, Any] = msgspec.json.decode(raw) if raw else {}
            started = time.perf_counter()
            result = await adapter.poll(state)
            stored = 0
            for item in result.items:
                if isinstance(item, Inbound):
                    await pipeline.ingest(item)
                    stored += 1
                elif isinstance(item, DeliveryUpdate):
                    await delivery.apply_delivery(item)
            await pool.execute(
                "INSERT INTO channel_state (inbox, state, updated_at) VALUES ($1, $2::jsonb, now())"
                " ON CONFLICT (inbox) DO UPDATE SET state = EXCLUDED.state, updated_at = now()",
                inbox_id,
                msgspec.json.encode(result.state).decode(),
            )
            return {
                "items": len(result.items),
                "stored": stored,
                "seconds": round(time.perf_counter() - started, 3),
            }
        finally:
            await lock_conn.execute("SELECT pg_advisory_unlock($1::bigint)", _LOCK_SPACE + inbox_id)
