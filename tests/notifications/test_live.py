"""Notifications over WS /ws/agent: live to their agent only, replayed after a reconnect, and
never in anyone else's stream (not even an admin's, who sees every inbox)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets

from hub.notifications import notify
from tests.conftest import quiet
from tests.notifications.helpers import Agent, agent


def _ws(base_url: str, who: Agent) -> str:
    token = who.headers["authorization"].split(" ", 1)[1]
    return base_url.replace("http://", "ws://") + f"/ws/agent?token={token}"


async def _next(socket: Any, kind: str, timeout: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            event = json.loads(await socket.recv())
            if event["type"] == kind:
                return dict(event)


async def test_live_to_its_agent_only(client: httpx.AsyncClient, base_url: str) -> None:
    ann, admin = await agent(client), await agent(client, role="admin")
    async with (
        websockets.connect(_ws(base_url, ann)) as ann_socket,
        websockets.connect(_ws(base_url, admin)) as admin_socket,
    ):
        await asyncio.sleep(0.4)  # the server waits briefly for an optional {"after": id}
        [created] = await notify(agent_ids=[ann.id], title="for Ann")
        event = await _next(ann_socket, "notification.created")
        assert event["data"]["id"] == created["id"]
        assert event["data"]["title"] == "for Ann" and event["data"]["unread_count"] == 1
        assert event["agent_id"] == ann.id
        assert await quiet(admin_socket) == []
        read = await client.post(
            "/api/v1/notifications/read", json={"all": True}, headers=ann.headers
        )
        assert read.status_code == 200
        cleared = await _next(ann_socket, "notification.read")
        assert cleared["data"]["unread_count"] == 0
        assert await quiet(admin_socket) == []


async def test_an_offline_agent_gets_them_after_reconnecting(
    client: httpx.AsyncClient, base_url: str
) -> None:
    ann, bob = await agent(client), await agent(client, role="admin")
    async with websockets.connect(_ws(base_url, ann)) as socket:
        await socket.send(json.dumps({"after": 0}))
        await notify(agent_ids=[ann.id], title="first")
        last = (await _next(socket, "notification.created"))["id"]
    # Offline: these are stored, and pushed to nobody.
    await notify(agent_ids=[ann.id], title="while away 1")
    await notify(agent_ids=[ann.id], title="while away 2")
    await notify(agent_ids=[bob.id], title="bob's own")
    async with websockets.connect(_ws(base_url, ann)) as socket:
        await socket.send(json.dumps({"after": last}))
        missed = [await _next(socket, "notification.created") for _ in range(2)]
        assert [e["data"]["title"] for e in missed] == ["while away 1", "while away 2"]
        assert await quiet(socket) == []
    async with websockets.connect(_ws(base_url, bob)) as socket:
        await socket.send(json.dumps({"after": 0}))
        mine = await _next(socket, "notification.created")
        assert mine["data"]["title"] == "bob's own"
        assert await quiet(socket) == []
    feed = await client.get("/api/v1/events", params={"after": 0}, headers=bob.headers)
    titles = [e["data"].get("title") for e in feed.json()["items"]]
    assert titles == ["bob's own"]
