"""The event feed (for polling clients) and the agents list."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get
from litestar.params import Parameter

from hub.auth import access
from hub.auth.accounts import Principal
from hub.db.engine import connection_pool
from hub.realtime import events


class EventList(msgspec.Struct):
    items: list[events.Event]


@get("/api/v1/events", tags=["realtime"])
async def list_events(
    principal: Principal,
    after: int = Parameter(default=0, ge=0),
    limit: int = Parameter(default=100, ge=1, le=1000),
) -> EventList:
    """Events after an id, oldest first, limited to what you may see: poll this, or use WS /ws/agent."""
    visible = await access.visible_inbox_ids(principal.agent)
    return EventList(items=await events.events_after(after, limit=limit, inbox_ids=visible))


@get("/api/v1/agents", tags=["agents"])
async def list_agents(principal: Principal) -> dict[str, list[dict[str, Any]]]:
    """Active agents (for assignment)."""
    pool = connection_pool()
    rows = await pool.fetch(
        "SELECT id, name, email, role, availability FROM agent WHERE active ORDER BY name"
    )
    return {"items": [dict(r) for r in rows]}


handlers = [list_events, list_agents]
