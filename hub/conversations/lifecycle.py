"""The conversation lifecycle: status, priority, assignee, team, snooze, tags, read marks, and the activity lines each change leaves in the timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import asyncpg
import msgspec

from hub.auth import roles
from hub.auth.access import NotFound
from hub.auth.accounts import AgentInfo
from hub.auth.permissions import Permission, allowed
from hub.db.engine import connection_pool
from hub.realtime import events
from hub.routing import requirements


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class InvalidChange(ValueError):
    pass


class Changes(msgspec.Struct, kw_only=True, omit_defaults=True):
    status: str | None = None
    priority: str | None = None
    assignee_id: int | msgspec.UnsetType | None = msgspec.UNSET
    team_id: int | msgspec.UnsetType | None = msgspec.UNSET
    snoozed_until: dt.datetime | msgspec.UnsetType | None = msgspec.UNSET


def _describe(field: str, value: Any, names: dict[str, str]) -> str:
    if field == "status":
        return {
            "open": "reopened the conversation",
            "pending": "marked the conversation pending",
            "snoozed": "snoozed the conversation"
            + (f" until {names['snoozed_until']}" if names.get("snoozed_until") else ""),
            "resolved": "resolved the conversation",
            "closed": "closed the conversation",
        }[value]
    if field == "priority":
        return f"set priority to {value}"
    if field == "assignee":
        return (
            f"assigned the conversation to {names['assignee']}"
            if value
            else "unassigned the conversation"
        )
    if field == "team":
        return f"assigned the conversation to team {names['team']}" if value else "removed the team"
    return f"changed {field}"


async def update_conversation(
    conversation_id: int,
    changes: Changes,
    *,
    actor: AgentInfo | None,
    origin: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply lifecycle changes; each effective change becomes an event and a timeline line."""
    if changes.status is not None and changes.status not in Status.__members__.values():
        raise InvalidChange(f"status must be one of {', '.join(Status)}")
    if changes.priority is not None and changes.priority not in Priority.__members__.values():
        raise InvalidChange(f"priority must be one of {', '.join(Priority)}")
    snooze = changes.snoozed_until
    if changes.status == Status.SNOOZED and not isinstance(snooze, dt.datetime):
        raise InvalidChange("snoozing needs snoozed_until (a future time)")
    if isinstance(snooze, dt.datetime):
        if snooze.tzinfo is None:
            raise InvalidChange("snoozed_until needs a time zone (e.g. 2026-01-31T09:00:00Z)")
        if snooze <= dt.datetime.now(dt.UTC):
            raise InvalidChange("snoozed_until must be in the future")
    async with connection_pool().acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT id, inbox, status, priority, assignee, team FROM conversation WHERE id = $1 FOR UPDATE",
            conversation_id,
        )
        if row is None:
            raise NotFound(f"no conversation {conversation_id}")
        sets: dict[str, Any] = {}
        names: dict[str, str] = {}
        new_status = changes.status or (Status.SNOOZED if isinstance(snooze, dt.datetime) else None)
        if new_status and new_status != row["status"]:
            sets["status"] = new_status
        if new_status == Status.SNOOZED and isinstance(snooze, dt.datetime):
            sets["snoozed_until"] = snooze
            sets.setdefault("status", Status.SNOOZED)
            names["snoozed_until"] = snooze.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        if changes.priority and changes.priority != row["priority"]:
            sets["priority"] = changes.priority
        if changes.assignee_id is not msgspec.UNSET and changes.assignee_id != row["assignee"]:
            if changes.assignee_id is not None:
                names["assignee"] = await _assignable(conn, changes.assignee_id, row["inbox"])
            sets["assignee"] = changes.assignee_id
        if changes.team_id is not msgspec.UNSET and changes.team_id != row["team"]:
            if changes.team_id is not None:
                name = await conn.fetchval("SELECT name FROM team WHERE id = $1", changes.team_id)
                if name is None:
                    raise InvalidChange(f"no team {changes.team_id}")
                names["team"] = name
            sets["team"] = changes.team_id
        if not sets:
            return await _json(conn, conversation_id)
        status = sets.get("status")
        if status in (Status.RESOLVED, Status.CLOSED):
            sets["resolved_at"] = dt.datetime.now(dt.UTC)
        if status == Status.OPEN:
            sets["resolved_at"] = None
        if status and status != Status.SNOOZED:
            sets["snoozed_until"] = None
        assignments = ", ".join(f"{column} = ${n + 2}" for n, column in enumerate(sets))
        await conn.execute(
            f"UPDATE conversation SET {assignments}, updated_at = now() WHERE id = $1",
            conversation_id,
            *sets.values(),
        )
        described = [
            _describe(field, sets[field], names)
            for field in ("status", "priority", "assignee", "team")
            if field in sets
        ]
        if "assignee" in sets:
            await conn.execute(
                "INSERT INTO conversation_assignment (conversation, agent, previous_agent, team,"
                " by_type, by_agent) VALUES ($1, $2, $3, $4, $5, $6)",
                conversation_id,
                sets["assignee"],
                row["assignee"],
                sets.get("team", row["team"]),
                "agent" if actor else ("automation" if origin else "system"),
                actor.id if actor else None,
            )
        emitted = await record_activity(
            conn,
            conversation_id,
            row["inbox"],
            described,
            actor=actor,
            changed={
                k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in sets.items()
            },
            previous={k: row[k] for k in ("status", "priority", "assignee", "team") if k in sets},
            origin=origin,
        )
        result = await _json(conn, conversation_id)
    await events.publish(emitted)
    return result


