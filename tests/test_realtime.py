"""WS /ws/agent: live events, resume after a drop, access filtering, and across two processes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import admin_key, api_key_for, inbound, make_api_inbox, quiet, unique


def _ws(base_url: str, headers: dict[str, str], **query: Any) -> str:
    token = headers["authorization"].split(" ", 1)[1]
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return base_url.replace("http://", "ws://") + f"/ws/agent?token={token}{extra}"


async def _receive(socket: Any, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    received = []
    async with asyncio.timeout(timeout):
        while len(received) < count:
            received.append(json.loads(await socket.recv()))
    return received


async def test_inbound_message_arrives_live(client: httpx.AsyncClient, base_url: str) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    async with websockets.connect(_ws(base_url, headers)) as socket:
        await asyncio.sleep(0.4)  # the server waits briefly for an optional {"after": id}
        await inbound(client, headers, inbox["id"], "live-1", text="is anyone there?")
        received = await _receive(socket, 2)
    assert [e["type"] for e in received] == ["conversation.created", "message.created"]
    assert received[1]["data"]["text"] == "is anyone there?"
    assert received[0]["id"] < received[1]["id"]


async def test_reconnect_with_last_id_gets_every_missed_event_once_in_order(
    client: httpx.AsyncClient, base_url: str
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    await inbound(client, headers, inbox["id"], "before", sender="+4540000000")
    async with websockets.connect(_ws(base_url, headers)) as socket:
        await socket.send(json.dumps({"after": 0}))
        seen = await _receive(socket, 2)
    last_id = seen[-1]["id"]
    # While disconnected: 50 replies from one customer make 100 events (message + conversation update).
    for n in range(50):
        assert (
            await inbound(
                client, headers, inbox["id"], f"missed-{n}", text=f"m{n}", sender="+4540000000"
            )
        ).status_code == 201
    expected = (
        await client.get(
            "/api/v1/events", params={"after": last_id, "limit": 1000}, headers=headers
        )
    ).json()["items"]
    assert len(expected) == 100
    async with websockets.connect(_ws(base_url, headers)) as socket:
        await socket.send(json.dumps({"after": last_id}))
        replayed = await _receive(socket, 100)
        assert [e["id"] for e in replayed] == [e["id"] for e in expected]
        assert [e["data"]["text"] for e in replayed if e["type"] == "message.created"] == [
            f"m{n}" for n in range(50)
        ]
        # Live events continue after the replay, without repeating it.
        await inbound(
            client, headers, inbox["id"], "after-replay", text="live again", sender="+4540000000"
        )
        live = await _receive(socket, 2)
        assert live[0]["id"] > replayed[-1]["id"] and live[0]["data"]["text"] == "live again"
        assert await quiet(socket) == []


async def test_socket_without_credentials_is_refused(base_url: str) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(base_url.replace("http://", "ws://") + "/ws/agent"):
            pass
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(
            base_url.replace("http://", "ws://") + "/ws/agent?token=hub_revoked"
        ):
            pass


async def test_agent_socket_only_carries_visible_inboxes(
    client: httpx.AsyncClient, base_url: str
) -> None:
    headers = await admin_key(client)
    hidden = await make_api_inbox(client, headers)
    shared = await make_api_inbox(client, headers)
    agent = {
        "authorization": "Bearer " + await api_key_for(client, unique("agent") + "@example.com")
    }
    me = (await client.get("/api/v1/auth/me", headers=agent)).json()["agent"]
    await client.put(
        f"/api/v1/inboxes/{shared['id']}/members", json={"agent_ids": [me["id"]]}, headers=headers
    )
    async with websockets.connect(_ws(base_url, agent, after=0)) as socket:
        await inbound(
            client, headers, hidden["id"], "h-1", text="not for you", sender="+4550000001"
        )
        await inbound(client, headers, shared["id"], "s-1", text="for you", sender="+4550000002")
        received = await _receive(socket, 2)
        received += await quiet(socket)
    assert {e["inbox_id"] for e in received} == {shared["id"]}
    assert [e["data"]["text"] for e in received if e["type"] == "message.created"] == ["for you"]


async def test_event_from_one_web_process_reaches_a_socket_on_another(
    client: httpx.AsyncClient, clean_db: str, tmp_path: Any
) -> None:
    from tests.conftest import free_port
    from tests.test_cli import Proc, _env, _wait_healthy

    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    port = free_port()
    data_dir = tmp_path / "second"
    data_dir.mkdir()
    other = Proc(
        ["serve", "--port", str(port)],
        _env(
            HUB_DATA_DIR=str(data_dir),
            DATABASE_URL=clean_db,
            HUB_SECRET_KEY="test-secret-" + "x" * 40,
        ),
        data_dir / "serve.log",
    )
    try:
        other_url = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(_wait_healthy, other_url, other)
        async with websockets.connect(_ws(other_url, headers)) as socket:
            await asyncio.sleep(0.5)
            await inbound(client, headers, inbox["id"], "x-process", text="via the other process")
            received = await _receive(socket, 2)
        assert received[1]["data"]["text"] == "via the other process"
    finally:
        assert other.stop()


async def test_cookie_socket_from_another_site_is_refused(
    client: httpx.AsyncClient, base_url: str
) -> None:
    from tests.conftest import login, make_agent

    await make_agent("cookie@example.com")
    await login(client, "cookie@example.com")
    cookie = f"hub_session={client.cookies['hub_session']}"
    url = base_url.replace("http://", "ws://") + "/ws/agent"
    async with websockets.connect(
        url, additional_headers={"Cookie": cookie, "Origin": base_url}
    ) as socket:
        await socket.send(json.dumps({"after": 0}))
        assert await quiet(socket, 0.3) == []
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(
            url, additional_headers={"Cookie": cookie, "Origin": "https://evil.example"}
        ):
            pass
