"""Automatic assignment against PostgreSQL with the in-process worker: capacity, queue order,
fairness, away, taking a conversation, and nothing assigned twice under concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import httpx

from hub.db.engine import connection_pool
from hub.routing import assign, availability
from hub.system import clock
from tests.conftest import (
    admin_key,
    api_key_for,
    eventually,
    inbound,
    make_agent,
    make_api_inbox,
    unique,
)


async def _team(inbox_id: int, agents: int, *, policy: str, max_open: int) -> tuple[int, list[int]]:
    pool = connection_pool()
    team = await pool.fetchval(
        "INSERT INTO team (name, assignment, max_open) VALUES ($1, $2, $3) RETURNING id",
        unique("team"),
        policy,
        max_open,
    )
    ids = [await make_agent(unique("agent") + "@example.com") for _ in range(agents)]
    await pool.executemany(
        "INSERT INTO team_member (team, agent) VALUES ($1, $2)", [(team, a) for a in ids]
    )
    await pool.execute("UPDATE inbox SET team = $2 WHERE id = $1", inbox_id, team)
    return team, ids


async def _conversations(inbox_id: int, count: int) -> list[int]:
    """Waiting conversations in the inbox, created one after another (the queue order)."""
    pool = connection_pool()
    rows = await pool.fetch(
        "WITH c AS (INSERT INTO contact (name, attributes, created_at)"
        " SELECT 'Customer ' || n, '{}'::jsonb, now() FROM generate_series(1, $2) n RETURNING id)"
        " INSERT INTO conversation (inbox, contact, status, priority, subject, team, unread_count,"
        " created_at, updated_at, last_message_at)"
        " SELECT $1, c.id, 'open', 'none', '', (SELECT team FROM inbox WHERE id = $1), 1,"
        " now() + c.id * interval '1 ms', now(), now() FROM c ORDER BY c.id RETURNING id",
        inbox_id,
        count,
    )
    return [r["id"] for r in rows]


async def _loads(agent_ids: list[int]) -> dict[int, int]:
    rows = await connection_pool().fetch(
        "SELECT assignee, count(*) AS n FROM conversation WHERE assignee = ANY($1::int[])"
        " AND status = 'open' GROUP BY 1",
        agent_ids,
    )
    return {a: 0 for a in agent_ids} | {r["assignee"]: r["n"] for r in rows}


async def test_500_arrivals_five_agents_capacity_twenty(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    team, agents = await _team(inbox["id"], 5, policy="round_robin", max_open=20)

    async def arrive(n: int) -> None:
        response = await inbound(client, headers, inbox["id"], f"m-{n}", sender=f"+4530{n:06d}")
        assert response.status_code == 201, response.text

    for start in range(0, 500, 50):
        await asyncio.gather(*(arrive(n) for n in range(start, start + 50)))
    # The worker's subscriber and cron assign as events arrive; more rounds race them on purpose.
    await asyncio.gather(*(assign.assign_waiting(team) for _ in range(4)))

    async def settled() -> bool:
        return sum((await _loads(agents)).values()) == 100

    await eventually(settled, timeout=30)
    assert set((await _loads(agents)).values()) == {20}
    pool = connection_pool()
    twice = await pool.fetchval(
        "SELECT count(*) FROM (SELECT conversation FROM conversation_assignment"
        " WHERE by_type = 'policy' GROUP BY 1 HAVING count(*) > 1) x"
    )
    assert twice == 0
    history = await pool.fetch(
        "SELECT agent, count(*) AS n FROM conversation_assignment GROUP BY 1 ORDER BY 1"
    )
    assert [(r["agent"], r["n"]) for r in history] == [(a, 20) for a in sorted(agents)]
    # The queue kept its order: the 100 first arrivals were assigned, the 400 later ones wait.
    ordered = await pool.fetch(
        "SELECT assignee FROM conversation WHERE inbox = $1 ORDER BY created_at, id", inbox["id"]
    )
    assert all(r["assignee"] is not None for r in ordered[:100])
    assert all(r["assignee"] is None for r in ordered[100:])


async def test_round_robin_is_fair_over_a_thousand(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    team, agents = await _team(inbox["id"], 7, policy="round_robin", max_open=1000)
    await _conversations(inbox["id"], 1000)
    while await assign.assign_waiting(team):
        pass
    loads = await _loads(agents)
    assert sum(loads.values()) == 1000
    assert max(loads.values()) - min(loads.values()) <= 1


async def test_least_loaded_fills_the_emptiest_first(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    team, agents = await _team(inbox["id"], 3, policy="manual", max_open=10)
    first = await _conversations(inbox["id"], 6)
    pool = connection_pool()
    # Agent 0 already holds 4, agent 1 holds 2, agent 2 none.
    await pool.execute(
        "UPDATE conversation SET assignee = $1 WHERE id = ANY($2::int[])", agents[0], first[:4]
    )
    await pool.execute(
        "UPDATE conversation SET assignee = $1 WHERE id = ANY($2::int[])", agents[1], first[4:]
    )
    await pool.execute("UPDATE team SET assignment = 'least_loaded' WHERE id = $1", team)
    await _conversations(inbox["id"], 6)
    await assign.assign_waiting(team)
    assert await _loads(agents) == {agents[0]: 4, agents[1]: 4, agents[2]: 4}


async def test_going_away_returns_conversations_to_the_others_in_one_sweep(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    team, agents = await _team(inbox["id"], 3, policy="round_robin", max_open=10)
    await _conversations(inbox["id"], 12)
    await assign.assign_waiting(team)
    assert set((await _loads(agents)).values()) == {4}
    result = await availability.set_availability(agents[0], "away")
    assert result["returned"] == 4
    await assign.assign_all()  # the sweep (or the worker's round, which may hold the team now)

    async def reassigned() -> bool:
        return await _loads(agents) == {agents[0]: 0, agents[1]: 6, agents[2]: 6}

    await eventually(reassigned)
    kinds = await connection_pool().fetch(
        "SELECT by_type, count(*) AS n FROM conversation_assignment GROUP BY 1 ORDER BY 1"
    )
    assert {r["by_type"]: r["n"] for r in kinds} == {"agent": 4, "policy": 16}


async def test_an_absent_agent_becomes_away_and_busy_keeps_conversations(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    team, agents = await _team(inbox["id"], 2, policy="round_robin", max_open=10)
    await _conversations(inbox["id"], 4)
    await assign.assign_waiting(team)
    await availability.touch(agents)
    await availability.set_availability(agents[1], "busy")
    assert await _loads(agents) == {agents[0]: 2, agents[1]: 2}
    clock.advance(dt.timedelta(seconds=301))
    gone = await availability.mark_absent_away(300)
    assert sorted(gone) == sorted(agents)
    assert await _loads(agents) == {agents[0]: 0, agents[1]: 0}
    assert await availability.mark_absent_away(300) == []  # once


async def test_take_it_and_manual_assignment_guards(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    team, agents = await _team(inbox["id"], 1, policy="manual", max_open=10)
    cid = (await inbound(client, headers, inbox["id"], unique("m"))).json()["conversation_id"]
    first = {"authorization": f"Bearer {await api_key_for(client, unique('a') + '@example.com')}"}
    pool = connection_pool()
    await pool.execute(
        "INSERT INTO team_member (team, agent) SELECT $1, id FROM agent WHERE email LIKE 'a-%'",
        team,
    )
    second = {"authorization": f"Bearer {await api_key_for(client, unique('b') + '@example.com')}"}
    await pool.execute(
        "INSERT INTO team_member (team, agent) SELECT $1, id FROM agent WHERE email LIKE 'b-%'",
        team,
    )
    won = await client.post(f"/api/v1/conversations/{cid}/take", headers=first)
    assert won.status_code == 200, won.text
    lost = await client.post(f"/api/v1/conversations/{cid}/take", headers=second)
    assert lost.status_code == 409 and "has taken this conversation already" in lost.text
    assert won.json()["assignee_id"] != agents[0]
    outsider = await make_agent(unique("outsider") + "@example.com")
    refused = await client.patch(
        f"/api/v1/conversations/{cid}", json={"assignee_id": outsider}, headers=headers
    )
    assert refused.status_code == 422 and "no access to this conversation's inbox" in refused.text
    history = await client.get(f"/api/v1/conversations/{cid}/assignments", headers=headers)
    assert [h["by_type"] for h in history.json()] == ["agent"]
    counts = Counter(h["agent_id"] for h in history.json())
    assert counts == {won.json()["assignee_id"]: 1}
