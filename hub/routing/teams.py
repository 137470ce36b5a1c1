"""Routing settings (a team's policy and capacity, agents' skills, conversations' requirements),
taking a conversation, and the assignment history."""

from __future__ import annotations

from typing import Any

import msgspec

from hub.auth.access import NotFound
from hub.auth.accounts import AgentInfo
from hub.conversations.lifecycle import InvalidChange
from hub.db.engine import connection_pool
from hub.realtime import events
from hub.routing import requirements
from hub.routing.assign import POLICIES, Move, assign


class Conflict(Exception):
    """Somebody else won: the conversation was assigned meanwhile."""


class TeamRouting(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    assignment: str | None = None  # manual | round_robin | least_loaded
    max_open: int | None = None  # per agent of this team; 0: never auto-assign
    unassign_on_away: bool | None = None


async def configure_team(team_id: int, data: TeamRouting) -> dict[str, Any]:
    if data.assignment is not None and data.assignment not in POLICIES:
        raise InvalidChange(f"assignment must be one of {', '.join(POLICIES)}")
    if data.max_open is not None and not 0 <= data.max_open <= 10_000:
        raise InvalidChange("max_open must be 0 to 10000")
    row = await connection_pool().fetchrow(
        "UPDATE team SET assignment = coalesce($2, assignment), max_open = coalesce($3, max_open),"
        " unassign_on_away = coalesce($4, unassign_on_away) WHERE id = $1"
        " RETURNING id, name, assignment, max_open, unassign_on_away",
        team_id,
        data.assignment,
        data.max_open,
        data.unassign_on_away,
    )
    if row is None:
        raise NotFound(f"no team {team_id}")
    return dict(row)


async def set_member_capacity(team_id: int, agent_id: int, max_open: int | None) -> None:
    if max_open is not None and not 0 <= max_open <= 10_000:
        raise InvalidChange("max_open must be 0 to 10000")
    done = await connection_pool().fetchval(
        "UPDATE team_member SET max_open = $3 WHERE team = $1 AND agent = $2 RETURNING id",
        team_id,
        agent_id,
        max_open,
    )
    if done is None:
        raise NotFound(f"agent {agent_id} is not in team {team_id}")


async def set_skills(agent_id: int, skills: list[str]) -> list[str]:
    cleaned = requirements.clean(skills)
    done = await connection_pool().fetchval(
        "UPDATE agent SET skills = $2 WHERE id = $1 RETURNING id", agent_id, cleaned
    )
    if done is None:
        raise NotFound(f"no agent {agent_id}")
    return cleaned


async def set_requirements(
    conversation_id: int, skills: list[str], *, by_agent: int | None = None
) -> list[str]:
    """Skills an agent needs to be assigned this conversation automatically (replacing what the
    inbox or tags brought: everything set here is explicit)."""
    async with connection_pool().acquire() as conn, conn.transaction():
        if not await conn.fetchval(
            "SELECT true FROM conversation WHERE id = $1 FOR NO KEY UPDATE", conversation_id
        ):
            raise NotFound(f"no conversation {conversation_id}")
        cleaned = await requirements.change(conn, conversation_id, skills)
        emitted = await requirements.requeue_if_unfit(conn, conversation_id, by_agent=by_agent)
    await events.publish(emitted)
    return cleaned


async def take(conversation_id: int, agent: AgentInfo) -> dict[str, Any]:
    """ "Take it": assign to oneself only if nobody has it; Conflict when somebody else won."""
    async with connection_pool().acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT id, inbox, team, assignee FROM conversation WHERE id = $1 FOR NO KEY UPDATE",
            conversation_id,
        )
        if row is None:
            raise NotFound(f"no conversation {conversation_id}")
        if row["assignee"] == agent.id:
            emitted: list[events.Event] = []
        elif row["assignee"] is not None:
            name = await conn.fetchval("SELECT name FROM agent WHERE id = $1", row["assignee"])
            raise Conflict(f"{name} has taken this conversation already")
        else:
            line = f"took the conversation ({agent.name})"
            move = Move(conversation_id, row["inbox"], row["team"], agent.id, None, line)
            emitted = await assign(conn, [move], by_type="agent", by_agent=agent.id)
        data = msgspec.json.decode(
            await conn.fetchval("SELECT hub_conversation_json($1)", conversation_id)
        )
    await events.publish(emitted)
    result: dict[str, Any] = data
    return result


async def history(conversation_id: int) -> list[dict[str, Any]]:
    rows = await connection_pool().fetch(
        "SELECT h.id, h.agent AS agent_id, a.name AS agent_name, h.previous_agent AS previous_agent_id,"
        " h.team AS team_id, h.by_type, h.by_agent AS by_agent_id, h.created_at"
        " FROM conversation_assignment h LEFT JOIN agent a ON a.id = h.agent"
        " WHERE h.conversation = $1 ORDER BY h.id",
        conversation_id,
    )
    return [dict(r) for r in rows]
