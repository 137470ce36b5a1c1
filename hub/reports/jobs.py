"""Jobs of the reports domain: the rollup, every 10 seconds, from the event log's mark."""

from __future__ import annotations

from saq.types import Context

from hub.jobs.registry import job
from hub.reports import rollup


# Not an event subscriber (hub.realtime.subscribers): those are delivered within the second
# after every commit, in one round with SLA and routing; a report can be 10 s behind, and its
# big batches must not delay an assignment. The mark makes overlapping runs harmless.
# The timeout leaves room for the first batch after a change of HUB_TIMEZONE, which rebuilds
# the daily rows from the hourly ones (about a minute at a million conversations on a loaded
# 2-core machine; a timeout would roll it back and the next run would start it again).
@job(timeout=600, retries=1, cron="* * * * * */10")
async def reports_rollup(ctx: Context) -> dict[str, int]:
    applied = await rollup.catch_up(rounds=200)
    mark, newest = await rollup.pending()
    return {"applied": applied, "mark": mark, "behind": newest - mark}
