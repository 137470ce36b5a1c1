"""The inbox list: the full page, and the rows partial for infinite scroll and live refresh."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from hub.auth.permissions import Permission
from hub.conversations import inbox_views
from web.inbox.listing import PRIORITIES, SORTS, STATUSES, ListQuery, fetch_page
from web.inbox.render import html
from web.inbox.viewer import Viewer


def list_context(
    viewer: Viewer,
    query: ListQuery,
    nav: inbox_views.Navigation,
    items: list[dict[str, Any]],
    next_cursor: str | None,
    *,
    open_id: int | None = None,
) -> dict[str, Any]:
    """Everything the list column (navigation, filters, rows) renders from."""
    return viewer.context(
        query=query,
        nav=nav,
        items=items,
        next_cursor=next_cursor,
        open_id=open_id,
        statuses=STATUSES,
        priorities=PRIORITIES,
        sorts=SORTS,
        agent_names={a["id"]: a["name"] for a in nav.agents},
    )


@get(["/", "/inbox"], permission=Permission.READ_CONVERSATIONS)
async def inbox_page(request: Request[Any, Any, Any], viewer: Viewer) -> Response[str]:
    """The inbox (also the site root): views with counts, filters and search, the list."""
    query = ListQuery.parse(request.query_params)
    # The navigation first: its newest event id is where the live socket resumes, so nothing
    # that changes while the list is read can be missed.
    nav = await inbox_views.navigation(viewer.agent, viewer.visible)
    items, next_cursor = await fetch_page(query, viewer)
    context = list_context(viewer, query, nav, items, next_cursor)
    return html("inbox/list.html", context, host=viewer.host)


@get("/inbox/rows", permission=Permission.READ_CONVERSATIONS)
async def rows_partial(request: Request[Any, Any, Any], viewer: Viewer) -> Response[str]:
    """Rows of the list (htmx): the next page, or with `refresh=1` the first rows and the counts."""
    query = ListQuery.parse(request.query_params)
    refresh = request.query_params.get("refresh") == "1"
    open_id = request.query_params.get("open", "")
    nav = await inbox_views.navigation(viewer.agent, viewer.visible) if refresh else None
    items, next_cursor = await fetch_page(query, viewer)
    context = viewer.context(
        query=query,
        nav=nav,
        items=items,
        next_cursor=next_cursor,
        open_id=int(open_id) if open_id.isdigit() else None,
        refresh=refresh,
    )
    return html("inbox/_rows.html", context, host=viewer.host)


handlers = [inbox_page, rows_partial]
