"""Jobs of the conversation lifecycle."""

from __future__ import annotations

from saq.types import Context

from hub.conversations import lifecycle
from hub.jobs.registry import job


@job(timeout=60, retries=1, cron="* * * * *")
async def wake_snoozed(ctx: Context) -> int:
    return await lifecycle.wake_snoozed()
