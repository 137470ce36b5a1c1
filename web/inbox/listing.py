"""The inbox list's state in the URL: view, filters, search, sort and page.

Everything the list shows is in the query string, so a view can be bookmarked, reloaded, and
re-fetched as a partial by the live updates with the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlencode

from hub.conversations import listing
from hub.conversations.inbox_views import list_by_waiting
from hub.conversations.lifecycle import Priority, Status
from hub.conversations.listing import ListFilters
from web.inbox.viewer import Viewer

PAGE_SIZE = 25
STATUSES = [s.value for s in Status]
PRIORITIES = [p.value for p in Priority]
SORTS = {
    "activity": "Last activity",
    "waiting": "Waiting longest",
    "sla_due": "Nearest SLA deadline",
}
SLA_VIEWS = ("at_risk", "breached")


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@dataclass(frozen=True)
class ListQuery:
    status: str = "open"  # one status, or "all"
    assignee: str = ""  # "", "me", "none" or an agent id
    team_id: int | None = None
    inbox_id: int | None = None
    channel: str = ""
    tag: str = ""
    priority: str = ""
    q: str = ""
    sla: str = ""  # "", at_risk or breached
    sort: str = "activity"
    cursor: str = ""
    limit: int = PAGE_SIZE

    @classmethod
    def parse(cls, params: Any) -> ListQuery:
        """From request query parameters; unknown values fall back to the defaults."""

        def text(name: str, default: str = "") -> str:
            return str(params.get(name) or default).strip()[:200]

        status = text("status", "open")
        assignee = text("assignee")
        limit = _int(params.get("limit")) or PAGE_SIZE
        return cls(
            status=status if status in STATUSES or status == "all" else "open",
            assignee=assignee if assignee in ("me", "none") or assignee.isdigit() else "",
            team_id=_int(params.get("team_id")),
            inbox_id=_int(params.get("inbox_id")),
            channel=text("channel"),
            tag=text("tag"),
            priority=text("priority") if text("priority") in PRIORITIES else "",
            q=text("q"),
            sla=text("sla") if text("sla") in SLA_VIEWS else "",
            sort=text("sort") if text("sort") in SORTS else "activity",
            cursor=text("cursor"),
            limit=max(1, min(limit, 100)),
        )

    def filters(self) -> ListFilters:
        return ListFilters(
            status=[] if self.status == "all" else [self.status],
            inbox_id=self.inbox_id,
            channel=self.channel or None,
            assignee=self.assignee or None,
            team_id=self.team_id,
            tag=self.tag or None,
            priority=self.priority or None,
            q=self.q or None,
            sla=self.sla or None,
            sort="sla_due" if self.sort == "sla_due" else "recent",
        )

    def params(self, **changes: Any) -> str:
        """The query string of this list (without paging), with some values changed."""
        state = replace(self, cursor="", limit=PAGE_SIZE, **changes)
        pairs = []
        for field in fields(state):
            value = getattr(state, field.name)
            default = field.default
            if value in (None, "") or value == default:
                continue
            pairs.append((field.name, value))
        return urlencode(pairs)

    def url(self, **changes: Any) -> str:
        query = self.params(**changes)
        return "/inbox" + (f"?{query}" if query else "")

    @property
    def view(self) -> str:
        """Which view of the navigation this list is (for highlighting it)."""
        if self.sla:
            return f"sla:{self.sla}"
        if self.assignee == "me":
            return "mine"
        if self.assignee == "none":
            return "unassigned"
        if self.team_id is not None:
            return f"team:{self.team_id}"
        if self.inbox_id is not None:
            return f"inbox:{self.inbox_id}"
        return "all"

    @property
    def filtered(self) -> bool:
        return self != ListQuery(
            assignee=self.assignee, team_id=self.team_id, inbox_id=self.inbox_id
        )


async def fetch_page(query: ListQuery, viewer: Viewer) -> tuple[list[dict[str, Any]], str | None]:
    """One keyset page of the list: one query, whatever the page size."""
    if query.sort == "waiting":
        return await list_by_waiting(
            query.filters(),
            agent=viewer.agent,
            visible=viewer.visible,
            limit=query.limit,
            cursor=query.cursor or None,
        )
    return await listing.list_conversations(
        query.filters(),
        agent=viewer.agent,
        visible_inboxes=viewer.visible,
        limit=query.limit,
        cursor=query.cursor or None,
    )
