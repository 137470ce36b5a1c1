"""Jobs of the outbox: sending replies and sweeping the ones left behind."""

from __future__ import annotations

from saq.types import Context

from hub.jobs.registry import job
from hub.outbox import dispatch as outbox


# 60 s stays below dispatch.STUCK_SENDING, so the sweep never races a live send.
@job(timeout=60, retries=outbox.MAX_ATTEMPTS, retry_delay=2.0)
async def dispatch(ctx: Context, *, message_id: int) -> str:
    """Send one reply through its channel (hub.outbox.dispatch)."""
    return await outbox.dispatch(message_id)


@job(timeout=60, retries=1, cron="* * * * * */15")
async def sweep_outbound(ctx: Context) -> int:
    return await outbox.sweep()
