"""Agent availability (available / busy / away), presence, and what going away does.

Only `available` agents receive conversations automatically. Going away (by hand, or because the
agent's last inbox tab has been gone for HUB_AWAY_AFTER_SECONDS) returns their open conversations
to the queue of each team that says so (`team.unassign_on_away`); busy keeps them. Every change is
an `agent.updated` event and each unassignment a line in the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from hub.auth.access import NotFound
from hub.conversations.lifecycle import InvalidChange
from hub.db.engine import connection_pool
from hub.realtime import events
from hub.routing.assign import Move, assign
from hub.system import clock

STATUSES = ("available", "busy", "away")


async def set_availability(agent_id: int, status: str, *, by: str = "agent") -> dict[str, Any]:
    """`by` is who changed it: the agent, or "away" for the presence sweep."""
    if status not in STATUSES:
        raise InvalidChange(f"availability must be one of {', '.join(STATUSES)}")
    emitted: list[events.Event] = []
    async with connection_pool().acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT id, name, availability FROM agent WHERE id = $1 AND active FOR NO KEY UPDATE",
            agent_id,
        )
        if row is None:
            raise NotFound(f"no agent {agent_id}")
        result = {"id": agent_id, "availability": status, "returned": 0}
        if row["availability"] == status:
            return result
        await conn.execute(
            "UPDATE agent SET availability = $2, availability_changed_at = now() WHERE id = $1",
            agent_id,
            status,
        )
        if status == "away":
            held = await conn.fetch(
                "SELECT c.id, c.inbox, c.team FROM conversation c JOIN team t ON t.id = c.team"
                " WHERE c.assignee = $1 AND c.status IN ('open', 'pending') AND t.unassign_on_away"
                " ORDER BY c.id FOR NO KEY UPDATE OF c",
                agent_id,
            )
            line = f"returned the conversation to the team queue ({row['name']} is away)"
            emitted += await assign(
                conn,
                [Move(c["id"], c["inbox"], c["team"], None, agent_id, line) for c in held],
                by_type="away" if by == "away" else "agent",
                by_agent=agent_id,
            )
            result["returned"] = len(held)
        emitted += await events.emit(
            conn,
            [
                {
                    "type": "agent.updated",
                    "conversation": None,
                    "inbox": None,
                    "data": {
                        "id": agent_id,
                        "availability": status,
                        "previous": row["availability"],
                    },
                }
            ],
            actor_type="agent" if by == "agent" else "system",
            actor_id=agent_id if by == "agent" else None,
        )
    await events.publish(emitted)
    return result


async def of(agent_id: int) -> str:
    value = await connection_pool().fetchval(
        "SELECT availability FROM agent WHERE id = $1", agent_id
    )
    return str(value or "away")


async def touch(agent_ids: Iterable[int]) -> None:
    """The agents have an inbox tab open right now (the web processes call this periodically)."""
    ids = sorted(set(agent_ids))
    if ids:
        await connection_pool().execute(
            "UPDATE agent SET seen_at = $2 WHERE id = ANY($1::int[])", ids, clock.now()
        )


async def mark_absent_away(away_after: int) -> list[int]:
    """Agents not seen for `away_after` seconds become away (an agent never seen keeps their
    state: they have not opened the inbox yet, so nothing was left behind)."""
    cutoff = clock.now() - dt.timedelta(seconds=away_after)
    rows = await connection_pool().fetch(
        "SELECT id FROM agent WHERE active AND availability <> 'away' AND seen_at < $1", cutoff
    )
    for row in rows:
        await set_availability(row["id"], "away", by="away")
    return [r["id"] for r in rows]
