"""Jobs of the realtime domain: delivering committed events to their subscribers."""

from __future__ import annotations

from saq.types import Context

from hub.jobs.registry import job
from hub.realtime import subscribers


# Every second: subscribers (SLA, and automation and notifications after it) see an event about
# a second after its commit at most, and `unique` keeps one delivery per tick across workers.
@job(timeout=60, retries=1, cron="* * * * * *")
async def deliver_events(ctx: Context) -> dict[str, int]:
    return await subscribers.deliver_all()