async def _assignable(conn: asyncpg.Connection, agent_id: int, inbox: int) -> str:
    """The agent's name, if they are active and may see the conversation's inbox."""
    agent = await conn.fetchrow("SELECT name, role FROM agent WHERE id = $1 AND active", agent_id)
    if agent is None:
        raise InvalidChange(f"no active agent {agent_id}")
    await roles.refresh()  # also called from workers, which serve no requests
    if not allowed(agent["role"], Permission.VIEW_ALL_CONVERSATIONS):
        member = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM inbox_member WHERE agent = $1 AND inbox = $2)"
            " OR EXISTS (SELECT 1 FROM inbox i JOIN team_member t ON t.team = i.team"
            " WHERE i.id = $2 AND t.agent = $1)",
            agent_id,
            inbox,
        )
        if not member:
            raise InvalidChange(f"{agent['name']} has no access to this conversation's inbox")
    return str(agent["name"])


async def record_activity(
    conn: asyncpg.Connection,
    conversation_id: int,
    inbox_id: int,
    lines: Sequence[str],
    *,
    actor: AgentInfo | None,
    changed: dict[str, Any],
    previous: dict[str, Any] | None = None,
    origin: dict[str, Any] | None = None,
) -> list[events.Event]:
    """Timeline lines (kind `event`) plus a conversation.updated event, inside the caller's transaction.

    `origin` marks a change an automation rule made ({"rule", "name", "depth", "chain"}): its lines
    say which rule, and its events carry it so rules never re-trigger on their own changes."""
    who = actor.name if actor else (f"Rule '{origin['name']}'" if origin else "Hub")
    meta = {"changed": changed, **({"origin": origin} if origin else {})}
    pending: list[dict[str, Any]] = []
    for line in lines:
        message_id = await conn.fetchval(
            "INSERT INTO message (conversation, inbox, kind, direction, author_type, author_id, text, html,"
            " status, error, attempts, meta, created_at, updated_at)"
            " VALUES ($1, $2, 'event', NULL, $3, $4, $5, '', 'received', '', 0, $6::jsonb, now(), now()) RETURNING id",
            conversation_id,
            inbox_id,
            "agent" if actor else "system",
            actor.id if actor else None,
            f"{who} {line}",
            msgspec.json.encode(meta).decode(),
        )
        pending.append(
            {
                "type": "message.created",
                "conversation": conversation_id,
                "inbox": inbox_id,
                "data": msgspec.json.decode(
                    await conn.fetchval("SELECT hub_message_json($1)", message_id)
                ),
            }
        )
    data = msgspec.json.decode(
        await conn.fetchval("SELECT hub_conversation_json($1)", conversation_id)
    )
    data["changed"] = changed
    if previous is not None:
        data["previous"] = previous
    if origin:
        data["origin"] = origin
    pending.append(
        {
            "type": "conversation.updated",
            "conversation": conversation_id,
            "inbox": inbox_id,
            "data": data,
        }
    )
    return await events.emit(
        conn,
        pending,
        actor_type="agent" if actor else "system",
        actor_id=actor.id if actor else None,
    )


async def _json(conn: asyncpg.Connection, conversation_id: int) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.json.decode(
        await conn.fetchval("SELECT hub_conversation_json($1)", conversation_id)
    )
    return result


def _clean_tag(tag: str) -> str:
    cleaned = " ".join(tag.strip().lower().split())
    if not cleaned or len(cleaned) > 100:
        raise InvalidChange("a tag is 1 to 100 characters")
    return cleaned


