"""Operations endpoints: liveness, readiness, and a queue round trip for administrators."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import MediaType, Response, get, post

from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.db.engine import connection_pool
from hub.jobs.registry import enqueue, wait_for
from hub.system.services import current
from web.errors import ApiError


@get(
    "/health", tags=["operations"], media_type=MediaType.JSON, sync_to_thread=False, access="public"
)
def health() -> dict[str, str]:
    """200 while the process runs."""
    return {"status": "ok"}


async def _check(name: str, probe: Any) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, timeout=3)
        return name, "ok"
    except Exception as exc:
        return name, f"failed: {type(exc).__name__}: {exc}"[:300]


@get("/ready", tags=["operations"], access="public")
async def ready() -> Response[dict[str, Any]]:
    """200 when the database and the queue answer, else 503 naming what failed."""
    services = current()
    pool = connection_pool()
    checks = dict(
        await asyncio.gather(
            _check("database", pool.fetchval("SELECT 1")),
            _check("queue", services.queue.info()),
        )
    )
    ok = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


class QueueCheck(msgspec.Struct):
    job_id: str
    result: dict[str, Any]
    seconds: float


@post(
    "/api/v1/admin/queue-check",
    tags=["operations"],
    status_code=200,
    permission=Permission.RUN_DIAGNOSTICS,
)
async def queue_check(principal: Principal) -> QueueCheck:
    """Enqueue a job and wait for a worker to run it: proves the queue and a worker are alive."""
    queue = current().queue
    loop = asyncio.get_running_loop()
    started = loop.time()
    job = await enqueue(queue, "echo", payload={"from": "queue-check"})
    if job is None:
        raise ApiError(409, "a queue check is already running")
    try:
        await wait_for(job, 15)
    except TimeoutError:
        raise ApiError(503, "no worker ran the job within 15 s; is `hub worker` running?") from None
    return QueueCheck(
        job_id=job.id, result=job.result or {}, seconds=round(loop.time() - started, 3)
    )
