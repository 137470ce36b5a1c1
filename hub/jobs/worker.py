"""The SAQ worker, shared by the in-process worker of `hub serve` and the standalone `hub worker`."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

from saq import Worker
from saq.types import Context

from hub.jobs.registry import CRON, JOBS

log = logging.getLogger(__name__)


async def _before(ctx: Context) -> None:
    ctx["started"] = time.perf_counter()  # type: ignore[typeddict-unknown-key]


async def _after(ctx: Context) -> None:
    job = ctx.get("job")
    started = float(ctx.get("started", time.perf_counter()))  # type: ignore[arg-type]
    if job is not None:
        elapsed = (time.perf_counter() - started) * 1000
        log.info("job %s %s in %.1f ms", job.function, job.status, elapsed)


def worker_options() -> dict[str, Any]:
    """Keyword arguments for `saq.Worker`: every registered job and schedule."""
    if not JOBS:
        # A worker without jobs would dequeue and fail everything; say what is missing instead.
        raise RuntimeError("no jobs are registered: import hub.domains before starting a worker")
    return {
        "functions": [(name, spec.function) for name, spec in JOBS.items()],
        "cron_jobs": list(CRON),
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
