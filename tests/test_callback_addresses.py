"""Issue 22.4: an API inbox's callback URL cannot reach the hub's own network, nor read it back."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar, Response, post

from adapters.api import channel as api_channel
from hub.outbox import delivery
from hub.system import netguard
from hub.system.config import Settings
from tests.conftest import admin_key, inbound, make_api_inbox, serving, with_settings
from tests.fakes.callback import CallbackReceiver


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed: callbacks to private addresses are not allowed."""
    from web.app import create_app

    app = create_app(with_settings(settings, allow_private_callback_urls=False), run_worker=True)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


async def _reply(client: httpx.AsyncClient, headers: dict[str, str], inbox_id: int) -> int:
    conversation = (await inbound(client, headers, inbox_id, "in-1")).json()["conversation_id"]
    response = await client.post(
        f"/api/v1/conversations/{conversation}/messages", json={"text": "hi"}, headers=headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/admin",
        "http://localhost/callback",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/internal",
        "http://[::1]:6379/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:5432/",
    ],
)
async def test_private_callback_urls_are_refused(
    strict_client: httpx.AsyncClient, url: str
) -> None:
    headers = await admin_key(strict_client)
    response = await strict_client.post(
        "/api/v1/inboxes",
        json={"name": "integration", "channel": "api", "config": {"callback_url": url}},
        headers=headers,
    )
    assert response.status_code == 422, response.text
    assert "HUB_ALLOW_PRIVATE_CALLBACK_URLS" in response.json()["error"]["message"]


async def test_a_name_that_resolves_to_loopback_is_refused_when_sending(
    strict_client: httpx.AsyncClient, callback_receiver: tuple[CallbackReceiver, str]
) -> None:
    receiver, url = callback_receiver
    # The machine's own name is a name, not a literal: only the address it resolves to (loopback
    # or the machine's private address) gives it away.
    name = socket.gethostname()
    try:
        socket.getaddrinfo(name, 80)
    except OSError:
        pytest.skip(f"this machine's name {name!r} does not resolve")
    by_name = url.replace("127.0.0.1", name)
    headers = await admin_key(strict_client)
    inbox = await make_api_inbox(strict_client, headers, callback_url=by_name)
    reply = await _reply(strict_client, headers, inbox["id"])
    assert await delivery.wait_for_status(reply, {"sent", "failed"}) == "failed"
    assert receiver.received == []
    messages = (
        await strict_client.get(
            f"/api/v1/conversations/{(await _conversation_of(strict_client, headers, reply))}/messages",
            headers=headers,
        )
    ).json()["items"]
    failed = next(m for m in messages if m["id"] == reply)
    assert "callback address is not allowed" in failed["error"], failed["error"]


async def _conversation_of(
    client: httpx.AsyncClient, headers: dict[str, str], message_id: int
) -> int:
    listed = (await client.get("/api/v1/conversations", headers=headers)).json()["items"]
    return int(listed[0]["id"])


async def test_redirects_are_checked_again(callback_receiver: tuple[CallbackReceiver, str]) -> None:
    receiver, target = callback_receiver

    @post("/hop", status_code=307)
    async def hop() -> Response[bytes]:
        return Response(b"", status_code=307, headers={"location": target})

    async with serving(Litestar([hop], logging_config=None)) as redirector:
        hop_port = int(redirector.rsplit(":", 1)[1])
        # A stand-in for a public host: only the redirector's port counts as reachable.
        transport = netguard.GuardedTransport(permit=lambda address, port: port == hop_port)
        async with httpx.AsyncClient(transport=transport, timeout=5) as http:
            with pytest.raises(netguard.RefusedAddress):
                await api_channel._post(http, f"{redirector}/hop", b"{}", {}, allow_private=True)
    assert receiver.received == [] and receiver.bad_signatures == 0


async def test_the_callbacks_answer_is_not_shown_to_agents(
    client: httpx.AsyncClient, callback_receiver: tuple[CallbackReceiver, str]
) -> None:
    receiver, url = callback_receiver
    receiver.secret = "s"
    receiver.fail_next = [400]  # answered with the body {"error": "told to fail"}
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers, callback_url=url, callback_secret="s")
    reply = await _reply(client, headers, inbox["id"])
    assert await delivery.wait_for_status(reply, {"sent", "failed"}) == "failed"
    conversation = await _conversation_of(client, headers, reply)
    messages = (
        await client.get(f"/api/v1/conversations/{conversation}/messages", headers=headers)
    ).json()["items"]
    failed = next(m for m in messages if m["id"] == reply)
    assert "400" in failed["error"]
    assert "told to fail" not in failed["error"]


def test_public_addresses() -> None:
    import ipaddress

    def ok(a: str) -> bool:
        return netguard.public(ipaddress.ip_address(a), 443)

    assert ok("93.184.216.34") and ok("2606:2800:220:1:248:1893:25c8:1946")
    for refused in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                    "100.64.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "224.0.0.1",
                    "0.0.0.0"):  # fmt: skip
        assert not ok(refused), refused
