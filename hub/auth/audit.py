"""The audit log: who did what to configuration or access, when, and from which address.

The table is append-only: triggers refuse UPDATE and DELETE (migration 2026-12-04T02:40) and
TRUNCATE (2026-12-06T06:00). The client's address is taken from `origin`, which the web layer
sets for each request from the address web.proxies decided on, so callers need not pass it.
"""

from __future__ import annotations

import json
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


_CLIP = 300  # a macro body or a rule's conditions can be long; the log keeps a summary


def _clipped(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _CLIP:
        return value[:_CLIP] + "…"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, default=str, sort_keys=True)
        return value if len(text) <= _CLIP else text[:_CLIP] + "…"
    return value


def changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None, *, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The fields that differ, as {"before": {...}, "after": {...}}; long values clipped.

    A creation has no before and a deletion no after: then every field is shown on its side.
    `skip` names fields that change on every write (timestamps) or are secrets.
    """
    old, new = before or {}, after or {}
    fields = [k for k in dict.fromkeys([*old, *new]) if k not in skip and old.get(k) != new.get(k)]
    summary: dict[str, Any] = {}
    if before is not None:
        summary["before"] = {k: _clipped(old.get(k)) for k in fields}
    if after is not None:
        summary["after"] = {k: _clipped(new.get(k)) for k in fields}
    return summary
