"""One contract suite for the job queue, run against both backends (PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from saq import Queue
from saq.types import Context

from hub.jobs.registry import enqueue, make_queue, wait_for
from hub.jobs.worker import HubWorker, worker_options
from hub.system.runtime import Backends


@pytest.fixture(params=["postgres", "redis"])
async def queue(
    request: pytest.FixtureRequest, clean_db: str, redis_url: str
) -> AsyncIterator[Queue]:
    url = clean_db if request.param == "postgres" else redis_url
    q = make_queue(url)
    await q.connect()
    try:
        yield q
    finally:
        await q.disconnect()


calls: list[str] = []


async def flaky(ctx: Context, *, marker: str) -> str:
    calls.append(marker)
    if calls.count(marker) < 2:
        raise RuntimeError("transient failure")
    return f"done {marker}"


async def slow(ctx: Context, *, seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slept"


def _worker(queue: Queue) -> HubWorker:
    options = worker_options()
    options["functions"] = [*options["functions"], ("flaky", flaky), ("slow", slow)]
    options["cron_jobs"] = []
    return HubWorker(queue, concurrency=4, **options)


async def _run(queue: Queue, body: Any) -> Any:
    worker = _worker(queue)
    task = asyncio.create_task(worker.start())
    try:
        return await body()
    finally:
        await worker.stop()
        await task


async def test_job_is_executed_with_result(queue: Queue) -> None:
    async def body() -> None:
        job = await enqueue(queue, "echo", payload={"n": 1})
        assert job is not None
        await wait_for(job, 10)
        assert job.result["payload"] == {"n": 1}

    await _run(queue, body)


async def test_same_key_is_enqueued_once(queue: Queue) -> None:
    first = await enqueue(queue, "echo", key="only-once", payload={})
    second = await enqueue(queue, "echo", key="only-once", payload={})
    assert first is not None
    assert second is None


async def test_failed_job_is_retried_until_it_succeeds(queue: Queue) -> None:
    marker = f"m-{id(queue)}"

    async def body() -> None:
        job = await queue.enqueue("flaky", marker=marker, retries=3, retry_delay=0.1, timeout=5)
        assert job is not None
        await wait_for(job, 15)
        assert job.result == f"done {marker}"
        assert job.attempts == 2

    await _run(queue, body)


async def test_timeout_fails_the_job(queue: Queue) -> None:
    async def body() -> None:
        job = await queue.enqueue("slow", seconds=5, timeout=1, retries=1)
        assert job is not None
        await wait_for(job, 15)
        assert job.status == "failed"

    await _run(queue, body)


def test_backends_are_chosen_by_url() -> None:
    pg = Backends(
        "postgresql://x@/db?host=/tmp",
        "postgresql://x@/db?host=/tmp",
        "postgresql://x@/db?host=/tmp",
    )
    assert not pg.fanout_is_redis
    assert type(make_queue("redis://127.0.0.1:6379/15")).__name__ == "RedisQueue"