async def add_tags(
    conversation_id: int,
    tags: Sequence[str],
    *,
    actor: AgentInfo | None,
    origin: dict[str, Any] | None = None,
) -> dict[str, Any]:
    cleaned = sorted({_clean_tag(t) for t in tags})
    async with connection_pool().acquire() as conn, conn.transaction():
        inbox = await conn.fetchval(
            "SELECT inbox FROM conversation WHERE id = $1 FOR UPDATE", conversation_id
        )
        if inbox is None:
            raise NotFound(f"no conversation {conversation_id}")
        await conn.execute(
            "INSERT INTO tag (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING",
            cleaned,
        )
        added = await conn.fetch(
            "INSERT INTO conversation_tag (conversation, tag) SELECT $1, id FROM tag WHERE name = ANY($2::text[])"
            " ON CONFLICT DO NOTHING RETURNING tag",
            conversation_id,
            cleaned,
        )
        if not added:
            return await _json(conn, conversation_id)
        names = [
            r["name"]
            for r in await conn.fetch(
                "SELECT name FROM tag WHERE id = ANY($1::int[]) ORDER BY name",
                [r["tag"] for r in added],
            )
        ]
        changed: dict[str, Any] = {"tags_added": names}
        required = await requirements.tags_added(conn, conversation_id, names)
        if required is not None:
            changed["requirements"] = required
        emitted = await record_activity(
            conn,
            conversation_id,
            inbox,
            [f"added tag {', '.join(names)}"],
            actor=actor,
            changed=changed,
            origin=origin,
        )
        if required is not None:
            by_agent = actor.id if actor else None
            emitted += await requirements.requeue_if_unfit(
                conn, conversation_id, by_agent=by_agent, origin=origin
            )
        result = await _json(conn, conversation_id)
    await events.publish(emitted)
    return result


async def remove_tag(
    conversation_id: int, tag: str, *, actor: AgentInfo | None, origin: dict[str, Any] | None = None
) -> dict[str, Any]:
    name = _clean_tag(tag)
    async with connection_pool().acquire() as conn, conn.transaction():
        inbox = await conn.fetchval(
            "SELECT inbox FROM conversation WHERE id = $1 FOR UPDATE", conversation_id
        )
        if inbox is None:
            raise NotFound(f"no conversation {conversation_id}")
        removed = await conn.fetchval(
            "DELETE FROM conversation_tag WHERE conversation = $1 AND tag = (SELECT id FROM tag WHERE name = $2)"
            " RETURNING tag",
            conversation_id,
            name,
        )
        if removed is None:
            raise NotFound(f"conversation {conversation_id} has no tag {name!r}")
        changed: dict[str, Any] = {"tags_removed": [name]}
        required = await requirements.tag_removed(conn, conversation_id, name)
        if required is not None:
            changed["requirements"] = required
        emitted = await record_activity(
            conn,
            conversation_id,
            inbox,
            [f"removed tag {name}"],
            actor=actor,
            changed=changed,
            origin=origin,
        )
        result = await _json(conn, conversation_id)
    await events.publish(emitted)
    return result


async def mark_read(conversation_id: int) -> None:
    """Agents have read the conversation; the event tells other agents' tabs and the widget."""
    async with connection_pool().acquire() as conn, conn.transaction():
        inbox = await conn.fetchval(
            "UPDATE conversation SET unread_count = 0 WHERE id = $1 AND unread_count > 0 RETURNING inbox",
            conversation_id,
        )
        if inbox is None:
            return
        data = await _json(conn, conversation_id)
        emitted = await events.emit(
            conn,
            [
                {
                    "type": "conversation.updated",
                    "conversation": conversation_id,
                    "inbox": inbox,
                    "data": data,
                }
            ],
        )
    await events.publish(emitted)


async def wake_snoozed() -> int:
    """Reopen snoozed conversations whose time has come (a cron job); returns how many."""
    async with connection_pool().acquire() as conn:
        due = await conn.fetch(
            "SELECT id FROM conversation WHERE status = 'snoozed' AND snoozed_until <= now() ORDER BY snoozed_until LIMIT 500"
        )
    woken = 0
    for row in due:
        async with connection_pool().acquire() as conn, conn.transaction():
            current = await conn.fetchrow(
                "SELECT inbox, status, snoozed_until FROM conversation WHERE id = $1 FOR UPDATE",
                row["id"],
            )
            if (
                current is None
                or current["status"] != "snoozed"
                or current["snoozed_until"] > dt.datetime.now(dt.UTC)
            ):
                continue
            await conn.execute(
                "UPDATE conversation SET status = 'open', snoozed_until = NULL, updated_at = now() WHERE id = $1",
                row["id"],
            )
            emitted = await record_activity(
                conn,
                row["id"],
                current["inbox"],
                ["reopened the conversation (snooze ended)"],
                actor=None,
                changed={"status": "open"},
                previous={"status": "snoozed"},
            )
        await events.publish(emitted)
        woken += 1
    return woken
