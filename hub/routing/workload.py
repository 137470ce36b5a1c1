"""The workload view: per agent and per team, how much is open, what waits, who has room.

Load is what capacity counts (hub.routing.assign): open + pending conversations assigned to the
agent, in any team. A team's waiting conversations are its open ones without an assignee, the
queue its rounds take from.
"""

from __future__ import annotations

from typing import Any

import msgspec

from hub.db.engine import connection_pool


async def agents() -> list[dict[str, Any]]:
    """Per active agent: availability, open and pending conversations, capacity per team."""
    rows = await connection_pool().fetch(
        "SELECT a.id, a.name, a.availability, a.skills,"
        " (SELECT count(*) FROM conversation c WHERE c.assignee = a.id AND c.status = 'open') AS open,"
        " (SELECT count(*) FROM conversation c WHERE c.assignee = a.id AND c.status = 'pending')"
        " AS pending, coalesce((SELECT jsonb_agg(jsonb_build_object('team_id', t.id, 'team', t.name,"
        " 'capacity', coalesce(m.max_open, t.max_open)) ORDER BY t.name) FROM team_member m"
        " JOIN team t ON t.id = m.team WHERE m.agent = a.id), '[]'::jsonb)::text AS teams"
        " FROM agent a WHERE a.active ORDER BY a.name"
    )
    out = []
    for row in rows:
        teams = msgspec.json.decode(row["teams"])
        load = row["open"] + row["pending"]
        out.append(
            {
                "agent_id": row["id"],
                "name": row["name"],
                "availability": row["availability"],
                "skills": list(row["skills"]),
                "open": row["open"],
                "pending": row["pending"],
                "teams": teams,
                "at_capacity": bool(teams) and all(load >= t["capacity"] for t in teams),
            }
        )
    return out


# One row per team; members are its active agents. `free` is the room the next round has: the
# available members' capacity minus their load (never below 0 per agent).
_TEAMS = """
SELECT t.id, t.name, t.assignment, t.max_open,
  (SELECT count(*) FROM conversation c
    WHERE c.team = t.id AND c.status = 'open' AND c.assignee IS NULL) AS waiting,
  (SELECT min(coalesce(c.waiting_since, c.created_at)) FROM conversation c
    WHERE c.team = t.id AND c.status = 'open' AND c.assignee IS NULL) AS oldest_waiting_since,
  (SELECT count(*) FROM conversation c
    WHERE c.team = t.id AND c.status = 'open' AND c.assignee IS NOT NULL) AS open,
  (SELECT count(*) FROM conversation c
    WHERE c.team = t.id AND c.status = 'pending' AND c.assignee IS NOT NULL) AS pending,
  count(a.id) AS agents,
  count(a.id) FILTER (WHERE a.availability = 'available') AS available,
  count(a.id) FILTER (WHERE l.load >= coalesce(m.max_open, t.max_open)) AS at_capacity,
  coalesce(sum(coalesce(m.max_open, t.max_open)) FILTER (WHERE a.id IS NOT NULL), 0) AS capacity,
  coalesce(sum(greatest(0, coalesce(m.max_open, t.max_open) - l.load))
    FILTER (WHERE a.availability = 'available'), 0) AS free
FROM team t
LEFT JOIN team_member m ON m.team = t.id
LEFT JOIN agent a ON a.id = m.agent AND a.active
LEFT JOIN LATERAL (SELECT count(*) AS load FROM conversation c
    WHERE c.assignee = a.id AND c.status IN ('open', 'pending')) l ON a.id IS NOT NULL
GROUP BY t.id
ORDER BY t.name
"""


async def teams() -> list[dict[str, Any]]:
    """Per team: waiting (its unassigned open conversations, and since when the oldest waits),
    open and pending assigned, members, how many are available and at capacity, the capacity of
    all members and the free places among the available ones."""
    rows = await connection_pool().fetch(_TEAMS)
    return [
        {
            "team_id": r["id"],
            "name": r["name"],
            "assignment": r["assignment"],
            "waiting": r["waiting"],
            "oldest_waiting_since": r["oldest_waiting_since"],
            "open": r["open"],
            "pending": r["pending"],
            "agents": r["agents"],
            "available": r["available"],
            "at_capacity": r["at_capacity"],
            "capacity": int(r["capacity"]),
            "free": int(r["free"]),
        }
        for r in rows
    ]
