"""The event feed (for polling clients) and the agents list."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get, post
from litestar.params import Parameter

from hub.auth import access, audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.contacts import identities
from hub.db.engine import connection_pool
from hub.realtime import events
from hub.visitors import revocation


class EventList(msgspec.Struct):
    items: list[events.Event]


@get("/api/v1/events", tags=["realtime"], permission=Permission.READ_CONVERSATIONS)
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


@get("/api/v1/agents", tags=["agents"], access="authenticated")
async def list_agents(principal: Principal) -> dict[str, list[dict[str, Any]]]:
    """Active agents (for assignment)."""
    pool = connection_pool()
    rows = await pool.fetch(
        "SELECT id, name, email, role, availability FROM agent WHERE active ORDER BY name"
    )
    return {"items": [dict(r) for r in rows]}


@post(
    "/api/v1/contacts/{contact_id:int}/widget-sessions/revoke",
    tags=["contacts"],
    status_code=200,
    permission=Permission.MANAGE_INBOXES,
)
async def revoke_widget_sessions(principal: Principal, contact_id: int) -> dict[str, int]:
    """End every chat-widget session of this contact (a leaked token, a shared computer, abuse):
    their visitor tokens stop working at once; the widget has to start a new session."""
    if await identities.contact_detail(contact_id) is None:
        raise access.NotFound(f"no contact {contact_id}")
    revoked = await revocation.revoke_contact(contact_id)
    await audit.record(
        "contact.widget_sessions_revoked",
        actor_id=principal.agent.id,
        target_type="contact",
        target_id=contact_id,
    )
    return {"visitors": revoked}


handlers = [list_events, list_agents, revoke_widget_sessions]
