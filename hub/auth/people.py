"""Agents and teams administration: invite, edit and deactivate agents; teams and their members.

An invited agent gets a one-time link to set a password (valid 7 days; only its sha256 is
stored, and the plain token is shown once to the admin who invited). Every change is written to
the audit log.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import asyncpg
import msgspec

from hub.auth import audit, passwords, roles
from hub.auth.access import NotFound
from hub.auth.accounts import clear_login_failures, end_all_sessions, hash_password
from hub.auth.permissions import Permission, allowed
from hub.db.engine import connection_pool
from hub.system.crypto import sha256_hex

INVITE_DAYS = 7


class InvalidPeople(ValueError):
    pass


class NewAgent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: str
    name: str = ""
    role: str = "agent"


class AgentChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str | None = None
    role: str | None = None
    active: bool | None = None


async def _role(value: str) -> str:
    if not await roles.exists(value):
        raise InvalidPeople(f"role: there is no role {value!r} (see GET /api/v1/roles)")
    return value


_AGENT = "SELECT id, email, name, role, active, availability, skills, created_at FROM agent"


async def get_agent(agent_id: int) -> dict[str, Any]:
    row = await connection_pool().fetchrow(_AGENT + " WHERE id = $1", agent_id)
    if row is None:
        raise NotFound(f"no agent {agent_id}")
    return dict(row) | {"skills": list(row["skills"])}


async def invite(
    data: NewAgent, *, actor_id: int, link: bool = True
) -> tuple[dict[str, Any], str | None]:
    """A new agent without a password, and the one-time token of their set-password link
    (none with `link=False`: the `send_invite` job makes one and mails it, so the token is never
    in the queue)."""
    email = data.email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidPeople("email must be an email address")
    role = await _role(data.role)
    name = data.name.strip() or email.split("@")[0].replace(".", " ").title()
    token = secrets.token_urlsafe(32)
    async with connection_pool().acquire() as conn, conn.transaction():
        try:
            agent_id = await conn.fetchval(
                "INSERT INTO agent (email, name, password_hash, role, active, availability,"
                " created_at) VALUES ($1, $2, '', $3, true, 'away', now()) RETURNING id",
                email,
                name,
                role,
            )
        except asyncpg.UniqueViolationError:
            raise InvalidPeople(f"an agent with the email {email} exists already") from None
        if link:
            await _store_invite(conn, agent_id, token)
    await audit.record(
        "agent.invite", actor_id=actor_id, target_type="agent", target_id=agent_id,
        data={"email": email, "role": role},
    )  # fmt: skip
    return await get_agent(agent_id), token if link else None


async def _store_invite(conn: asyncpg.Connection, agent_id: int, token: str) -> None:
    await conn.execute(
        "INSERT INTO agent_invite (agent, token_sha256, expires_at) VALUES ($1, $2, $3)",
        agent_id,
        sha256_hex(token),
        dt.datetime.now(dt.UTC) + dt.timedelta(days=INVITE_DAYS),
    )


async def new_invite_link(agent_id: int) -> tuple[str, str, str] | None:
    """A fresh one-time token for an invited agent who has no password yet, replacing any unused
    one (a retried mail must not leave two links that work); (token, email, name), or None."""
    token = secrets.token_urlsafe(32)
    async with connection_pool().acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT email, name FROM agent WHERE id = $1 AND active AND password_hash = ''"
            " FOR UPDATE",
            agent_id,
        )
        if row is None:
            return None
        await conn.execute(
            "DELETE FROM agent_invite WHERE agent = $1 AND used_at IS NULL", agent_id
        )
        await _store_invite(conn, agent_id, token)
    return token, row["email"], row["name"]


async def set_password_with(token: str, password: str) -> dict[str, Any]:
    """Use an invitation (once): the agent's password is set and they may log in."""
    try:
        passwords.check(password)
    except passwords.WeakPassword as exc:
        raise InvalidPeople(str(exc)) from None
    hashed = await hash_password(password)
    async with connection_pool().acquire() as conn, conn.transaction():
        invite_row = await conn.fetchrow(
            "UPDATE agent_invite SET used_at = now() WHERE token_sha256 = $1 AND used_at IS NULL"
            " AND expires_at > now() RETURNING agent",
            sha256_hex(token),
        )
        if invite_row is None:
            raise InvalidPeople("this link is not valid any more: ask an admin for a new one")
        email = await conn.fetchval(
            "UPDATE agent SET password_hash = $2 WHERE id = $1 AND active RETURNING email",
            invite_row["agent"],
            hashed,
        )
        if email is None:
            raise InvalidPeople("this agent is deactivated")
    await end_all_sessions(invite_row["agent"])
    await clear_login_failures(email)
    await audit.record(
        "agent.password_set", actor_id=invite_row["agent"], target_type="agent",
        target_id=invite_row["agent"],
    )  # fmt: skip
    return await get_agent(invite_row["agent"])


