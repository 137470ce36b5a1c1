"""Agents and teams administration, and setting a password from an invitation."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get, patch, post, put

from hub.auth import people
from hub.auth.accounts import Principal, forget_cached_keys
from hub.auth.people import AgentChanges, NewAgent
from hub.auth.permissions import Permission
from hub.jobs.registry import enqueue
from hub.notifications.digest import smtp_settings
from hub.system.services import current
from web.realtime import relay


class TeamBody(msgspec.Struct):
    name: str


class MembersBody(msgspec.Struct):
    agent_ids: list[int]


class PasswordBody(msgspec.Struct):
    token: str
    password: str


@post("/api/v1/agents", tags=["agents"], status_code=201, permission=Permission.MANAGE_AGENTS)
async def invite_agent(principal: Principal, data: NewAgent) -> dict[str, Any]:
    """Invite an agent to set a password through a one-time link (valid 7 days). With
    HUB_SMTP_* the link is mailed to them (`emailed: true`, `invite_url: null`); without, the
    answer carries it, shown once. No password is ever sent or logged."""
    mail = smtp_settings() is not None
    agent, token = await people.invite(data, actor_id=principal.agent.id, link=not mail)
    if mail:
        await enqueue(current().queue, "send_invite", agent_id=agent["id"])
        return {"agent": agent, "invite_url": None, "emailed": True}
    base = current().settings.public_url.rstrip("/")
    return {"agent": agent, "invite_url": f"{base}/set-password?token={token}", "emailed": False}


@get("/api/v1/agents/{agent_id:int}", tags=["agents"], access="authenticated")
async def get_agent(principal: Principal, agent_id: int) -> dict[str, Any]:
    return await people.get_agent(agent_id)


@patch("/api/v1/agents/{agent_id:int}", tags=["agents"], permission=Permission.MANAGE_AGENTS)
async def update_agent(principal: Principal, agent_id: int, data: AgentChanges) -> dict[str, Any]:
    """Name, role (a key from GET /api/v1/roles), or `active: false` (logged out, keys revoked,
    nothing assigned any more). You cannot deactivate yourself or give yourself a role without
    agents.manage, and the last active admin stays one."""
    agent = await people.update_agent(agent_id, data, actor_id=principal.agent.id)
    if data.role is not None or data.active is False:
        forget_cached_keys()  # this process's API keys carry the role
        relay.recheck_access()  # and its sockets check theirs now
    return agent


@get("/api/v1/teams", tags=["teams"], access="authenticated")
async def list_teams(principal: Principal) -> list[dict[str, Any]]:
    return await people.list_teams()


@post("/api/v1/teams", tags=["teams"], status_code=201, permission=Permission.MANAGE_TEAMS)
async def create_team(principal: Principal, data: TeamBody) -> dict[str, Any]:
    return await people.save_team(data.name, actor_id=principal.agent.id)


@get("/api/v1/teams/{team_id:int}", tags=["teams"], access="authenticated")
async def get_team(principal: Principal, team_id: int) -> dict[str, Any]:
    return await people.get_team(team_id)


@patch("/api/v1/teams/{team_id:int}", tags=["teams"], permission=Permission.MANAGE_TEAMS)
async def rename_team(principal: Principal, team_id: int, data: TeamBody) -> dict[str, Any]:
    return await people.save_team(data.name, team_id=team_id, actor_id=principal.agent.id)


@put("/api/v1/teams/{team_id:int}/members", tags=["teams"], permission=Permission.MANAGE_TEAMS)
async def set_members(principal: Principal, team_id: int, data: MembersBody) -> dict[str, Any]:
    """The team's members, all at once (members also see the inboxes of the team)."""
    return await people.set_members(team_id, data.agent_ids, actor_id=principal.agent.id)


@post("/api/v1/auth/set-password", tags=["auth"], status_code=200, access="public")
async def set_password(data: PasswordBody) -> dict[str, Any]:
    """Use an invitation link's token once to set the password; then log in."""
    agent = await people.set_password_with(data.token, data.password)
    return {"agent": {k: agent[k] for k in ("id", "email", "name", "role")}}


handlers = [
    invite_agent,
    get_agent,
    update_agent,
    list_teams,
    create_team,
    get_team,
    rename_team,
    set_members,
    set_password,
]
