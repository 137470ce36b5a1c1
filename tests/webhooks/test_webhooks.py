"""Outgoing webhooks end to end: events from the log delivered signed to a fake consumer,
retries with backoff after 500s, disabling after repeated failure (with a notice and an audit
entry), the SSRF guard, and redelivery that a consumer can deduplicate."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hub.db.engine import connection_pool
from hub.system.config import Settings
from hub.webhooks import deliveries
from tests.conftest import admin_key, eventually, inbound, make_api_inbox, serving, with_settings
from tests.fakes.webhook_receiver import WebhookReceiver, verify


async def subscribe(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, *types: str
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/webhook-subscriptions",
        json={"name": "CRM sync", "url": url, "event_types": list(types)},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def log_of(
    client: httpx.AsyncClient, headers: dict[str, str], subscription_id: int
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/webhook-subscriptions/{subscription_id}/deliveries", headers=headers
    )
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_events_are_delivered_signed_and_logged(
    client: httpx.AsyncClient, receiver: tuple[WebhookReceiver, str]
) -> None:
    fake, url = receiver
    headers = await admin_key(client)
    sub = await subscribe(client, headers, url, "message.created", "conversation.created")
    assert sub["secret"].startswith("whsec_")
    fake.secret = sub["secret"]
    # The secret is shown once: never again.
    assert (
        "secret"
        not in (
            await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}", headers=headers)
        ).json()
    )
    inbox = await make_api_inbox(client, headers)
    await inbound(client, headers, inbox["id"], "m-1", text="My invoice is wrong")

    async def arrived() -> bool:
        return bool(fake.of_type("message.created")) and bool(fake.of_type("conversation.created"))

    await eventually(arrived)  # through the event subscriber and the worker
    request = fake.of_type("message.created")[0]
    assert request["body"]["data"]["text"] == "My invoice is wrong"
    assert request["body"]["data"]["inbox_id"] == inbox["id"]
    assert request["headers"]["x-hub-event"] == "message.created"
    assert request["headers"]["idempotency-key"] == f"hub-webhook-{request['body']['id']}"
    assert request["headers"]["x-hub-delivery"] == str(request["body"]["id"])
    assert fake.bad_signatures == 0
    # The receiver's check is a real one: a changed body or a stale timestamp fails it.
    raw = b'{"tampered": true}'
    assert not verify(fake.secret, request["headers"], raw)

    async def logged() -> list[dict[str, Any]] | None:
        rows = await log_of(client, headers, sub["id"])
        done = [r for r in rows if r["status"] == "succeeded"]
        return done if len(done) == 2 else None

    rows = await eventually(logged)
    assert {r["event_type"] for r in rows} == {"message.created", "conversation.created"}
    for row in rows:
        assert (row["attempts"], row["response_code"]) == (1, 200)
        assert '"ok":true' in row["response_body"].replace(" ", "")
        assert row["latency_ms"] is not None and row["event_id"] is not None
    # Only the types asked for: no conversation.updated deliveries.
    assert not fake.of_type("conversation.updated")


async def test_a_500_is_retried_with_backoff_until_it_succeeds(
    client: httpx.AsyncClient, receiver: tuple[WebhookReceiver, str]
) -> None:
    fake, url = receiver
    headers = await admin_key(client)
    sub = await subscribe(client, headers, url, "conversation.updated")
    fake.secret = sub["secret"]
    fake.fail_next = [500, 503]
    async with connection_pool().acquire() as conn:
        queued = await deliveries.publish(
            conn, "conversation.updated", {"id": 42, "status": "open"}
        )
    assert queued == 1

    async def succeeded() -> dict[str, Any] | None:
        rows = await log_of(client, headers, sub["id"])
        return rows[0] if rows and rows[0]["status"] == "succeeded" else None

    row = await eventually(succeeded, timeout=30)
    assert row["attempts"] == 3 and row["response_code"] == 200
    assert len(fake.requests) == 3
    # The same delivery each time, as the consumer can tell: one id, one idempotency key.
    assert len({r["headers"]["idempotency-key"] for r in fake.requests}) == 1
    assert len({r["headers"]["x-hub-delivery"] for r in fake.requests}) == 1
    assert len(fake.stored) == 1 and fake.bad_signatures == 0


async def test_repeated_failure_disables_the_subscription_with_a_notice(
    client: httpx.AsyncClient, receiver: tuple[WebhookReceiver, str]
) -> None:
    fake, url = receiver
    headers = await admin_key(client)
    sub = await subscribe(client, headers, url, "conversation.updated")
    fake.secret = sub["secret"]
    fake.always_fail = 500
    # A test event's failure does not count towards disabling; two real ones do (the setting).
    test = await client.post(f"/api/v1/webhook-subscriptions/{sub['id']}/test", headers=headers)
    assert test.status_code == 202, test.text
    async with connection_pool().acquire() as conn:
        for n in range(2):
            await deliveries.publish(conn, "conversation.updated", {"id": n})

    async def disabled() -> dict[str, Any] | None:
        got = (
            await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}", headers=headers)
        ).json()
        return None if got["enabled"] else got

    got = await eventually(disabled, timeout=30)
    assert got["disabled_reason"] == "disabled after 2 failed deliveries in a row"
    rows = await log_of(client, headers, sub["id"])
    real = [r for r in rows if not r["test"]]
    assert [r["status"] for r in real] == ["failed", "failed"]
    assert all(r["attempts"] == 3 and r["response_code"] == 500 for r in real)

    async def noticed() -> list[dict[str, Any]]:
        items = (await client.get("/api/v1/notifications", headers=headers)).json()["items"]
        return [n for n in items if "was disabled" in n["title"] and "CRM sync" in n["title"]]

    await eventually(noticed)  # the notice follows the disabling, in the same job
    audit = await connection_pool().fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'webhook_subscription.disabled'"
        " AND target_id = $1",
        sub["id"],
    )
    assert audit == 1
    # Disabled: nothing more is queued for it.
    async with connection_pool().acquire() as conn:
        assert await deliveries.publish(conn, "conversation.updated", {"id": 9}) == 0
    # Enabled again, it starts afresh.
    response = await client.put(
        f"/api/v1/webhook-subscriptions/{sub['id']}",
        json={"name": "CRM sync", "url": url, "event_types": ["conversation.updated"]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert (response.json()["enabled"], response.json()["consecutive_failures"]) == (True, 0)


async def test_redelivery_uses_the_same_idempotency_key_and_is_not_doubled(
    client: httpx.AsyncClient, receiver: tuple[WebhookReceiver, str]
) -> None:
    fake, url = receiver
    headers = await admin_key(client)
    sub = await subscribe(client, headers, url, "conversation.created")
    fake.secret = sub["secret"]
    test = (
        await client.post(f"/api/v1/webhook-subscriptions/{sub['id']}/test", headers=headers)
    ).json()

    async def status_of(delivery_id: int) -> str:
        rows = await log_of(client, headers, sub["id"])
        return str(next(r["status"] for r in rows if r["id"] == delivery_id))

    await eventually(lambda: _is(status_of(test["id"]), "succeeded"))
    fake.hold = asyncio.Event()  # the redelivery waits at the consumer until released
    path = f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries/{test['id']}/redeliver"
    first = await client.post(path, headers=headers)
    assert first.status_code == 202, first.text
    second = await client.post(path, headers=headers)
    assert second.json()["id"] == first.json()["id"]  # still on its way: not queued twice
    assert first.json()["redelivery_of"] == test["id"]
    fake.hold.set()
    await eventually(lambda: _is(status_of(first.json()["id"]), "succeeded"))
    assert len(fake.requests) == 2
    keys = {r["headers"]["idempotency-key"] for r in fake.requests}
    assert keys == {f"hub-webhook-{test['id']}"}
    assert len(fake.stored) == 1  # the consumer deduplicated the redelivery
    assert fake.requests[1]["body"]["data"] == fake.requests[0]["body"]["data"]


async def _is(value: Any, expected: str) -> bool:
    return bool(await value == expected)


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed: no webhooks to private addresses."""
    from web.app import create_app

    app = create_app(with_settings(settings, allow_private_callback_urls=False), run_worker=True)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