async def update_agent(agent_id: int, changes: AgentChanges, *, actor_id: int) -> dict[str, Any]:
    if changes.role is not None:
        await _role(changes.role)
    if changes.name is not None and not changes.name.strip():
        raise InvalidPeople("name must not be empty")
    async with connection_pool().acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT role, active FROM agent WHERE id = $1 FOR UPDATE", agent_id
        )
        if row is None:
            raise NotFound(f"no agent {agent_id}")
        demoting = changes.role not in (None, "admin") or changes.active is False
        if row["role"] == "admin" and row["active"] and demoting:
            others = await conn.fetchval(
                "SELECT count(*) FROM agent WHERE role = 'admin' AND active AND id <> $1", agent_id
            )
            if not others:
                raise InvalidPeople("this is the only active admin: make another admin first")
        if agent_id == actor_id and (
            changes.active is False
            or (changes.role is not None and not allowed(changes.role, Permission.MANAGE_AGENTS))
        ):
            # Whoever changes their own access could not undo it: someone else has to.
            raise InvalidPeople(
                "you may not deactivate yourself or take agents.manage from yourself"
            )
        await conn.execute(
            "UPDATE agent SET name = coalesce($2, name), role = coalesce($3, role),"
            " active = coalesce($4, active) WHERE id = $1",
            agent_id,
            changes.name.strip() if changes.name else None,
            changes.role,
            changes.active,
        )
        if changes.active is False:
            # Deactivated: logged out everywhere, no keys, nothing assigned automatically.
            await conn.execute("DELETE FROM agent_session WHERE agent = $1", agent_id)
            await conn.execute(
                "UPDATE api_key SET revoked_at = now() WHERE agent = $1 AND revoked_at IS NULL",
                agent_id,
            )
            await conn.execute("UPDATE agent SET availability = 'away' WHERE id = $1", agent_id)
    await audit.record(
        "agent.update", actor_id=actor_id, target_type="agent", target_id=agent_id,
        data={k: v for k, v in msgspec.structs.asdict(changes).items() if v is not None}
        | ({"previous_role": row["role"]} if changes.role not in (None, row["role"]) else {}),
    )  # fmt: skip
    return await get_agent(agent_id)


_TEAM = (
    "SELECT t.id, t.name, t.assignment, t.max_open, t.unassign_on_away, t.sla_policy AS"
    " sla_policy_id, coalesce((SELECT array_agg(m.agent ORDER BY m.agent) FROM team_member m"
    " WHERE m.team = t.id), '{}') AS member_ids FROM team t"
)


async def list_teams() -> list[dict[str, Any]]:
    rows = await connection_pool().fetch(_TEAM + " ORDER BY t.name")
    return [dict(r) | {"member_ids": list(r["member_ids"])} for r in rows]


async def get_team(team_id: int) -> dict[str, Any]:
    row = await connection_pool().fetchrow(_TEAM + " WHERE t.id = $1", team_id)
    if row is None:
        raise NotFound(f"no team {team_id}")
    return dict(row) | {"member_ids": list(row["member_ids"])}


async def save_team(name: str, *, team_id: int | None = None, actor_id: int) -> dict[str, Any]:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidPeople("a team name is 1 to 200 characters")
    pool = connection_pool()
    try:
        if team_id is None:
            team_id = await pool.fetchval("INSERT INTO team (name) VALUES ($1) RETURNING id", name)
        elif (
            await pool.fetchval(
                "UPDATE team SET name = $2 WHERE id = $1 RETURNING id", team_id, name
            )
            is None
        ):
            raise NotFound(f"no team {team_id}")
    except asyncpg.UniqueViolationError:
        raise InvalidPeople(f"a team named {name!r} exists already") from None
    await audit.record(
        "team.save", actor_id=actor_id, target_type="team", target_id=team_id, data={"name": name}
    )
    return await get_team(int(team_id))


