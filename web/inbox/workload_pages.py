"""The workload page in the inbox: per team and per agent, refreshed by the live events."""

from __future__ import annotations

from litestar import Response, get

from hub.auth.permissions import Permission
from hub.routing import workload
from hub.visitors.views import last_event_id
from web.inbox.render import html
from web.inbox.viewer import Viewer


@get("/inbox/workload", permission=Permission.MANAGE_TEAMS)
async def workload_page(viewer: Viewer) -> Response[str]:
    """Rendered with the newest event id it reflects, so the page's socket misses no change
    between the render and its connection (read first: later changes come as events)."""
    after = await last_event_id()
    context = viewer.context(
        section="workload",
        last_event_id=after,
        teams=await workload.teams(),
        workload=await workload.agents(),
    )
    return html("inbox/workload.html", context, host=viewer.host)


@get("/inbox/workload/figures", permission=Permission.MANAGE_TEAMS)
async def workload_figures(viewer: Viewer) -> Response[str]:
    """The figures alone; the page fetches them again when an event may have changed them."""
    context = viewer.context(teams=await workload.teams(), workload=await workload.agents())
    return html("inbox/_workload.html", context, host=viewer.host)


handlers = [workload_page, workload_figures]
