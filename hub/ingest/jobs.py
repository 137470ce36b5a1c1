"""Jobs of the pull channels: one poll per polling inbox per tick."""

from __future__ import annotations

import time
from typing import Any

from saq.types import Context

from hub.ingest import polling
from hub.jobs.registry import enqueue, job
from hub.system.services import current

POLL_TICK_SECONDS = 5


# Long polls (Telegram getUpdates) hold up to ~30 s; the lock in hub.ingest.polling keeps it single.
@job(timeout=90, retries=1)
async def poll_inbox(ctx: Context, *, inbox_id: int) -> dict[str, Any]:
    """Fetch new messages of one pull-channel inbox (hub.ingest.polling)."""
    settings = current().settings
    return await polling.poll_inbox(
        inbox_id, secret_key=settings.secret_key, public_url=settings.public_url
    )


@job(timeout=30, retries=1, cron=f"* * * * * */{POLL_TICK_SECONDS}")
async def schedule_polls(ctx: Context) -> int:
    """Enqueue one poll per polling inbox for this tick (the key makes a tick's poll unique)."""
    services = current()
    tick = int(time.time() // POLL_TICK_SECONDS)
    ids = await polling.polling_inbox_ids(
        services.settings.secret_key, services.settings.public_url
    )
    for inbox_id in ids:
        await enqueue(
            services.queue, "poll_inbox", key=f"poll:{inbox_id}:{tick}", inbox_id=inbox_id
        )
    return len(ids)
