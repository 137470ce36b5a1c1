"""Report pages: the overview with charts, agent / team / tag tables, SLA; each with its CSV."""

from __future__ import annotations

import json
from typing import Any

from litestar import Response, get

from hub.auth.permissions import Permission
from hub.reports import views
from hub.reports.filters import Filters
from web.api.reports import From, To, period, scope
from web.inbox.render import html
from web.inbox.viewer import Viewer

TABS = ("overview", "agents", "teams", "tags", "sla")
_DIMENSION = {"agents": "agent", "teams": "team", "tags": "tag"}


@get("/reports", permission=Permission.VIEW_REPORTS)
async def reports_page(
    viewer: Viewer,
    from_: From,
    to: To,
    view: str = "overview",
    group_by: str | None = None,
) -> Response[str]:
    """One report per tab; the charts draw from the JSON embedded in the page."""
    viewer.require(Permission.VIEW_REPORTS)
    tab = view if view in TABS else "overview"
    rng, grouping, filters = scope(from_, to), period(group_by), Filters()
    query = f"from={rng.first.isoformat()}&to={rng.last.isoformat()}&group_by={grouping}"
    extra: dict[str, Any] = {}
    if tab == "overview":
        answer = await views.overview(rng, filters, grouping)
        extra["chart_data"] = json.dumps(
            {"periods": answer["periods"], "busiest_hours": answer["busiest_hours"]}
        )
        csv = f"/api/v1/reports/overview?{query}&format=csv"
    elif tab == "sla":
        answer = await views.sla(rng, filters, grouping)
        csv = f"/api/v1/reports/sla?{query}&format=csv"
    else:
        answer = await views.table(rng, filters, _DIMENSION[tab])
        csv = f"/api/v1/reports/{tab}?{query}&format=csv"
    context = viewer.context(
        section="reports",
        tab=tab,
        tabs=TABS,
        report=answer,
        range=rng,
        group_by=grouping,
        query=query,
        csv_url=csv,
        export_url=f"/api/v1/reports/conversations?{query}",
        columns=views.TABLE_COLUMNS,
        **extra,
    )
    return html("admin/reports.html", context, host=viewer.host)


handlers = [reports_page]
