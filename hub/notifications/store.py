"""Writing notifications: each agent's preferences applied, the rows and their live events in
one transaction.

A notification is unique per (triggering event, agent, kind): the subscriber can be handed the
same batch twice (a crash before its cursor moved) and nothing is stored or pushed twice. The
`notification.created` event carries `event.agent`, so only its agent receives it, live or when
replaying after a reconnect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from hub.auth import roles
from hub.auth.permissions import Permission, roles_with
from hub.db.engine import connection_pool
from hub.notifications import presence
from hub.notifications.kinds import DEFAULTS, Kind, Preference, effective
from hub.realtime import events


class Draft(msgspec.Struct, frozen=True):
    """A notification to be: for whom, what kind, about which conversation, because of what."""

    agent: int
    kind: str
    conversation: int | None
    event: int | None
    data: dict[str, Any]


NOTIFICATION_JSON = (
    "jsonb_build_object('id', n.id, 'kind', n.kind, 'conversation_id', n.conversation,"
    " 'title', coalesce(n.data->>'title', ''), 'body', coalesce(n.data->>'body', ''),"
    " 'data', n.data, 'created_at', n.created_at, 'read_at', n.read_at)"
)


async def can_see(conn: asyncpg.Connection, inbox_id: int, agent_ids: Sequence[int]) -> set[int]:
    """Of `agent_ids`, the active agents who may see conversations of `inbox_id` (the rule of
    hub.auth.access, for many agents in one query)."""
    await roles.refresh()  # workers too see role changes within roles.CACHE_SECONDS
    rows = await conn.fetch(
        "SELECT a.id FROM agent a WHERE a.id = ANY($1::int[]) AND a.active AND ("
        " a.role = ANY($3::text[])"
        " OR EXISTS (SELECT 1 FROM inbox_member m WHERE m.agent = a.id AND m.inbox = $2)"
        " OR EXISTS (SELECT 1 FROM inbox i JOIN team_member t ON t.team = i.team"
        "            WHERE i.id = $2 AND t.agent = a.id))",
        list(agent_ids),
        inbox_id,
        roles_with(Permission.VIEW_ALL_CONVERSATIONS),
    )
    return {r["id"] for r in rows}


async def team_members(conn: asyncpg.Connection, team_ids: Sequence[int]) -> dict[int, list[int]]:
    rows = await conn.fetch(
        "SELECT t.team, t.agent FROM team_member t JOIN agent a ON a.id = t.agent"
        " WHERE t.team = ANY($1::int[]) AND a.active ORDER BY t.agent",
        list(team_ids),
    )
    members: dict[int, list[int]] = {}
    for row in rows:
        members.setdefault(row["team"], []).append(row["agent"])
    return members


async def preferences(
    conn: asyncpg.Connection, agent_ids: Sequence[int]
) -> dict[int, dict[str, Preference]]:
    rows = await conn.fetch(
        "SELECT agent, kind, in_app, email FROM notification_preference"
        " WHERE agent = ANY($1::int[])",
        list(agent_ids),
    )
    stored: dict[int, dict[str, Preference]] = {a: {} for a in agent_ids}
    for row in rows:
        stored[row["agent"]][row["kind"]] = Preference(in_app=row["in_app"], email=row["email"])
    return {agent: effective(prefs) for agent, prefs in stored.items()}


_INSERT = (
    "INSERT INTO notification (agent, kind, conversation, event, data, in_app, email_status)"
    " SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::bigint[], $5::jsonb[],"
    " $6::bool[], $7::text[])"
    " ON CONFLICT ON CONSTRAINT notification_once DO NOTHING"
    " RETURNING id"
)


async def deliver(drafts: Sequence[Draft]) -> list[dict[str, Any]]:
    """Store the drafts each agent wants and push the in-app ones; returns the new notifications
    (those already stored for the same event, agent and kind are skipped)."""
    if not drafts:
        return []
    agents = sorted({d.agent for d in drafts})
    pool = connection_pool()
    async with pool.acquire() as conn, conn.transaction():
        prefs = await preferences(conn, agents)
        reachable = await presence.reachable(conn, agents)
        rows: list[tuple[Any, ...]] = []
        for d in drafts:
            pref = prefs[d.agent].get(d.kind, DEFAULTS[Kind.AUTOMATION])
            if not pref.in_app and not pref.email:
                continue  # the agent turned this kind off
            # Email is decided now: an agent who sees the bell needs no mail about it later.
            email = "pending" if pref.email and d.agent not in reachable else None
            rows.append((d.agent, d.kind, d.conversation, d.event, d.data, pref.in_app, email))
        if not rows:
            return []
        ids = [
            r["id"]
            for r in await conn.fetch(
                _INSERT,
                *(
                    list(column)
                    for column in zip(
                        *(
                            (a, k, c, e, msgspec.json.encode(data).decode(), i, m)
                            for a, k, c, e, data, i, m in rows
                        ),
                        strict=True,
                    )
                ),
            )
        ]
        if not ids:
            return []
        created = msgspec.json.decode(
            await conn.fetchval(
                "SELECT coalesce(jsonb_agg(" + NOTIFICATION_JSON + " || jsonb_build_object("
                "'agent_id', n.agent, 'in_app', n.in_app, 'unread_count', (SELECT count(*) FROM"
                " notification u WHERE u.agent = n.agent AND u.in_app AND u.read_at IS NULL))"
                " ORDER BY n.id), '[]'::jsonb) FROM notification n WHERE n.id = ANY($1::bigint[])",
                ids,
            )
        )
        shown = [n for n in created if n.pop("in_app")]
        emitted = await _emit_private(
            conn,
            [
                {"type": "notification.created", "conversation": n["conversation_id"], "data": n}
                for n in shown
            ],
            [int(n["agent_id"]) for n in shown],
        )
    await events.publish(emitted)
    return list(created)


async def _emit_private(
    conn: asyncpg.Connection, pending: list[dict[str, Any]], agents: list[int]
) -> list[events.Event]:
    """Emit events each meant for one agent (no inbox: nobody sees them by inbox membership)."""
    emitted = await events.emit(conn, pending)
    if emitted:
        await conn.execute(
            "UPDATE event e SET agent = x.agent FROM unnest($1::bigint[], $2::int[]) AS x(id, agent)"
            " WHERE e.id = x.id",
            [e.id for e in emitted],
            agents,
        )
    return emitted


async def emit_read(agent_id: int, ids: Sequence[int] | None, unread: int) -> None:
    """Tell the agent's other tabs that notifications were read (None: all of them)."""
    async with connection_pool().acquire() as conn, conn.transaction():
        emitted = await _emit_private(
            conn,
            [
                {
                    "type": "notification.read",
                    "data": {"agent_id": agent_id, "ids": ids, "unread_count": unread},
                }
            ],
            [agent_id],
        )
    await events.publish(emitted)


