"""WhatsApp through Meta's Cloud API, end to end: signed webhooks in, replies to the fake Graph."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapters.whatsapp.signed_urls import read_token
from hub.auth.accounts import AgentInfo
from hub.outbox import delivery, dispatch, replies
from hub.system.config import Settings
from tests.conftest import admin_key
from tests.whatsapp.fake_graph import FakeGraph
from tests.whatsapp.helpers import (
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    attachments_of,
    close_window,
    cloud_config,
    cloud_fixture,
    cloud_text,
    count,
    create_inbox,
    messages_of,
    pool,
    post_cloud,
    reply,
)

Inbox = tuple[dict[str, str], dict[str, Any]]
JPEG = b"\xff\xd8\xff\xe0" + b"router-lights" * 100
PDF = b"%PDF-1.4 invoice"


# The verification handshake --------------------------------------------------------------------


async def test_handshake_echoes_the_challenge_for_the_right_token(
    client: httpx.AsyncClient, cloud_inbox: Inbox
) -> None:
    _, inbox = cloud_inbox
    path = f"/webhooks/whatsapp/{inbox['id']}"
    right = await client.get(
        path,
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "8317"},
    )
    assert right.status_code == 200 and right.text == "8317"
    assert right.headers["content-type"].startswith("text/plain")
    wrong = await client.get(
        path,
        params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "8317"},
    )
    assert wrong.status_code == 403 and "8317" not in wrong.text


# Inbound fixtures, one test each ---------------------------------------------------------------


def _text(messages: list[dict[str, Any]], files: list[list[dict[str, Any]]]) -> None:
    assert [m["text"] for m in messages] == ["hi, my internet is down"]
    assert messages[0]["meta"]["profile_name"] == "Ana"


def _image(messages: list[dict[str, Any]], files: list[list[dict[str, Any]]]) -> None:
    assert messages[0]["text"] == "the router lights"
    assert [(f["content_type"], f["size"], f["sha256"]) for f in files[0]] == [
        ("image/jpeg", len(JPEG), hashlib.sha256(JPEG).hexdigest())
    ]


def _document(messages: list[dict[str, Any]], files: list[list[dict[str, Any]]]) -> None:
    assert [(f["filename"], f["content_type"], f["size"]) for f in files[0]] == [
        ("invoice-2024-05.pdf", "application/pdf", len(PDF))
    ]


def _location(messages: list[dict[str, Any]], files: list[list[dict[str, Any]]]) -> None:
    meta = messages[0]["meta"]
    assert (
        meta["location"]["latitude"] == 38.7223 and meta["location"]["name"] == "Praça do Comércio"
    )
    assert "maps.google.com/?q=38.7223,-9.1393" in messages[0]["text"]


def _button_reply(messages: list[dict[str, Any]], files: list[list[dict[str, Any]]]) -> None:
    assert messages[0]["text"] == "Yes, reschedule"
    assert messages[0]["meta"]["interactive"] == {
        "type": "button_reply",
        "id": "reschedule_yes",
        "title": "Yes, reschedule",
    }
    assert messages[0]["meta"]["thread"]["reply_to_provider_id"].startswith("wamid.")


def _list_reply(messages: list[dict[str, Any]], files: list[list[dict[str, Any]]]) -> None:
    assert messages[0]["text"] == "Billing"
    assert messages[0]["meta"]["interactive"]["id"] == "topic_billing"
    assert messages[0]["meta"]["interactive"]["description"] == "Invoices and payments"


def _button(messages: list[dict[str, Any]], files: list[list[dict[str, Any]]]) -> None:
    assert messages[0]["text"] == "Confirm"
    assert messages[0]["meta"]["button"] == {"text": "Confirm", "payload": "confirm_visit"}


def _context_reply(messages: list[dict[str, Any]], files: list[list[dict[str, Any]]]) -> None:
    assert messages[0]["text"] == "yes, that time works"
    assert messages[0]["meta"]["thread"] == {
        "reply_to_provider_id": "wamid.HBgLMTU1NTAwMDEyMzQVAgARGBI5QTg1RDI1MjZGRjE3MDg4NzkA"
    }


def _reaction(messages: list[dict[str, Any]], files: list[list[dict[str, Any]]]) -> None:
    assert messages[0]["text"] == "reacted \U0001f44d"


def _unsupported(messages: list[dict[str, Any]], files: list[list[dict[str, Any]]]) -> None:
    assert messages[0]["text"] == "[unsupported message: Message type unknown]"
    assert messages[0]["meta"]["errors"][0]["code"] == 131051


def _multi(messages: list[dict[str, Any]], files: list[list[dict[str, Any]]]) -> None:
    assert [m["text"] for m in messages] == ["first", "second", "third, from Ben"]
    assert messages[0]["conversation"] == messages[1]["conversation"] != messages[2]["conversation"]


INBOUND: dict[str, Callable[[list[dict[str, Any]], list[list[dict[str, Any]]]], None]] = {
    "text": _text,
    "image": _image,
    "document": _document,
    "location": _location,
    "interactive_button_reply": _button_reply,
    "interactive_list_reply": _list_reply,
    "button": _button,
    "context_reply": _context_reply,
    "reaction": _reaction,
    "unsupported": _unsupported,
    "multi": _multi,
}


@pytest.mark.parametrize("name", sorted(INBOUND))
async def test_inbound_fixture(
    name: str, client: httpx.AsyncClient, fake_graph: FakeGraph, cloud_inbox: Inbox
) -> None:
    _, inbox = cloud_inbox
    fake_graph.media["1479537139650973"] = (JPEG, "image/jpeg")
    fake_graph.media["1803355343492513"] = (PDF, "application/pdf")
    response = await post_cloud(client, inbox["id"], cloud_fixture(name))
    assert response.status_code == 200, response.text
    messages = await messages_of(inbox["id"])
    assert messages and all(m["direction"] == "in" for m in messages)
    assert all(m["provider_message_id"].startswith("wamid.") for m in messages)
    INBOUND[name](messages, [await attachments_of(m["id"]) for m in messages])
    ana = await pool().fetchrow(
        "SELECT c.name, i.kind FROM contact c JOIN contact_identity i ON i.contact = c.id"
        " WHERE i.address = '+15551234567'"
    )
    assert ana is not None and (ana["kind"], ana["name"]) == ("phone", "Ana")
    if name in ("image", "document"):
        assert fake_graph.media_downloads == 1 and fake_graph.unauthorized == 0


async def test_customer_timestamp_opens_the_window(
    client: httpx.AsyncClient, cloud_inbox: Inbox
) -> None:
    """The window runs from when the customer wrote (the payload's timestamp), not from receipt."""
    _, inbox = cloud_inbox
    await post_cloud(client, inbox["id"], cloud_fixture("text"))  # timestamp 1700000000
    last = await pool().fetchval("SELECT last_inbound_at FROM conversation")
    assert int(last.timestamp()) == 1700000000


async def test_bad_signatures_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, cloud_inbox: Inbox
) -> None:
    _, inbox = cloud_inbox
    payload = cloud_fixture("text")
    attempts = [
        await post_cloud(client, inbox["id"], payload, secret="another-app-secret"),
        await post_cloud(client, inbox["id"], payload, signature="sha256=" + "0" * 64),
        await post_cloud(client, inbox["id"], payload, signature="nonsense"),
    ]
    assert [r.status_code for r in attempts] == [403, 403, 403]
    assert await count("message") == 0 and await count("contact") == 0
    assert await count("raw_payload") == 0


