"""Automatic assignment: a team's waiting conversations go to its available agents under capacity.

One assignment round per team runs at a time: the team row is locked (`FOR NO KEY UPDATE SKIP
LOCKED`, another worker skips a team that is busy), and the candidate agents' rows are locked too,
in id order, because an agent in two teams must not be pushed over capacity by two rounds at once.
Every lock here is NO KEY UPDATE: it still serialises rounds, but lets ingest insert conversations
and messages that reference these rows (their foreign-key checks take KEY SHARE locks, which a
plain FOR UPDATE would block, and which once deadlocked against the event ordering lock).
Waiting conversations are taken most urgent first, then longest waiting, so the queue order is
kept. The round commits the assignments, their history and their events together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from hub.db.engine import connection_pool
from hub.realtime import events
from hub.system import clock

POLICIES = ("manual", "round_robin", "least_loaded")
_RANK = (
    "CASE c.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2"
    " WHEN 'low' THEN 3 ELSE 4 END"
)
_LABEL = {"round_robin": "round robin", "least_loaded": "least loaded"}


class _Agent:
    __slots__ = ("capacity", "id", "inboxes", "last", "load", "name", "skills")

    def __init__(self, row: asyncpg.Record, inboxes: set[int]) -> None:
        self.id: int = row["id"]
        self.name: str = row["name"]
        self.skills = set(row["skills"] or ())
        self.capacity: int = row["capacity"]
        self.load: int = row["load"]
        self.last: dt.datetime | None = row["last_assigned_at"]
        self.inboxes = inboxes

    def takes(self, inbox: int, requirements: list[str]) -> bool:
        return (
            self.load < self.capacity and inbox in self.inboxes and self.skills >= set(requirements)
        )


def _pick(policy: str, agents: list[_Agent], inbox: int, requirements: list[str]) -> _Agent | None:
    eligible = [a for a in agents if a.takes(inbox, requirements)]
    if not eligible:
        return None
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    if policy == "least_loaded":
        # Ties go to whoever has waited longest for their last assignment.
        return min(eligible, key=lambda a: (a.load, a.last or never, a.id))
    return min(eligible, key=lambda a: (a.last or never, a.id))


async def _candidates(conn: asyncpg.Connection, team_id: int) -> list[_Agent]:
    rows = await conn.fetch(
        "SELECT a.id, a.name, a.skills, coalesce(m.max_open, t.max_open) AS capacity,"
        " m.last_assigned_at, (SELECT count(*) FROM conversation c WHERE c.assignee = a.id"
        " AND c.status IN ('open', 'pending')) AS load"
        " FROM team_member m JOIN agent a ON a.id = m.agent JOIN team t ON t.id = m.team"
        " WHERE m.team = $1 AND a.active AND a.availability = 'available'"
        " ORDER BY a.id FOR NO KEY UPDATE OF a",
        team_id,
    )
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    access = await conn.fetch(
        "SELECT agent, inbox FROM inbox_member WHERE agent = ANY($1::int[])"
        " UNION SELECT t.agent, i.id FROM inbox i JOIN team_member t ON t.team = i.team"
        " WHERE t.agent = ANY($1::int[])",
        ids,
    )
    inboxes: dict[int, set[int]] = {i: set() for i in ids}
    for row in access:
        inboxes[row["agent"]].add(row["inbox"])
    return [_Agent(r, inboxes[r["id"]]) for r in rows]


class Move(msgspec.Struct, frozen=True):
    """One change of a conversation's assignee, and the timeline line that tells it."""

    conversation: int
    inbox: int
    team: int | None
    agent: int | None  # None: back to the team queue
    previous: int | None
    line: str  # after "Hub ", e.g. "assigned the conversation to Ann (round robin)"


