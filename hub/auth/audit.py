"""The audit log: who did what to configuration or access, when, and from which address.

The table is append-only: a trigger refuses UPDATE and DELETE (migration 2026-12-04T02:40). The
client's address is taken from `origin`, which the web layer sets for each request from the
address web.proxies decided on, so callers need not pass it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from hub.db.tables import AuditLog

# The address of the client whose request is being handled ("" outside a request: jobs, CLI).
origin: ContextVar[str] = ContextVar("audit_origin", default="")


async def record(
    action: str,
    *,
    actor_id: int | None,
    actor_type: str = "agent",
    target_type: str = "",
    target_id: int | None = None,
    data: dict[str, Any] | None = None,
    ip: str = "",
) -> None:
    await AuditLog.insert(
        AuditLog(
            actor_type=actor_type,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            data=data or {},
            ip=(ip or origin.get())[:64],
        )
    )
