"""The channel plumbing every adapter relies on, driven by a small in-test adapter.

Webhooks (signature → 403 and nothing stored, bad payload → 400 with the raw body kept,
redelivery → no-op), polling (state saved after ingest, one worker per inbox), the reply
window and the inbox lifecycle hooks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import httpx
import msgspec
import pytest

from hub.channels import contract
from hub.channels.contract import (
    BaseAdapter,
    DeliveryStatus,
    DeliveryUpdate,
    Identity,
    Inbound,
    Outbound,
    PayloadError,
    PollResult,
    RequestData,
    SignatureError,
)
from hub.db.engine import engine
from hub.db.tables import Inbox, Message, RawPayload
from hub.ingest import polling
from hub.system.crypto import encrypt_json
from tests.conftest import admin_key

QUEUED: list[dict[str, Any]] = []  # what the "provider" has for the next poll


class EchoChannel(BaseAdapter):
    kind: ClassVar[str] = "echo"
    reply_window_hours: ClassVar[int | None] = 24
    secret_fields: ClassVar[tuple[str, ...]] = ("token",)
    webhook_path: ClassVar[str | None] = "/webhooks/echo/{inbox_id}"
    created: ClassVar[list[int]] = []
    deleted: ClassVar[list[int]] = []

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        if config.get("token") == "invalid":
            raise ValueError("token is not accepted by the provider")
        return dict(config)

    async def on_created(self) -> dict[str, Any]:
        EchoChannel.created.append(self.inbox_id)
        return {"registered": True}

    async def on_deleted(self) -> None:
        EchoChannel.deleted.append(self.inbox_id)

    async def verify(self, request: RequestData) -> None:
        if request.headers.get("x-echo-token") != self.config.get("token"):
            raise SignatureError("wrong X-Echo-Token")

    def _item(self, payload: dict[str, Any]) -> Inbound | DeliveryUpdate:
        if "status" in payload:
            return DeliveryUpdate(
                inbox_id=self.inbox_id,
                provider_message_id=payload["id"],
                status=DeliveryStatus(payload["status"]),
            )
        return Inbound(
            channel="echo",
            inbox_id=self.inbox_id,
            provider_message_id=payload["id"],
            sender=Identity("phone", payload["from"], payload.get("name", "")),
            text=payload["text"],
        )

    async def parse(self, request: RequestData) -> list[Inbound | DeliveryUpdate]:
        try:
            payload = msgspec.json.decode(request.body)
            return [self._item(payload)]
        except (msgspec.DecodeError, KeyError, TypeError) as exc:
            raise PayloadError(f"not an echo message: {exc}") from exc

    def wants_polling(self) -> bool:
        return bool(self.config.get("poll"))

    async def poll(self, state: dict[str, Any]) -> PollResult:
        start = int(state.get("next", 0))
        items = [self._item(p) for p in QUEUED[start:]]
        return PollResult(items, {"next": len(QUEUED)})

    async def send(self, message: Outbound) -> str:
        return f"echo-{message.message_id}"


@pytest.fixture(autouse=True)
def echo_channel() -> None:
    contract.register("echo", EchoChannel)
    QUEUED.clear()


async def _inbox(
    client: httpx.AsyncClient, headers: dict[str, str], **config: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/inboxes",
        json={"name": "Echo", "channel": "echo", "config": {"token": "t0k", **config}},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _post(client: httpx.AsyncClient, inbox_id: int, body: bytes, token: str | None = "t0k") -> Any:
    headers = {"x-echo-token": token} if token else {}
    return client.post(f"/webhooks/echo/{inbox_id}", content=body, headers=headers)


async def test_webhook_signature_payload_and_redelivery(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await _inbox(client, headers)
    assert inbox["webhook_url"].endswith(f"/webhooks/echo/{inbox['id']}")
    assert "token" not in inbox["config"] and inbox["config"]["registered"] is True
    good = msgspec.json.encode({"id": "e1", "from": "+4512345678", "text": "hi"})
    assert (await _post(client, inbox["id"], good, token="forged")).status_code == 403
    assert (await _post(client, inbox["id"], good, token=None)).status_code == 403
    assert await Message.count() == 0 and await RawPayload.count() == 0
    assert (await _post(client, inbox["id"], good)).status_code == 200
    assert (await _post(client, inbox["id"], good)).status_code == 200
    assert await Message.count() == 1
    bad = await _post(client, inbox["id"], b"{not json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_payload"
    kept = await RawPayload.select().first()
    assert (
        kept is not None
        and kept["body"] == b"{not json"
        and kept["id"] == bad.json()["error"]["details"]["raw_payload_id"]
    )
    assert (await client.post("/webhooks/echo/999/x", content=good)).status_code == 404
    assert (await client.post(f"/webhooks/other/{inbox['id']}", content=good)).status_code == 404


async def test_delivery_updates_arrive_by_webhook(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await _inbox(client, headers)
    await _post(
        client,
        inbox["id"],
        msgspec.json.encode({"id": "in-1", "from": "+4512345678", "text": "hi"}),
    )
    conversation_id = (await Message.select(Message.conversation).first() or {})["conversation"]
    reply = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "hello"}, headers=headers
    )
    from hub.outbox import delivery

    assert await delivery.wait_for_status(reply.json()["id"], {"sent"}) == "sent"
    await _post(
        client,
        inbox["id"],
        msgspec.json.encode({"id": f"echo-{reply.json()['id']}", "status": "read"}),
    )
    assert await delivery.wait_for_status(reply.json()["id"], {"read"}) == "read"


async def test_free_text_outside_the_reply_window_is_refused(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await _inbox(client, headers)
    await _post(
        client, inbox["id"], msgspec.json.encode({"id": "w-1", "from": "+4512345678", "text": "hi"})
    )
    conversation_id = (await Message.select(Message.conversation).first() or {})["conversation"]
    conversation = (
        await client.get(f"/api/v1/conversations/{conversation_id}", headers=headers)
    ).json()
    closes = dt.datetime.fromisoformat(conversation["window_closes_at"])
    last = dt.datetime.fromisoformat(conversation["last_inbound_at"])
    assert closes - last == dt.timedelta(hours=24)
    pool = engine().pool
    assert pool is not None
    await pool.execute("UPDATE conversation SET last_inbound_at = now() - interval '25 hours'")
    url = f"/api/v1/conversations/{conversation_id}/messages"
    refused = await client.post(url, json={"text": "are you there?"}, headers=headers)
    assert (
        refused.status_code == 422 and "24-hour reply window" in refused.json()["error"]["message"]
    )
    assert await Message.count().where(Message.direction == "out") == 0
    assert (
        await client.post(url, json={"text": "internal", "private": True}, headers=headers)
    ).status_code == 201
    template = await client.post(
        url, json={"template": {"name": "follow_up", "variables": {"1": "Ann"}}}, headers=headers
    )
    assert template.status_code == 201


async def test_polling_saves_state_after_ingest_and_runs_once_per_inbox(
    quiet_client: httpx.AsyncClient, settings: Any
) -> None:
    client = quiet_client
    headers = await admin_key(client)
    polled = await _inbox(client, headers, poll=True)
    await _inbox(client, headers)  # a webhook inbox is not polled
    assert await polling.polling_inbox_ids(settings.secret_key, settings.public_url) == [
        polled["id"]
    ]
    QUEUED.extend({"id": f"p-{n}", "from": "+4587654321", "text": f"poll {n}"} for n in range(3))
    result = await polling.poll_inbox(
        polled["id"], secret_key=settings.secret_key, public_url=settings.public_url
    )
    assert result["stored"] == 3
    QUEUED.append({"id": "p-3", "from": "+4587654321", "text": "poll 3"})
    again = await polling.poll_inbox(
        polled["id"], secret_key=settings.secret_key, public_url=settings.public_url
    )
    assert again["stored"] == 1 and await Message.count() == 4
    pool = engine().pool
    assert pool is not None
    async with pool.acquire() as other_worker:
        await other_worker.execute(
            "SELECT pg_advisory_lock($1::bigint)", polling._LOCK_SPACE + polled["id"]
        )
        busy = await polling.poll_inbox(
            polled["id"], secret_key=settings.secret_key, public_url=settings.public_url
        )
        await other_worker.execute(
            "SELECT pg_advisory_unlock($1::bigint)", polling._LOCK_SPACE + polled["id"]
        )
    assert "skipped" in busy


async def test_inbox_lifecycle_hooks_and_refused_settings(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    refused = await client.post(
        "/api/v1/inboxes",
        json={"name": "Echo", "channel": "echo", "config": {"token": "invalid"}},
        headers=headers,
    )
    assert refused.status_code == 422 and "not accepted" in refused.json()["error"]["message"]
    inbox = await _inbox(client, headers)
    assert inbox["id"] in EchoChannel.created
    assert (
        await client.delete(f"/api/v1/inboxes/{inbox['id']}", headers=headers)
    ).status_code == 204
    assert inbox["id"] in EchoChannel.deleted


async def test_an_inbox_left_half_configured_is_skipped_and_reported_once(
    quiet_client: httpx.AsyncClient, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = quiet_client
    headers = await admin_key(client)
    polled = await _inbox(client, headers, poll=True)
    # An email inbox without its SMTP host: the adapter refuses to load it.
    broken = await Inbox.insert(
        Inbox(
            name="Half-configured",
            channel="email",
            config_encrypted=encrypt_json(settings.secret_key, {"address": "help@example.com"}),
            public_token="half-configured",
        )
    ).returning(Inbox.id)
    caplog.set_level("WARNING", logger="hub.ingest.polling")
    for _ in range(3):  # three schedule ticks
        ids = await polling.polling_inbox_ids(settings.secret_key, settings.public_url)
        assert ids == [polled["id"]]
    reports = [r for r in caplog.records if r.name == "hub.ingest.polling"]
    assert [r.getMessage() for r in reports] == [
        f"inbox {broken[0]['id']} is not polled: smtp_host is required to send replies"
    ]
    assert reports[0].exc_info is None  # a sentence for the admin, not a traceback