async def assign(
    conn: asyncpg.Connection,
    moves: Sequence[Move],
    *,
    by_type: str,
    by_agent: int | None = None,
    origin: dict[str, Any] | None = None,
) -> list[events.Event]:
    """Set (or clear) the assignees with their history rows, timeline lines and events, inside
    the caller's transaction: a few statements for any number of conversations, so a round of
    500 costs what one did (hub.conversations.lifecycle.record_activity writes the same shapes
    one conversation at a time)."""
    if not moves:
        return []
    # An automation rule's moves say which rule, and carry its origin (hub.automation).
    who = f"Rule '{origin['name']}'" if origin else "Hub"
    ids = [m.conversation for m in moves]
    agents = [m.agent for m in moves]
    await conn.execute(
        "UPDATE conversation c SET assignee = x.agent, updated_at = now()"
        " FROM unnest($1::int[], $2::int[]) AS x(id, agent) WHERE c.id = x.id",
        ids,
        agents,
    )
    await conn.execute(
        "INSERT INTO conversation_assignment (conversation, agent, previous_agent, team, by_type,"
        " by_agent) SELECT x.id, x.agent, x.previous, x.team, $5, $6"
        " FROM unnest($1::int[], $2::int[], $3::int[], $4::int[]) AS x(id, agent, previous, team)",
        ids,
        agents,
        [m.previous for m in moves],
        [m.team for m in moves],
        by_type,
        by_agent,
    )
    message_ids = [
        r["id"]
        for r in await conn.fetch(
            "INSERT INTO message (conversation, inbox, kind, direction, author_type, author_id,"
            " text, html, status, error, attempts, meta, created_at, updated_at)"
            " SELECT x.id, x.inbox, 'event', NULL, 'system', NULL, x.text, '', 'received', '', 0,"
            " jsonb_build_object('changed', jsonb_build_object('assignee', x.agent,"
            " 'assigned_by', $5::text)), now(), now()"
            " FROM unnest($1::int[], $2::int[], $3::int[], $4::text[]) WITH ORDINALITY"
            " AS x(id, inbox, agent, text, n) ORDER BY x.n RETURNING id",
            ids,
            [m.inbox for m in moves],
            agents,
            [f"{who} {m.line}" for m in moves],
            by_type,
        )
    ]
    messages = {
        r["id"]: msgspec.json.decode(r["data"])
        for r in await conn.fetch(
            "SELECT id, data::text AS data FROM hub_messages_json($1::bigint[])", message_ids
        )
    }
    conversations = {
        r["id"]: msgspec.json.decode(r["data"])
        for r in await conn.fetch(
            "SELECT id, data::text AS data FROM hub_conversations_json($1::int[])", ids
        )
    }
    pending: list[dict[str, Any]] = []
    for move, message_id in zip(moves, message_ids, strict=True):
        data = conversations[move.conversation]
        data["changed"] = {"assignee": move.agent, "assigned_by": by_type}
        data["previous"] = {"assignee": move.previous}
        if origin:
            data["origin"] = origin
        where = {"conversation": move.conversation, "inbox": move.inbox}
        pending.append({"type": "message.created", **where, "data": messages[message_id]})
        pending.append({"type": "conversation.updated", **where, "data": data})
    return await events.emit(conn, pending)


async def assign_waiting(team_id: int, *, limit: int = 500) -> list[tuple[int, int]]:
    """One assignment round for a team; returns (conversation, agent) pairs assigned."""
    done: list[tuple[int, int]] = []
    emitted: list[events.Event] = []
    async with connection_pool().acquire() as conn, conn.transaction():
        team = await conn.fetchrow(
            "SELECT id, assignment FROM team WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED", team_id
        )
        if team is None or team["assignment"] == "manual":
            return done
        agents = await _candidates(conn, team_id)
        free = sum(max(0, a.capacity - a.load) for a in agents)
        if free == 0:
            return done
        waiting = await conn.fetch(
            "SELECT c.id, c.inbox, c.requirements FROM conversation c WHERE c.team = $1"
            f" AND c.assignee IS NULL AND c.status = 'open' ORDER BY {_RANK},"
            " coalesce(c.waiting_since, c.created_at), c.id LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED",
            team_id,
            min(free * 4, limit),  # some may not fit anybody's skills or inboxes
        )
        now = clock.now()
        chosen: list[Move] = []
        for n, row in enumerate(waiting):
            agent = _pick(team["assignment"], agents, row["inbox"], list(row["requirements"]))
            if agent is None:
                continue
            agent.load += 1
            # Distinct, increasing times keep round-robin order within one round.
            agent.last = now + dt.timedelta(microseconds=n)
            label = _LABEL[team["assignment"]]
            chosen.append(
                Move(
                    row["id"],
                    row["inbox"],
                    team_id,
                    agent.id,
                    None,
                    f"assigned the conversation to {agent.name} ({label})",
                )
            )
            done.append((row["id"], agent.id))
            if all(a.load >= a.capacity for a in agents):
                break
        emitted = await assign(conn, chosen, by_type="policy")
        touched = {a.id: a.last for a in agents if a.last is not None}
        if done:
            await conn.executemany(
                "UPDATE team_member SET last_assigned_at = $3 WHERE team = $1 AND agent = $2",
                [(team_id, agent_id, at) for agent_id, at in touched.items()],
            )
    await events.publish(emitted)
    return done


async def routed_teams() -> list[int]:
    rows = await connection_pool().fetch(
        "SELECT id FROM team WHERE assignment <> 'manual' ORDER BY id"
    )
    return [r["id"] for r in rows]


async def assign_all() -> dict[str, Any]:
    assigned = 0
    for team_id in await routed_teams():
        assigned += len(await assign_waiting(team_id))
    return {"assigned": assigned}
