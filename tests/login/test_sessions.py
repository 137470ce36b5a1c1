"""Your sessions: the list (created, last seen, address, browser, which is this one), ending one
or all others (their sockets close), and idle and absolute expiry on requests and sockets."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import httpx
import pytest
import websockets

from hub.system.config import Settings
from tests.login.helpers import audit_rows, new_agent, session


async def _sql(dsn: str | None, statement: str, *args: object) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


async def test_list_and_revoke(
    client: httpx.AsyncClient, base_url: str, settings: Settings
) -> None:
    agent_id, email = await new_agent()
    csrf = await session(client, email)
    other = httpx.AsyncClient(base_url=base_url, headers={"user-agent": "OtherBrowser/1"})
    await session(other, email)
    third = httpx.AsyncClient(base_url=base_url)
    await session(third, email)
    # Someone else's sessions are not in the list and cannot be ended.
    _, stranger_email = await new_agent()
    stranger = httpx.AsyncClient(base_url=base_url)
    stranger_csrf = await session(stranger, stranger_email)

    listed = (await client.get("/api/v1/auth/sessions")).json()
    assert len(listed) == 3 and [s["current"] for s in listed].count(True) == 1
    assert {"created_at", "last_seen_at", "ip", "user_agent", "method"} <= set(listed[0])
    assert listed[0]["ip"] == "127.0.0.1"
    theirs = next(s for s in listed if s["user_agent"] == "OtherBrowser/1")
    denied = await stranger.delete(f"/api/v1/auth/sessions/{theirs['id']}", headers=stranger_csrf)
    assert denied.status_code == 404
    assert (await other.get("/api/v1/auth/me")).status_code == 200

    # The other browser's socket closes when its session is ended.
    url = base_url.replace("http://", "ws://") + "/ws/agent"
    cookie = f"hub_session={other.cookies['hub_session']}"
    async with websockets.connect(
        url, additional_headers={"Cookie": cookie, "Origin": base_url}
    ) as socket:
        await socket.send(json.dumps({"after": 0}))
        gone = await client.delete(f"/api/v1/auth/sessions/{theirs['id']}", headers=csrf)
        assert gone.status_code == 204
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            async with asyncio.timeout(10):
                while True:
                    await socket.recv()
    assert (await other.get("/api/v1/auth/me")).status_code == 401

    others = await client.post("/api/v1/auth/sessions/revoke-others", headers=csrf)
    assert others.json() == {"revoked": 1}
    assert (await third.get("/api/v1/auth/me")).status_code == 401
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    assert (await stranger.get("/api/v1/auth/me")).status_code == 200
    for c in (other, third, stranger):
        await c.aclose()
    rows = await audit_rows(settings.database_url or "", "session.revoke", "session.revoke_others")
    assert [(r["action"], r["actor_id"]) for r in rows] == [
        ("session.revoke", agent_id),
        ("session.revoke_others", agent_id),
    ]


async def test_idle_and_absolute_expiry(client: httpx.AsyncClient, settings: Settings) -> None:
    agent_id, email = await new_agent()
    await session(client, email)
    idle = settings.session_idle_seconds
    # Used just within the idle time: still good, and the use counts as activity.
    await _sql(
        settings.database_url,
        "UPDATE agent_session SET last_seen_at = now() - make_interval(secs => $1) WHERE agent = $2",
        idle - 30,
        agent_id,
    )
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    conn = await asyncpg.connect(settings.database_url)
    try:
        fresh = await conn.fetchval(
            "SELECT last_seen_at > now() - interval '1 minute' FROM agent_session WHERE agent = $1",
            agent_id,
        )
    finally:
        await conn.close()
    assert fresh is True
    # Unused for longer than the idle time: over.
    await _sql(
        settings.database_url,
        "UPDATE agent_session SET last_seen_at = now() - make_interval(secs => $1) WHERE agent = $2",
        idle + 1,
        agent_id,
    )
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    # Absolute: however busy, a session ends at its expiry.
    client.cookies.clear()
    await session(client, email)
    await _sql(
        settings.database_url,
        "UPDATE agent_session SET expires_at = now() - interval '1 second' WHERE agent = $1",
        agent_id,
    )
    assert (await client.get("/api/v1/auth/me")).status_code == 401
