"""Routing: availability, team policies and capacity, skills, taking a conversation, history."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get, patch, post, put

from hub.auth import access, audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.routing import availability, teams, workload
from hub.routing.teams import TeamRouting


class AvailabilityBody(msgspec.Struct):
    status: str  # available | busy | away


class CapacityBody(msgspec.Struct):
    max_open: int | None  # null: the team's default


class SkillsBody(msgspec.Struct):
    skills: list[str]


class RequirementsBody(msgspec.Struct):
    requirements: list[str]


@put("/api/v1/agents/me/availability", tags=["routing"], access="authenticated")
async def set_my_availability(principal: Principal, data: AvailabilityBody) -> dict[str, Any]:
    """Only available agents are assigned conversations; away returns yours to the team queue
    (when the team says so)."""
    return await availability.set_availability(principal.agent.id, data.status)


@get("/api/v1/routing/workload", tags=["routing"], access="authenticated")
async def agent_workload(principal: Principal) -> list[dict[str, Any]]:
    """Per agent: availability, open and pending conversations, capacity per team."""
    return await workload.agents()


@get("/api/v1/routing/workload/teams", tags=["routing"], access="authenticated")
async def team_workload(principal: Principal) -> list[dict[str, Any]]:
    """Per team: waiting (unassigned open conversations, the oldest's waiting_since), open and
    pending assigned, members, available, at capacity, total capacity and free places among the
    available members."""
    return await workload.teams()


@patch("/api/v1/teams/{team_id:int}/routing", tags=["routing"], permission=Permission.MANAGE_TEAMS)
async def configure_team(principal: Principal, team_id: int, data: TeamRouting) -> dict[str, Any]:
    result = await teams.configure_team(team_id, data)
    await audit.record(
        "routing.team_configured", actor_id=principal.agent.id, target_type="team",
        target_id=team_id, data=msgspec.to_builtins(data),
    )  # fmt: skip
    return result


@put(
    "/api/v1/teams/{team_id:int}/members/{agent_id:int}/capacity",
    tags=["routing"],
    status_code=204,
    permission=Permission.MANAGE_TEAMS,
)
async def set_capacity(
    principal: Principal, team_id: int, agent_id: int, data: CapacityBody
) -> None:
    await teams.set_member_capacity(team_id, agent_id, data.max_open)
    await audit.record(
        "routing.capacity", actor_id=principal.agent.id, target_type="team", target_id=team_id,
        data={"agent_id": agent_id, "max_open": data.max_open},
    )  # fmt: skip


@put("/api/v1/agents/{agent_id:int}/skills", tags=["routing"], permission=Permission.MANAGE_TEAMS)
async def set_skills(principal: Principal, agent_id: int, data: SkillsBody) -> list[str]:
    skills = await teams.set_skills(agent_id, data.skills)
    await audit.record(
        "routing.skills", actor_id=principal.agent.id, target_type="agent", target_id=agent_id,
        data={"skills": skills},
    )  # fmt: skip
    return skills


@put(
    "/api/v1/conversations/{conversation_id:int}/requirements",
    tags=["routing"],
    permission=Permission.UPDATE_CONVERSATIONS,
)
async def set_requirements(
    principal: Principal, conversation_id: int, data: RequirementsBody
) -> list[str]:
    """Skills an agent needs to receive this conversation automatically."""
    await access.check_conversation(principal.agent, conversation_id)
    return await teams.set_requirements(
        conversation_id, data.requirements, by_agent=principal.agent.id
    )


@post(
    "/api/v1/conversations/{conversation_id:int}/take",
    tags=["routing"],
    status_code=200,
    permission=Permission.ASSIGN,
)
async def take(principal: Principal, conversation_id: int) -> dict[str, Any]:
    """Assign the conversation to yourself if nobody has it; 409 when somebody else won."""
    await access.check_conversation(principal.agent, conversation_id)
    return await teams.take(conversation_id, principal.agent)


@get(
    "/api/v1/conversations/{conversation_id:int}/assignments",
    tags=["routing"],
    permission=Permission.READ_CONVERSATIONS,
)
async def assignments(principal: Principal, conversation_id: int) -> list[dict[str, Any]]:
    """Every assignment and unassignment, oldest first, with who or what did it."""
    await access.check_conversation(principal.agent, conversation_id)
    return await teams.history(conversation_id)


handlers = [
    set_my_availability,
    agent_workload,
    team_workload,
    configure_team,
    set_capacity,
    set_skills,
    set_requirements,
    take,
    assignments,
]