async def test_unparseable_body_is_kept_and_answered_400(
    client: httpx.AsyncClient, cloud_inbox: Inbox
) -> None:
    _, inbox = cloud_inbox
    response = await post_cloud(client, inbox["id"], b"{not json")
    assert response.status_code == 400
    assert await count("raw_payload") == 1 and await count("message") == 0


async def test_duplicate_deliveries_store_one_message(
    client: httpx.AsyncClient, cloud_inbox: Inbox
) -> None:
    _, inbox = cloud_inbox
    payload = cloud_fixture("text")
    responses = await asyncio.gather(*(post_cloud(client, inbox["id"], payload) for _ in range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert len(await messages_of(inbox["id"])) == 1


# Replies ---------------------------------------------------------------------------------------


async def _conversation(client: httpx.AsyncClient, inbox_id: int) -> int:
    response = await post_cloud(client, inbox_id, cloud_text("my internet is down"))
    assert response.status_code == 200, response.text
    return int((await messages_of(inbox_id))[0]["conversation"])


async def _sent_reply(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int, **body: Any
) -> dict[str, Any]:
    response = await reply(client, headers, conversation_id, **body)
    assert response.status_code == 201, response.text
    message = dict(response.json())
    assert await delivery.wait_for_status(message["id"], {"sent", "failed"}) == "sent"
    return message


async def _row(inbox_id: int, message_id: int) -> dict[str, Any]:
    (row,) = [m for m in await messages_of(inbox_id) if m["id"] == message_id]
    return row


async def test_text_reply_reaches_the_graph_api(
    client: httpx.AsyncClient, fake_graph: FakeGraph, cloud_inbox: Inbox
) -> None:
    headers, inbox = cloud_inbox
    conversation_id = await _conversation(client, inbox["id"])
    message = await _sent_reply(client, headers, conversation_id, text="We are on it")
    assert fake_graph.sent == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "15551234567",
            "type": "text",
            "text": {"body": "We are on it"},
        }
    ]
    row = await _row(inbox["id"], message["id"])
    assert row["provider_message_id"].startswith("wamid.") and fake_graph.unauthorized == 0


