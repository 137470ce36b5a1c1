"""The audit log: who changed configuration or access, and when."""

from __future__ import annotations

from typing import Any

from hub.db.tables import AuditLog


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
            ip=ip[:64],
        )
    )