async def set_members(team_id: int, agent_ids: list[int], *, actor_id: int) -> dict[str, Any]:
    async with connection_pool().acquire() as conn, conn.transaction():
        if await conn.fetchval("SELECT id FROM team WHERE id = $1 FOR UPDATE", team_id) is None:
            raise NotFound(f"no team {team_id}")
        # A deactivated agent may stay a member (nothing is assigned to them), so the list
        # can be saved as it is; only a new member has to be active.
        known = {
            r["id"]
            for r in await conn.fetch(
                "SELECT a.id FROM agent a WHERE a.id = ANY($1::int[]) AND (a.active OR EXISTS"
                " (SELECT 1 FROM team_member m WHERE m.team = $2 AND m.agent = a.id))",
                agent_ids,
                team_id,
            )
        }
        missing = sorted(set(agent_ids) - known)
        if missing:
            raise InvalidPeople(f"no active agent {missing[0]}")
        await conn.execute(
            "DELETE FROM team_member WHERE team = $1 AND NOT (agent = ANY($2::int[]))",
            team_id,
            agent_ids,
        )
        await conn.execute(
            "INSERT INTO team_member (team, agent) SELECT $1, a FROM unnest($2::int[]) a"
            " ON CONFLICT (team, agent) DO NOTHING",
            team_id,
            agent_ids,
        )
    await audit.record(
        "team.members", actor_id=actor_id, target_type="team", target_id=team_id,
        data={"agent_ids": sorted(agent_ids)},
    )  # fmt: skip
    return await get_team(team_id)


# Everything the agents admin page edits, in one statement: agents with their teams and the
# inboxes they were given directly (inbox_member; a team's inboxes come with the team), teams
# with members and their capacity overrides, and the active inboxes.
_DIRECTORY = """
SELECT jsonb_build_object(
  'agents', coalesce((SELECT jsonb_agg(jsonb_build_object('id', a.id, 'name', a.name,
      'email', a.email, 'role', a.role, 'active', a.active, 'availability', a.availability,
      'invited', a.password_hash = '',
      'team_ids', coalesce((SELECT jsonb_agg(m.team ORDER BY m.team) FROM team_member m
                            WHERE m.agent = a.id), '[]'::jsonb),
      'inbox_ids', coalesce((SELECT jsonb_agg(im.inbox ORDER BY im.inbox) FROM inbox_member im
                             WHERE im.agent = a.id), '[]'::jsonb))
      ORDER BY a.active DESC, a.name, a.id) FROM agent a), '[]'::jsonb),
  'teams', coalesce((SELECT jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name,
      'assignment', t.assignment, 'max_open', t.max_open, 'unassign_on_away', t.unassign_on_away,
      'members', coalesce((SELECT jsonb_agg(jsonb_build_object('agent_id', a.id, 'name', a.name,
          'max_open', m.max_open, 'active', a.active) ORDER BY a.name, a.id)
          FROM team_member m JOIN agent a ON a.id = m.agent WHERE m.team = t.id), '[]'::jsonb),
      'inboxes', coalesce((SELECT jsonb_agg(i.name ORDER BY i.name) FROM inbox i
                           WHERE i.team = t.id AND i.active), '[]'::jsonb))
      ORDER BY t.name) FROM team t), '[]'::jsonb),
  'inboxes', coalesce((SELECT jsonb_agg(jsonb_build_object('id', i.id, 'name', i.name,
      'team_id', i.team, 'member_ids', coalesce((SELECT jsonb_agg(im.agent ORDER BY im.agent)
          FROM inbox_member im WHERE im.inbox = i.id), '[]'::jsonb))
      ORDER BY i.name, i.id) FROM inbox i WHERE i.active), '[]'::jsonb))
"""


async def directory() -> dict[str, list[dict[str, Any]]]:
    """Agents, teams and inboxes with who belongs where, for the agents admin page."""
    result: dict[str, list[dict[str, Any]]] = msgspec.json.decode(
        await connection_pool().fetchval(_DIRECTORY)
    )
    return result
