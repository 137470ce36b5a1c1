"""The audit log: filtered pages as JSON, or everything matching as a streamed CSV file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import get
from litestar.params import Parameter
from litestar.response import Stream

from hub.auth import audit, audit_log
from hub.auth.accounts import Principal
from hub.auth.audit_log import AuditFilters
from hub.auth.permissions import Permission


class CsvStream(Stream):
    """A stream whose own media type wins over the route's (JSON, for the paged answer)."""

    def to_asgi_response(self, *args: Any, media_type: Any = None, **kwargs: Any) -> Any:
        return super().to_asgi_response(*args, **kwargs)


@get("/api/v1/audit-log", tags=["audit"], permission=Permission.VIEW_AUDIT_LOG)
async def list_audit_log(
    principal: Principal,
    actor_id: int | None = None,
    action: str | None = Parameter(
        default=None, description="an action, or a prefix ending in '.' (e.g. 'role.')"
    ),
    since: dt.datetime | None = Parameter(default=None, description="from (inclusive)"),
    until: dt.datetime | None = Parameter(default=None, description="to (exclusive)"),
    before: int | None = Parameter(default=None, description="the next_before of a page"),
    limit: int = Parameter(default=50, ge=1, le=audit_log.PAGE_MAX),
    format: str = Parameter(default="json", pattern="^(json|csv)$", include_in_schema=False),
) -> Any:
    """Who did what, when and from where, newest first. `?format=csv` streams every matching
    entry (paging ignored) as a CSV file; the export itself is audited."""
    filters = AuditFilters(actor_id=actor_id, action=action, since=since, until=until)
    if format == "csv":
        await audit.record(
            "audit.export", actor_id=principal.agent.id, target_type="audit_log",
            data={k: v for k, v in msgspec.to_builtins(filters).items() if v is not None},
        )  # fmt: skip
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        return CsvStream(
            audit_log.export_csv(filters),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="audit-log-{stamp}.csv"'},
        )
    items, next_before = await audit_log.search(filters, before=before, limit=limit)
    return {"items": items, "next_before": next_before}


handlers = [list_audit_log]