async def test_private_addresses_are_refused(
    strict_client: httpx.AsyncClient, receiver: tuple[WebhookReceiver, str]
) -> None:
    fake, url = receiver
    headers = await admin_key(strict_client)
    for private in ("http://127.0.0.1:9/hook", "http://localhost/hook", "http://169.254.169.254/"):
        response = await strict_client.post(
            "/api/v1/webhook-subscriptions",
            json={"name": "x", "url": private, "event_types": ["message.created"]},
            headers=headers,
        )
        assert response.status_code == 422, response.text
        assert "HUB_ALLOW_PRIVATE_CALLBACK_URLS" in response.json()["error"]["message"]
    # A name passes the save-time check; the address it resolves to is refused at connection.
    name = socket.gethostname()
    try:
        socket.getaddrinfo(name, 80)
    except OSError:
        pytest.skip(f"this machine's name {name!r} does not resolve")
    sub = await subscribe(strict_client, headers, url.replace("127.0.0.1", name), "message.created")
    fake.secret = sub["secret"]
    sent = await strict_client.post(
        f"/api/v1/webhook-subscriptions/{sub['id']}/test", headers=headers
    )
    assert sent.status_code == 202

    async def failed() -> dict[str, Any] | None:
        rows = await log_of(strict_client, headers, sub["id"])
        return rows[0] if rows[0]["status"] == "failed" else None

    row = await eventually(failed, timeout=20)
    assert row["attempts"] == 1  # refused for good: not retried
    assert "not allowed" in row["error"] and row["response_code"] is None
    assert fake.requests == []


async def test_bad_subscriptions_are_refused_with_the_field(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    for body, field in (
        ({"name": "x", "url": "ftp://example.com", "event_types": ["message.created"]}, "url"),
        (
            {"name": "x", "url": "https://example.com", "event_types": ["message.nope"]},
            "event_types[0]",
        ),
        ({"name": "x", "url": "https://example.com", "event_types": []}, "event_types"),
        (
            {
                "name": "x",
                "url": "https://example.com",
                "event_types": ["sla.breached"],
                "secret": "short",
            },
            "secret",
        ),
    ):
        response = await client.post("/api/v1/webhook-subscriptions", json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["message"].startswith(field + ":"), response.text
    assert (await client.get("/api/v1/webhook-subscriptions", headers=headers)).json() == []


async def test_only_webhook_managers_see_subscriptions(client: httpx.AsyncClient) -> None:
    from tests.conftest import api_key_for, unique

    for role in ("agent", "supervisor"):
        key = await api_key_for(client, unique(role) + "@example.com", role=role)
        headers = {"authorization": f"Bearer {key}"}
        response = await client.get("/api/v1/webhook-subscriptions", headers=headers)
        assert response.status_code == 403, response.text
        assert "webhooks.manage" in response.json()["error"]["message"]
