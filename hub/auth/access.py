"""Which inboxes an agent may see: everything for admins and supervisors, else their own."""

from __future__ import annotations

from hub.auth.accounts import AgentInfo
from hub.auth.permissions import Permission, allowed
from hub.db.engine import connection_pool


class NotFound(LookupError):
    """Unknown id, or one the agent may not see (both answer 404, so ids do not leak)."""


class Forbidden(PermissionError):
    pass


async def visible_inbox_ids(agent: AgentInfo) -> list[int] | None:
    """None means every inbox. Agents see inboxes they are members of, directly or by team."""
    if allowed(agent.role, Permission.VIEW_ALL_CONVERSATIONS):
        return None
    pool = connection_pool()
    rows = await pool.fetch(
        "SELECT inbox FROM inbox_member WHERE agent = $1"
        " UNION SELECT i.id FROM inbox i JOIN team_member t ON t.team = i.team WHERE t.agent = $1",
        agent.id,
    )
    return sorted(r["inbox"] for r in rows)


async def check_inbox(agent: AgentInfo, inbox_id: int) -> None:
    visible = await visible_inbox_ids(agent)
    if visible is not None and inbox_id not in visible:
        raise NotFound(f"no inbox {inbox_id}")


async def check_conversation(agent: AgentInfo, conversation_id: int) -> int:
    """Returns the conversation's inbox id; NotFound when unknown or not visible."""
    pool = connection_pool()
    inbox = await pool.fetchval("SELECT inbox FROM conversation WHERE id = $1", conversation_id)
    if inbox is None:
        raise NotFound(f"no conversation {conversation_id}")
    visible = await visible_inbox_ids(agent)
    if visible is not None and inbox not in visible:
        raise NotFound(f"no conversation {conversation_id}")
    return int(inbox)
