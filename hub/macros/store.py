"""Macros: saved replies with variables and actions; who may see, use and change them; applying one.

Visibility: `personal` (its owner only), `team` (the team's members), `everyone`. Anyone may keep
personal macros; creating or changing a shared one (team or everyone) needs `macros.manage`.
A macro someone may not use answers "not found", like a conversation they may not see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from hub.auth.access import NotFound
from hub.auth.accounts import AgentInfo
from hub.auth.permissions import Permission, allowed
from hub.db.engine import connection_pool
from hub.macros import actions as macro_actions
from hub.macros.actions import Action
from hub.macros.render import TemplateError, check_variables, render

VISIBILITIES = ("personal", "team", "everyone")
MAX_BODY = 20_000


class InvalidMacro(ValueError):
    pass


class MacroForbidden(PermissionError):
    pass


class Macro(msgspec.Struct, kw_only=True):
    id: int
    name: str
    body: str
    actions: list[Action]
    visibility: str
    owner_id: int | None
    team_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class MacroIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A macro as it is created or replaced: `team_id` with visibility `team`."""

    name: str
    body: str = ""
    actions: list[Action] = []
    visibility: str = "personal"
    team_id: int | None = None


_COLUMNS = (
    "id, name, body, actions::text AS actions, visibility, owner AS owner_id, team AS team_id,"
    " created_at, updated_at"
)


def _macro(row: asyncpg.Record) -> Macro:
    data = dict(row)
    data["actions"] = msgspec.json.decode(data["actions"])
    return msgspec.convert(data, Macro)


def view(macro: Macro) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.to_builtins(macro)
    return result


async def get_macro(conn: asyncpg.Connection, macro_id: int) -> Macro | None:
    """The macro, whoever may use it (the caller checks; automation uses any)."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM macro WHERE id = $1", macro_id)
    return _macro(row) if row else None


def validate(data: MacroIn) -> None:
    """Refuse what cannot be used: an empty name, a template that does not parse, an unknown
    variable (named), a bad action (with its place), a visibility without its team."""
    if not data.name.strip() or len(data.name) > 200:
        raise InvalidMacro("name: 1 to 200 characters")
    if len(data.body) > MAX_BODY:
        raise InvalidMacro(f"body: at most {MAX_BODY} characters")
    if not data.body.strip() and not data.actions:
        raise InvalidMacro("body: a macro needs a text, actions, or both")
    try:
        unknown = check_variables(data.body)
    except TemplateError as exc:
        raise InvalidMacro(f"body: {exc}") from exc
    if unknown:
        raise InvalidMacro(
            "body: unknown variable"
            + ("s " if len(unknown) > 1 else " ")
            + ", ".join("{{ " + u + " }}" for u in unknown)
            + " (see GET /api/v1/macros/variables)"
        )
    try:
        macro_actions.check(data.actions)
    except macro_actions.InvalidAction as exc:
        raise InvalidMacro(str(exc)) from exc
    if data.visibility not in VISIBILITIES:
        raise InvalidMacro(f"visibility: expected one of {', '.join(VISIBILITIES)}")
    if data.visibility == "team" and data.team_id is None:
        raise InvalidMacro("team_id: a team macro names its team")


def _manages(agent: AgentInfo) -> bool:
    return allowed(agent.role, Permission.MANAGE_MACROS)


def _check_change(agent: AgentInfo, visibility: str, owner: int | None) -> None:
    if visibility == "personal":
        if owner != agent.id:
            raise NotFound("no such macro")
    elif not _manages(agent):
        raise MacroForbidden(
            f"your role ({agent.role}) may not change shared macros ({Permission.MANAGE_MACROS})"
        )


# Who may use a macro: its owner (personal), the team's members (team), everyone.
_USABLE = (
    "(m.visibility = 'everyone' OR (m.visibility = 'personal' AND m.owner = $1)"
    " OR (m.visibility = 'team' AND EXISTS (SELECT 1 FROM team_member t"
    " WHERE t.team = m.team AND t.agent = $1)))"
)


async def list_macros(agent: AgentInfo, *, manageable: bool = False) -> list[Macro]:
    """The macros `agent` may use, by name; with `manageable` (for `macros.manage`), every
    shared macro as well, for the admin page."""
    where = _USABLE
    if manageable and _manages(agent):
        where = f"({_USABLE} OR m.visibility <> 'personal')"
    rows = await connection_pool().fetch(
        f"SELECT {_COLUMNS} FROM macro m WHERE {where} ORDER BY lower(m.name), m.id", agent.id
    )
    return [_macro(r) for r in rows]


async def usable(agent: AgentInfo, macro_id: int) -> Macro:
    """The macro if `agent` may use it (or manage it); else NotFound."""
    row = await connection_pool().fetchrow(
        f"SELECT {_COLUMNS} FROM macro m WHERE m.id = $2 AND ({_USABLE}"
        + (" OR m.visibility <> 'personal')" if _manages(agent) else ")"),
        agent.id,
        macro_id,
    )
    if row is None:
        raise NotFound(f"no macro {macro_id}")
    return _macro(row)


async def _team_exists(conn: asyncpg.Connection, team_id: int | None) -> None:
    if team_id is not None and not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM team WHERE id = $1)", team_id
    ):
        raise InvalidMacro(f"team_id: no team {team_id}")


def _row_values(data: MacroIn) -> tuple[Any, ...]:
    return (
        data.name.strip(),
        data.body,
        msgspec.json.encode(data.actions).decode(),
        data.visibility,
        data.team_id if data.visibility == "team" else None,
    )


async def create_macro(agent: AgentInfo, data: MacroIn) -> Macro:
    validate(data)
    _check_change(agent, data.visibility, agent.id)
    async with connection_pool().acquire() as conn:
        await _team_exists(conn, data.team_id if data.visibility == "team" else None)
        row = await conn.fetchrow(
            "INSERT INTO macro (name, body, actions, visibility, team, owner, created_by)"
            f" VALUES ($1, $2, $3::jsonb, $4, $5, $6, $6) RETURNING {_COLUMNS}",
            *_row_values(data),
            agent.id,
        )
    assert row is not None
    return _macro(row)


async def update_macro(agent: AgentInfo, macro_id: int, data: MacroIn) -> Macro:
    """Replace a macro. Moving one between personal and shared needs the rights of both sides;
    a personal macro keeps its owner, a shared one made personal becomes the changer's."""
    validate(data)
    async with connection_pool().acquire() as conn, conn.transaction():
        current = await conn.fetchrow(
            f"SELECT visibility, owner FROM macro m WHERE id = $2 AND ({_USABLE}"
            " OR m.visibility <> 'personal') FOR UPDATE",
            agent.id,
            macro_id,
        )
        if current is None:
            raise NotFound(f"no macro {macro_id}")
        _check_change(agent, current["visibility"], current["owner"])
        owner = current["owner"] if current["visibility"] == "personal" else agent.id
        _check_change(agent, data.visibility, owner)
        await _team_exists(conn, data.team_id if data.visibility == "team" else None)
        row = await conn.fetchrow(
            "UPDATE macro SET name = $1, body = $2, actions = $3::jsonb, visibility = $4, team = $5,"
            f" owner = $6, updated_at = now() WHERE id = $7 RETURNING {_COLUMNS}",
            *_row_values(data),
            owner,
            macro_id,
        )
    assert row is not None
    return _macro(row)


