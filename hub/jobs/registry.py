"""The registry of jobs and cron schedules, and the queue they go through.

Jobs are plain async functions taking SAQ's context. Each domain registers its own in its
`jobs` module with `job(...)`, so this module depends on no domain and the worker learns what
to run from the registry alone. Every job is idempotent and declares its timeout and retries
explicitly, because SAQ's defaults (10 s, a single attempt) are rarely right.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from saq import CronJob, Queue
from saq.job import TERMINAL_STATUSES as TERMINAL
from saq.job import Job
from saq.types import Context

from hub.system.runtime import psycopg_dsn

JobFunction = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=JobFunction)


@dataclass(frozen=True)
class JobSpec:
    function: JobFunction
    timeout: int
    retries: int
    retry_delay: float = 1.0
    retry_backoff: bool = True


JOBS: dict[str, JobSpec] = {}
CRON: list[CronJob[Context]] = []


def job(
    *,
    timeout: int,
    retries: int,
    retry_delay: float = 1.0,
    retry_backoff: bool = True,
    cron: str | None = None,
) -> Callable[[F], F]:
    """Register a job under its function's name; with `cron` (six fields, the last one seconds:
    croniter's convention, which SAQ uses) it also runs on that schedule, once per tick across
    every worker (`unique`)."""

    def register(function: F) -> F:
        name = function.__name__
        if name in JOBS:
            raise RuntimeError(f"job {name!r} is registered twice")
        JOBS[name] = JobSpec(function, timeout, retries, retry_delay, retry_backoff)
        if cron is not None:
            CRON.append(CronJob(function, cron=cron, unique=True, timeout=timeout, retries=retries))
        return function

    return register


def spec(name: str) -> JobSpec:
    try:
        return JOBS[name]
    except KeyError:
        raise RuntimeError(
            f"no job {name!r} is registered: is hub.domains imported in this process?"
        ) from None


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
    declared = spec(name)
    options: dict[str, Any] = {
        "timeout": declared.timeout,
        "retries": declared.retries,
        "retry_delay": declared.retry_delay,
        "retry_backoff": declared.retry_backoff,
    }
    if key is not None:
        options["key"] = key
    return await queue.enqueue(name, **options, **kwargs)
