"""Jobs of outgoing webhooks: the event subscriber, sending one delivery, and the sweep."""

from __future__ import annotations

from saq.types import Context

from hub.jobs.registry import job
from hub.realtime.subscribers import subscribe
from hub.webhooks import deliveries, sender
from hub.webhooks.subscriptions import EVENT_TYPES

subscribe(deliveries.SUBSCRIBER, EVENT_TYPES, deliveries.handle)


# One attempt per job: the row, not SAQ, counts attempts and schedules the next one (with the
# operator's backoff), so the job itself is not retried. 60 s stays below STUCK_SENDING.
@job(timeout=60, retries=1)
async def webhook_deliver(ctx: Context, *, delivery_id: int) -> str:
    """POST one delivery to its subscription's URL (hub.webhooks.sender)."""
    return await sender.deliver(delivery_id)


@job(timeout=60, retries=1, cron="* * * * * */5")
async def webhook_sweep(ctx: Context) -> int:
    return await sender.sweep()