async def delete_macro(agent: AgentInfo, macro_id: int) -> None:
    macro = await usable(agent, macro_id)
    _check_change(agent, macro.visibility, macro.owner_id)
    await connection_pool().execute("DELETE FROM macro WHERE id = $1", macro_id)


async def _agent(conn: asyncpg.Connection, agent_id: int | None) -> AgentInfo | None:
    if agent_id is None:
        return None
    row = await conn.fetchrow("SELECT id, name, email, role FROM agent WHERE id = $1", agent_id)
    if row is None:
        raise NotFound(f"no agent {agent_id}")
    return AgentInfo(row["id"], row["name"], row["email"], row["role"])


async def apply_macro(
    conn: asyncpg.Connection,
    macro_id: int,
    conversation_id: int,
    agent_id: int | None,
    origin: dict[str, Any] | None = None,
    *,
    text: str | None = None,
) -> dict[str, Any]:
    """Send the macro's rendered text as a reply through the outbox (a `pending` row and its
    dispatch job, as the API's reply endpoint does) and run its actions, in order.

    `conn` is used for reading; the reply and each action commit on their own connection (as
    an agent's would), so call this outside a transaction that locks the conversation. Without
    an agent the hub is the author. Returns the message (None for a macro without text) and the
    result of each action. A reply the channel refuses (e.g. WhatsApp's closed 24-hour window)
    raises InvalidReply before any action runs. `text` replaces the rendering (an agent's edit of
    the preview): what is sent is then exactly what the agent saw."""
    from hub.channels import inboxes
    from hub.outbox import replies
    from hub.system.services import current

    macro = await get_macro(conn, macro_id)
    if macro is None:
        raise NotFound(f"no macro {macro_id}")
    actor = await _agent(conn, agent_id)
    message: dict[str, Any] | None = None
    if text is None:
        text = await render(conn, macro.body, conversation_id=conversation_id, agent_id=agent_id)
    if text.strip():
        inbox_id = await conn.fetchval(
            "SELECT inbox FROM conversation WHERE id = $1", conversation_id
        )
        settings = current().settings
        adapter = await inboxes.adapter_for(
            int(inbox_id), secret_key=settings.secret_key, public_url=settings.public_url
        )
        message = await replies.create_reply(
            conversation_id,
            agent=actor,
            text=text,
            limits=adapter.limits(),
            origin={"macro": macro.id, **(origin or {})},
        )
        await replies.enqueue_dispatch(int(message["id"]))
    results = await macro_actions.run(macro.actions, conversation_id, actor)
    return {"macro_id": macro.id, "message": message, "actions": results}
