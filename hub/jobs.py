"""Every queue, job and cron schedule of the hub, in one place.

Jobs are plain async functions taking SAQ's context. Each one is idempotent and declares its own
timeout and retries explicitly, because SAQ's defaults (10 s, a single attempt) are rarely right.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from saq import CronJob, Queue, Worker
from saq.job import TERMINAL_STATUSES as TERMINAL
from saq.job import Job
from saq.types import Context

from hub import auth, conversations, outbound, polling
from hub.runtime import psycopg_dsn

log = logging.getLogger(__name__)

JobFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class JobSpec:
    function: JobFunction
    timeout: int
    retries: int
    retry_delay: float = 1.0
    retry_backoff: bool = True


async def echo(ctx: Context, *, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """A round trip through the queue: proves a worker picks up jobs (`/api/v1/admin/queue-check`)."""
    return {"pid": os.getpid(), "worker": ctx["worker"].id, "payload": payload or {}}


async def purge_expired_sessions(ctx: Context) -> int:
    return await auth.purge_expired()


async def dispatch(ctx: Context, *, message_id: int) -> str:
    """Send one reply through its channel (hub.outbound)."""
    return await outbound.dispatch(message_id)


async def sweep_outbound(ctx: Context) -> int:
    return await outbound.sweep()


async def wake_snoozed(ctx: Context) -> int:
    return await conversations.wake_snoozed()


async def poll_inbox(ctx: Context, *, inbox_id: int) -> dict[str, Any]:
    """Fetch new messages of one pull-channel inbox (hub.polling)."""
    from hub.services import current

    settings = current().settings
    return await polling.poll_inbox(
        inbox_id, secret_key=settings.secret_key, public_url=settings.public_url
    )


async def schedule_polls(ctx: Context) -> int:
    """Enqueue one poll per polling inbox for this tick (the key makes a tick's poll unique)."""
    from hub.services import current

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


JOBS: dict[str, JobSpec] = {
    "echo": JobSpec(echo, timeout=10, retries=1),
    "purge_expired_sessions": JobSpec(purge_expired_sessions, timeout=60, retries=2),
    # 60 s stays below outbound.STUCK_SENDING, so the sweep never races a live send.
    "dispatch": JobSpec(dispatch, timeout=60, retries=outbound.MAX_ATTEMPTS, retry_delay=2.0),
    "sweep_outbound": JobSpec(sweep_outbound, timeout=60, retries=1),
    "wake_snoozed": JobSpec(wake_snoozed, timeout=60, retries=1),
    # Long polls (Telegram getUpdates) hold up to ~30 s; the lock in hub.polling keeps it single.
    "poll_inbox": JobSpec(poll_inbox, timeout=90, retries=1),
    "schedule_polls": JobSpec(schedule_polls, timeout=30, retries=1),
}

POLL_TICK_SECONDS = 5

# Six fields: the last one is seconds (croniter's convention, which SAQ uses).
CRON: list[CronJob[Context]] = [
    CronJob(purge_expired_sessions, cron="*/10 * * * *", unique=True, timeout=60, retries=2),
    CronJob(sweep_outbound, cron="* * * * * */15", unique=True, timeout=60, retries=1),
    CronJob(wake_snoozed, cron="* * * * *", unique=True, timeout=60, retries=1),
    CronJob(schedule_polls, cron="* * * * * */5", unique=True, timeout=30, retries=1),
]


async def wait_for(job: Job, timeout: float) -> Job:
    """Poll a job until it finishes. SAQ's `refresh(until_complete=…)` waits on a notification
    that the Redis queue can miss when the job finishes first, so we poll the job's state."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await job.refresh()
        if job.status in TERMINAL:
            return job
        if loop.time() > deadline:
            raise TimeoutError(f"job {job.id} did not finish within {timeout} s")
        await asyncio.sleep(0.05)


def make_queue(url: str) -> Queue:
    if url.startswith(("redis://", "rediss://")):
        return Queue.from_url(url, name="hub")
    return Queue.from_url(psycopg_dsn(url), name="hub", min_size=1, max_size=6)


async def enqueue(queue: Queue, name: str, *, key: str | None = None, **kwargs: Any) -> Job | None:
    """Enqueue a registered job with its declared timeout and retries. Same key → no duplicate."""
    spec = JOBS[name]
    options: dict[str, Any] = {
        "timeout": spec.timeout,
        "retries": spec.retries,
        "retry_delay": spec.retry_delay,
        "retry_backoff": spec.retry_backoff,
    }
    if key is not None:
        options["key"] = key
    return await queue.enqueue(name, **options, **kwargs)


async def _before(ctx: Context) -> None:
    ctx["started"] = time.perf_counter()  # type: ignore[typeddict-unknown-key]


async def _after(ctx: Context) -> None:
    job = ctx.get("job")
    started = float(ctx.get("started", time.perf_counter()))  # type: ignore[arg-type]
    if job is not None:
        elapsed = (time.perf_counter() - started) * 1000
        log.info("job %s %s in %.1f ms", job.function, job.status, elapsed)


def worker_options() -> dict[str, Any]:
    """Keyword arguments for `saq.Worker` shared by the in-process and the standalone worker."""
    return {
        "functions": [(name, spec.function) for name, spec in JOBS.items()],
        "cron_jobs": CRON,
        "before_process": _before,
        "after_process": _after,
        "dequeue_timeout": 1.0,
    }


class HubWorker(Worker[Context]):
    """A SAQ worker whose stop waits for running jobs only, not for its idle polling loops.

    SAQ's own grace period waits for every task, including the upkeep loops that never end by
    themselves, so every stop took the whole grace period.
    """

    drain_seconds: float = 20.0
    # Signals belong to the process owner (uvicorn, or `hub worker`), not to an embedded worker.
    SIGNALS: list[signal.Signals] = []

    async def stop(self) -> None:
        self.event.set()  # no new jobs are dequeued from here on
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_seconds
        while self.job_task_contexts and loop.time() < deadline:
            await asyncio.sleep(0.05)
        self._shutdown_grace_period_s = 0
        await super().stop()