async def test_template_is_sent_outside_the_window(
    client: httpx.AsyncClient, fake_graph: FakeGraph, cloud_inbox: Inbox
) -> None:
    headers, inbox = cloud_inbox
    conversation_id = await _conversation(client, inbox["id"])
    await close_window(conversation_id)
    await _sent_reply(
        client,
        headers,
        conversation_id,
        template={"name": "appointment_reminder", "variables": ["Ana", "10:00"]},
    )
    (payload,) = fake_graph.sent
    assert payload["type"] == "template" and "text" not in payload
    assert payload["template"] == {
        "name": "appointment_reminder",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "10:00"}],
            }
        ],
    }


async def test_free_text_outside_the_window_is_refused_before_sending(
    client: httpx.AsyncClient, settings: Settings, fake_graph: FakeGraph, cloud_inbox: Inbox
) -> None:
    headers, inbox = cloud_inbox
    conversation_id = await _conversation(client, inbox["id"])
    conversation = (
        await client.get(f"/api/v1/conversations/{conversation_id}", headers=headers)
    ).json()
    closes = dt.datetime.fromisoformat(conversation["window_closes_at"])
    last = dt.datetime.fromisoformat(conversation["last_inbound_at"])
    assert closes - last == dt.timedelta(hours=24)
    await close_window(conversation_id)
    response = await reply(client, headers, conversation_id, text="Are you still there?")
    assert response.status_code == 422, response.text
    assert "24-hour" in response.json()["error"]["message"]
    assert len(await messages_of(inbox["id"])) == 1  # nothing stored
    assert fake_graph.attempts == 0


async def test_adapter_refuses_free_text_whose_window_closed_while_queued(
    client: httpx.AsyncClient, settings: Settings, fake_graph: FakeGraph, cloud_inbox: Inbox
) -> None:
    """Accepted inside the window, dispatched after it closed: failed, the provider never asked."""
    _headers, inbox = cloud_inbox
    conversation_id = await _conversation(client, inbox["id"])
    agent = AgentInfo(id=1, name="Admin", email="a@example.com", role="admin")
    stored = await replies.create_reply(conversation_id, agent=agent, text="Sorry for the wait")
    await close_window(conversation_id)
    assert await dispatch.dispatch(stored["id"]) == "failed"
    (row,) = [m for m in await messages_of(inbox["id"]) if m["id"] == stored["id"]]
    assert "24-hour" in row["error"] and fake_graph.attempts == 0


async def test_error_131047_is_a_permanent_failure(
    client: httpx.AsyncClient, fake_graph: FakeGraph, cloud_inbox: Inbox
) -> None:
    headers, inbox = cloud_inbox
    conversation_id = await _conversation(client, inbox["id"])
    fake_graph.fail_next = [131047]
    response = await reply(client, headers, conversation_id, text="Hello again")
    message_id = response.json()["id"]
    assert await delivery.wait_for_status(message_id, {"sent", "failed"}) == "failed"
    await asyncio.sleep(3)  # longer than the retry delay: no second attempt may come
    assert fake_graph.attempts == 1
    assert "24-hour" in (await _row(inbox["id"], message_id))["error"]


async def test_server_error_is_retried(
    client: httpx.AsyncClient, fake_graph: FakeGraph, cloud_inbox: Inbox
) -> None:
    headers, inbox = cloud_inbox
    conversation_id = await _conversation(client, inbox["id"])
    fake_graph.fail_next = [500]
    response = await reply(client, headers, conversation_id, text="Hello")
    assert await delivery.wait_for_status(response.json()["id"], {"sent", "failed"}, 20) == "sent"
    assert fake_graph.attempts == 2 and len(fake_graph.sent) == 1


