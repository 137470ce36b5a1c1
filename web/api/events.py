"""The event feed (for polling clients) and contacts."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get
from litestar.params import Parameter

from hub.auth import access
from hub.auth.accounts import Principal
from hub.contacts import identities
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
    return EventList(
        items=await events.events_after(
            after, limit=limit, inbox_ids=visible, agent_id=principal.agent.id
        )
    )


@get("/api/v1/contacts/{contact_id:int}", tags=["contacts"])
async def get_contact(principal: Principal, contact_id: int) -> dict[str, Any]:
    """A contact with its identities across channels and the conversations you may see."""
    detail = await identities.contact_detail(contact_id)
    if detail is None:
        raise access.NotFound(f"no contact {contact_id}")
    visible = await access.visible_inbox_ids(principal.agent)
    pool = connection_pool()
    rows = await pool.fetch(
        "SELECT id, ref, inbox, status, subject, last_message_at FROM conversation WHERE contact = $1"
        " AND ($2::int[] IS NULL OR inbox = ANY($2::int[])) ORDER BY last_message_at DESC LIMIT 50",
        contact_id,
        visible,
    )
    if visible is not None and not rows:
        raise access.NotFound(f"no contact {contact_id}")
    detail["conversations"] = [
        {
            "id": r["id"],
            "ref": r["ref"],
            "inbox_id": r["inbox"],
            "status": r["status"],
            "subject": r["subject"],
            "last_message_at": r["last_message_at"],
        }
        for r in rows
    ]
    return detail


@get("/api/v1/agents", tags=["agents"])
async def list_agents(principal: Principal) -> dict[str, list[dict[str, Any]]]:
    """Active agents (for assignment)."""
    pool = connection_pool()
    rows = await pool.fetch(
        "SELECT id, name, email, role, availability FROM agent WHERE active ORDER BY name"
    )
    return {"items": [dict(r) for r in rows]}


handlers = [list_events, get_contact, list_agents]
