"""A round trip through the queue: proves a worker picks up jobs (`/api/v1/admin/queue-check`)."""

from __future__ import annotations

import os
from typing import Any

from saq.types import Context

from hub.jobs.registry import job


@job(timeout=10, retries=1)
async def echo(ctx: Context, *, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"pid": os.getpid(), "worker": ctx["worker"].id, "payload": payload or {}}
