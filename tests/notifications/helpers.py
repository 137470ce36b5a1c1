"""Shared steps for the notification tests: agents with keys, an inbox they work, waiting for
notifications to arrive through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from tests.conftest import api_key_for, eventually, unique


@dataclass
class Agent:
    id: int
    headers: dict[str, str]


async def agent(client: httpx.AsyncClient, role: str = "agent") -> Agent:
    key = await api_key_for(client, unique(role) + "@example.com", role=role)
    headers = {"authorization": f"Bearer {key}"}
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200, me.text
    return Agent(int(me.json()["agent"]["id"]), headers)


async def members(
    client: httpx.AsyncClient, admin: dict[str, str], inbox_id: int, *agents: Agent
) -> None:
    response = await client.put(
        f"/api/v1/inboxes/{inbox_id}/members",
        json={"agent_ids": [a.id for a in agents]},
        headers=admin,
    )
    assert response.status_code == 200, response.text


async def team(database: str, name: str, *agents: Agent) -> int:
    conn = await asyncpg.connect(database)
    try:
        team_id = int(await conn.fetchval("INSERT INTO team (name) VALUES ($1) RETURNING id", name))
        for a in agents:
            await conn.execute(
                "INSERT INTO team_member (team, agent) VALUES ($1, $2)", team_id, a.id
            )
    finally:
        await conn.close()
    return team_id


async def notifications(client: httpx.AsyncClient, who: Agent, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/notifications", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def wait_for_kind(
    client: httpx.AsyncClient, who: Agent, kind: str, count: int = 1
) -> list[dict[str, Any]]:
    async def arrived() -> list[dict[str, Any]] | None:
        items = [n for n in (await notifications(client, who))["items"] if n["kind"] == kind]
        return items if len(items) >= count else None

    result: list[dict[str, Any]] = await eventually(arrived)
    return result


async def settled(database: str, subscriber: str = "notifications") -> None:
    """Wait until the subscriber has read every event committed so far."""

    async def caught_up() -> bool:
        conn = await asyncpg.connect(database)
        try:
            return bool(
                await conn.fetchval(
                    "SELECT coalesce((SELECT last_id FROM event_cursor WHERE subscriber = $1), 0)"
                    " >= (SELECT coalesce(max(id), 0) FROM event)",
                    subscriber,
                )
            )
        finally:
            await conn.close()

    await eventually(caught_up)
