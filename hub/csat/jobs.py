"""Jobs of the CSAT domain: the subscriber that schedules surveys and the sweep that sends them."""

from __future__ import annotations

from saq.types import Context

from hub.csat import schedule
from hub.jobs.registry import job
from hub.realtime.subscribers import subscribe

subscribe(schedule.SUBSCRIBER, schedule.EVENT_TYPES, schedule.handle)


# Every 15 seconds, once across workers (`unique`); the row claim (SKIP LOCKED) makes each
# survey go once even when two sweeps overlap.
@job(timeout=60, retries=1, cron="* * * * * */15")
async def csat_sweep(ctx: Context) -> dict[str, int]:
    return await schedule.sweep()
