"""Admin pages for access: roles and their permissions, and the audit log (changes go through
the REST API: /api/v1/roles, /api/v1/agents/{id}, /api/v1/audit-log)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from litestar import Response, get
from litestar.params import Parameter

from hub.auth import audit_log, roles
from hub.auth.audit_log import AuditFilters
from hub.auth.permissions import Permission
from hub.conversations import inbox_views
from web.inbox.render import html
from web.inbox.viewer import Viewer

PAGE_SIZE = 50


@get("/admin/roles", permission=Permission.MANAGE_ROLES)
async def roles_page(viewer: Viewer) -> Response[str]:
    """Roles with their permissions as checkboxes by group; agents and their role."""
    context = viewer.context(
        section="roles",
        roles=await roles.list_roles(),
        catalogue=roles.catalogue(),
        agents=(await inbox_views.people())["agents"],
        may_assign=viewer.may(Permission.MANAGE_AGENTS),
    )
    return html("admin/roles.html", context, host=viewer.host)


def _day_start(day: dt.date | None, viewer: Viewer, *, plus: int = 0) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day + dt.timedelta(days=plus), dt.time(), viewer.tz)


@get("/admin/audit", permission=Permission.VIEW_AUDIT_LOG)
async def audit_page(
    viewer: Viewer,
    actor_id: int | None = None,
    action: str | None = None,
    since: dt.date | None = Parameter(default=None, description="first day, in your time zone"),
    until: dt.date | None = Parameter(default=None, description="last day, in your time zone"),
    before: int | None = None,
) -> Response[str]:
    """The audit log, newest first, filtered by actor, action and days; CSV export of the same."""
    start, end = _day_start(since, viewer), _day_start(until, viewer, plus=1)
    filters = AuditFilters(actor_id=actor_id, action=action or None, since=start, until=end)
    items, next_before = await audit_log.search(filters, before=before, limit=PAGE_SIZE)
    shown: dict[str, Any] = {
        "actor_id": actor_id,
        "action": action or None,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
    }
    shown = {k: v for k, v in shown.items() if v is not None}
    api_query = {
        k: v
        for k, v in {
            "actor_id": actor_id,
            "action": action or None,
            "since": start.isoformat() if start else None,
            "until": end.isoformat() if end else None,
        }.items()
        if v is not None
    }
    context = viewer.context(
        section="audit",
        items=items,
        filters=shown,
        actions=await audit_log.actions(),
        agents=(await inbox_views.people())["agents"],
        older_url=("?" + urlencode(shown | {"before": next_before})) if next_before else None,
        csv_url="/api/v1/audit-log?" + urlencode(api_query | {"format": "csv"}),
    )
    return html("admin/audit.html", context, host=viewer.host)


handlers = [roles_page, audit_page]
