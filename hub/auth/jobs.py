"""Jobs of the auth domain."""

from __future__ import annotations

from saq.types import Context

from hub.auth import accounts
from hub.jobs.registry import job


@job(timeout=60, retries=2, cron="*/10 * * * *")
async def purge_expired_sessions(ctx: Context) -> int:
    return await accounts.purge_expired()