async def test_media_reply_gives_meta_a_signed_link(
    client: httpx.AsyncClient, settings: Settings, fake_graph: FakeGraph, cloud_inbox: Inbox
) -> None:
    headers, inbox = cloud_inbox
    conversation_id = await _conversation(client, inbox["id"])
    upload = await client.post(
        "/api/v1/attachments",
        files={"data": ("lights.jpg", JPEG, "image/jpeg")},
        headers=headers,
    )
    assert upload.status_code == 201, upload.text
    message = await _sent_reply(
        client,
        headers,
        conversation_id,
        text="Is it like this?",
        attachments=[{"upload": upload.json()["upload"]}],
    )
    (payload,) = fake_graph.sent
    assert payload["type"] == "image" and payload["image"]["caption"] == "Is it like this?"
    link = payload["image"]["link"]
    assert link.startswith(settings.public_url + "/media/")
    attachment_id = await pool().fetchval(
        "SELECT id FROM attachment WHERE message = $1", message["id"]
    )
    assert read_token(settings.secret_key, link.rsplit("/", 1)[1]) == attachment_id


# Statuses --------------------------------------------------------------------------------------

STATUSES = {
    "status_sent": ("sent", ""),
    "status_delivered": ("delivered", ""),
    "status_read": ("read", ""),
    "status_failed": ("failed", "24-hour"),
}


def _with_id(name: str, wamid: str) -> dict[str, Any]:
    payload = cloud_fixture(name)
    for entry in payload["entry"]:
        for change in entry["changes"]:
            for status in change["value"].get("statuses", []):
                status["id"] = wamid
    return payload


@pytest.mark.parametrize("name", sorted(STATUSES))
async def test_status_fixture(name: str, client: httpx.AsyncClient, cloud_inbox: Inbox) -> None:
    headers, inbox = cloud_inbox
    conversation_id = await _conversation(client, inbox["id"])
    message = await _sent_reply(client, headers, conversation_id, text="Fixed!")
    wamid = (await _row(inbox["id"], message["id"]))["provider_message_id"]
    response = await post_cloud(client, inbox["id"], _with_id(name, wamid))
    assert response.status_code == 200, response.text
    row = await _row(inbox["id"], message["id"])
    expected, error_words = STATUSES[name]
    assert row["status"] == expected and error_words in row["error"]


async def test_out_of_order_statuses_never_go_backwards(
    client: httpx.AsyncClient, cloud_inbox: Inbox
) -> None:
    headers, inbox = cloud_inbox
    conversation_id = await _conversation(client, inbox["id"])
    message = await _sent_reply(client, headers, conversation_id, text="Fixed!")
    wamid = (await _row(inbox["id"], message["id"]))["provider_message_id"]
    for name in ("status_read", "status_delivered", "status_sent", "status_failed"):
        response = await post_cloud(client, inbox["id"], _with_id(name, wamid))
        assert response.status_code == 200
    row = await _row(inbox["id"], message["id"])
    assert row["status"] == "read" and row["error"] == ""


# Inbox set-up ----------------------------------------------------------------------------------


async def test_inbox_shows_its_webhook_and_hides_secrets(
    settings: Settings, cloud_inbox: Inbox
) -> None:
    _, inbox = cloud_inbox
    assert inbox["webhook_url"] == f"{settings.public_url}/webhooks/whatsapp/{inbox['id']}"
    assert inbox["secrets_set"] == ["access_token", "app_secret", "verify_token"]
    assert not {"access_token", "app_secret", "verify_token"} & set(inbox["config"])
    assert inbox["config"]["phone_number_id"] == PHONE_NUMBER_ID
    assert inbox["config"]["display_phone_number"] == "15550001234"
    assert inbox["limits"]["reply_window_hours"] == 24


async def test_wrong_token_is_refused_when_the_inbox_is_created(
    client: httpx.AsyncClient, fake_graph: FakeGraph
) -> None:
    headers = await admin_key(client)
    response = await create_inbox(
        client, headers, "whatsapp_cloud", cloud_config(fake_graph, access_token="expired")
    )
    assert response.status_code == 422, response.text
    assert "access_token" in response.json()["error"]["message"]
    assert fake_graph.unauthorized == 1 and await count("inbox") == 0