async def notify(
    *,
    agent_ids: Sequence[int] = (),
    team_id: int | None = None,
    conversation_id: int | None = None,
    title: str,
    body: str = "",
    kind: str = Kind.AUTOMATION,
    event_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Notify agents (and/or a team's members) directly: automation's "notify" action.

    With a conversation, only agents who may see its inbox are notified. `event_id` (the event
    the rule ran on) makes a repeated call a no-op for each agent; without it each call notifies.
    Returns the notifications created.
    """
    pool = connection_pool()
    async with pool.acquire() as conn:
        recipients = set(agent_ids)
        if team_id is not None:
            recipients.update((await team_members(conn, [team_id])).get(team_id, []))
        extra: dict[str, Any] = {}
        if conversation_id is not None:
            conv = await conn.fetchrow(
                "SELECT c.inbox, c.ref, c.subject, ct.name FROM conversation c"
                " JOIN contact ct ON ct.id = c.contact WHERE c.id = $1",
                conversation_id,
            )
            if conv is None:
                return []
            recipients &= await can_see(conn, conv["inbox"], sorted(recipients))
            extra = {"ref": conv["ref"], "subject": conv["subject"], "contact_name": conv["name"]}
    payload = {**extra, **(data or {}), "title": title, "body": body}
    return await deliver(
        [Draft(a, str(kind), conversation_id, event_id, payload) for a in sorted(recipients)]
    )
