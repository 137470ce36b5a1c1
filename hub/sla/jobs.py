"""Jobs of the SLA domain: the deadline sweep, and the event subscriber that follows conversations."""

from __future__ import annotations

from saq.types import Context

from hub.jobs.registry import job
from hub.realtime.subscribers import subscribe
from hub.sla import tracking

subscribe(tracking.SUBSCRIBER, tracking.EVENT_TYPES, tracking.handle)


# Every 15 seconds, once across workers (`unique`); a warning or breach is announced at most
# ~15 s after its time, and the row locks make each announcement happen exactly once.
@job(timeout=60, retries=1, cron="* * * * * */15")
async def sla_sweep(ctx: Context) -> dict[str, int]:
    return await tracking.sweep()
