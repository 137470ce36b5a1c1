"""Who is online: web processes record the agents with an open /ws/agent socket.

Each process refreshes its connected agents every HEARTBEAT_SECONDS; an agent counts as online
while the newest mark is younger than ONLINE_SECONDS, so a process that dies takes its agents
offline within that time without anyone cleaning up. Email digests go to agents who are away
(their availability) or offline.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from hub.db.engine import connection_pool

HEARTBEAT_SECONDS = 30
ONLINE_SECONDS = 90


async def touch(agent_ids: Sequence[int]) -> None:
    if not agent_ids:
        return
    await connection_pool().execute(
        "INSERT INTO agent_presence (agent, seen_at) SELECT unnest($1::int[]), now()"
        " ON CONFLICT (agent) DO UPDATE SET seen_at = excluded.seen_at",
        list(agent_ids),
    )


async def leave(agent_id: int) -> None:
    """The agent's last socket here closed. Another process still serving them re-marks them
    at its next heartbeat."""
    await connection_pool().execute("DELETE FROM agent_presence WHERE agent = $1", agent_id)


async def reachable(conn: asyncpg.Connection, agent_ids: Sequence[int]) -> set[int]:
    """Of `agent_ids`, those online and not away: they see the bell, so need no email."""
    rows = await conn.fetch(
        "SELECT a.id FROM agent a JOIN agent_presence p ON p.agent = a.id"
        " WHERE a.id = ANY($1::int[]) AND a.availability <> 'away'"
        " AND p.seen_at > now() - make_interval(secs => $2)",
        list(agent_ids),
        ONLINE_SECONDS,
    )
    return {r["id"] for r in rows}
