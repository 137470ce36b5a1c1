"""The workload figures per team and per agent (GET /api/v1/routing/workload[/teams])."""

from __future__ import annotations

import httpx

from hub.db.engine import connection_pool
from tests.conftest import admin_key, make_agent, make_api_inbox, unique


async def test_team_figures_count_waiting_open_capacity_and_availability(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    pool = connection_pool()
    # Manual: nothing is assigned behind the test's back, so every figure is the test's own.
    team = await pool.fetchval(
        "INSERT INTO team (name, assignment, max_open) VALUES ($1, 'manual', 3) RETURNING id",
        unique("team"),
    )
    busy, free, gone = [await make_agent(unique("agent") + "@example.com") for _ in range(3)]
    await pool.executemany(
        "INSERT INTO team_member (team, agent, max_open) VALUES ($1, $2, $3)",
        [(team, busy, 2), (team, free, None), (team, gone, None)],
    )
    await pool.execute("UPDATE agent SET availability = 'away' WHERE id = $1", free)
    await pool.execute("UPDATE agent SET active = false WHERE id = $1", gone)
    contact = await pool.fetchval(
        "INSERT INTO contact (name, attributes, created_at) VALUES ('C', '{}', now()) RETURNING id"
    )

    async def conversation(status: str, assignee: int | None, minutes_ago: int = 0) -> None:
        await pool.execute(
            "INSERT INTO conversation (inbox, contact, status, priority, subject, team, assignee,"
            " unread_count, created_at, updated_at, last_message_at)"
            " VALUES ($1, $2, $3, 'none', '', $4, $5, 0, now() - $6 * interval '1 minute', now(),"
            " now())",
            inbox["id"], contact, status, team, assignee, minutes_ago,
        )  # fmt: skip

    await conversation("open", busy)
    await conversation("pending", busy)  # busy: 2 of 2, at capacity
    await conversation("open", free)
    await conversation("open", None, minutes_ago=30)
    await conversation("open", None, minutes_ago=5)
    await conversation("resolved", None)  # not waiting any more
    await conversation("pending", None)  # waiting for the customer, not in the queue

    response = await client.get("/api/v1/routing/workload/teams", headers=headers)
    assert response.status_code == 200, response.text
    row = next(t for t in response.json() if t["team_id"] == team)
    assert row["waiting"] == 2
    assert row["open"] == 2 and row["pending"] == 1
    assert row["agents"] == 2  # the deactivated member does not count
    assert row["available"] == 1  # `free` is away
    assert row["at_capacity"] == 1
    assert row["capacity"] == 2 + 3
    assert row["free"] == 0  # the only available agent is full
    oldest = await pool.fetchval(
        "SELECT min(created_at) FROM conversation WHERE team = $1 AND status = 'open'"
        " AND assignee IS NULL",
        team,
    )
    assert row["oldest_waiting_since"].startswith(oldest.isoformat()[:19])

    await pool.execute("UPDATE agent SET availability = 'available' WHERE id = $1", free)
    again = await client.get("/api/v1/routing/workload/teams", headers=headers)
    row = next(t for t in again.json() if t["team_id"] == team)
    assert row["available"] == 2 and row["free"] == 3 - 1

    agents = await client.get("/api/v1/routing/workload", headers=headers)
    by_id = {a["agent_id"]: a for a in agents.json()}
    assert by_id[busy]["at_capacity"] and (by_id[busy]["open"], by_id[busy]["pending"]) == (1, 1)
    assert not by_id[free]["at_capacity"] and by_id[free]["open"] == 1
    assert gone not in by_id
