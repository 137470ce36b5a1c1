"""Jobs of the notifications domain: the event subscribers (in-app notifications, Slack) and
the Slack delivery."""

from __future__ import annotations

from saq.types import Context

from hub.jobs.registry import job
from hub.notifications import digest, slack, subscriber
from hub.realtime.subscribers import subscribe

subscribe(subscriber.SUBSCRIBER, subscriber.EVENT_TYPES, subscriber.handle)
subscribe(slack.SUBSCRIBER, slack.EVENT_TYPES, slack.handle)


# Every 5 seconds, and enqueued after each batch the subscriber queued: retries and Retry-After
# pauses are picked up here. The advisory lock keeps one delivery run at a time (thread order).
@job(timeout=120, retries=1, cron="* * * * * */5")
async def slack_deliver(ctx: Context) -> dict[str, int]:
    return await slack.deliver()


# Every minute: digests are due N minutes (HUB_NOTIFY_EMAIL_MINUTES) after an agent's oldest
# pending notification, so a minute's lateness at most.
@job(timeout=300, retries=1, cron="* * * * * 0")
async def notification_digests(ctx: Context) -> dict[str, int]:
    return await digest.send_due()
