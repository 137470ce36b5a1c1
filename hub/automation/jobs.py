"""Jobs of automation: the `automation` event subscriber and the time rules' sweep."""

from __future__ import annotations

from typing import Any

from saq.types import Context

from hub.automation import engine, timed, triggers
from hub.jobs.registry import job
from hub.realtime.subscribers import subscribe

# Small batches: a batch's rules run before the cursor moves, and the next batch's events wait.
subscribe("automation", triggers.EVENT_TYPES, engine.handle, batch=200)


@job(timeout=120, retries=0, cron="* * * * * */30")
async def automation_time_rules(ctx: Context) -> dict[str, Any]:
    return await timed.sweep()
