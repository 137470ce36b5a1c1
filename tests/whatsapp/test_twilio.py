"""WhatsApp through Twilio, end to end: signed webhooks into the real app, replies to the fake."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import pytest
from twilio.request_validator import RequestValidator

from adapters.whatsapp.signed_urls import read_token
from hub.auth.accounts import AgentInfo
from hub.outbox import delivery, dispatch, replies
from hub.system.config import Settings
from tests.conftest import admin_key, inbound, make_api_inbox
from tests.whatsapp.fake_twilio import FakeTwilio
from tests.whatsapp.helpers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CONTENT_SID,
    FROM_NUMBER,
    attachments_of,
    close_window,
    count,
    create_inbox,
    messages_of,
    pool,
    post_twilio,
    reply,
    twilio_config,
    twilio_fixture,
)

Inbox = tuple[dict[str, str], dict[str, Any]]
CUSTOMER = "+6285176810035"
JPEG = b"\xff\xd8\xff\xe0" + b"router-photo" * 100


async def _contact() -> dict[str, Any]:
    row = await pool().fetchrow(
        "SELECT c.id, c.name, i.kind, i.address FROM contact c"
        " JOIN contact_identity i ON i.contact = c.id"
    )
    assert row is not None
    return dict(row)


# Inbound fixtures, one test each ---------------------------------------------------------------


def _text(message: dict[str, Any], files: list[dict[str, Any]]) -> None:
    assert message["text"] == "Konfirmasi" and files == []
    assert message["meta"]["profile_name"] == "teknisee"
    assert message["meta"]["wa_id"] == "6285176810035"


def _media(message: dict[str, Any], files: list[dict[str, Any]]) -> None:
    assert message["text"] == "Foto router saya"
    assert [(f["content_type"], f["size"], f["sha256"]) for f in files] == [
        ("image/jpeg", len(JPEG), hashlib.sha256(JPEG).hexdigest())
    ]
    assert files[0]["filename"].endswith(".jpg")
    assert "media_failed" not in message["meta"]


def _location(message: dict[str, Any], files: list[dict[str, Any]]) -> None:
    assert message["meta"]["location"] == {
        "latitude": "-6.2087634",
        "longitude": "106.845599",
        "name": "Grand Indonesia",
        "address": "Jl. M.H. Thamrin No.1, Jakarta",
    }
    assert "Grand Indonesia" in message["text"]
    assert "maps.google.com/?q=-6.2087634,106.845599" in message["text"]


def _button(message: dict[str, Any], files: list[dict[str, Any]]) -> None:
    assert message["text"] == "Yes, reschedule"
    assert message["meta"]["button"] == {"text": "Yes, reschedule", "payload": "reschedule_yes"}
    assert message["meta"]["message_type"] == "button"


def _interactive(message: dict[str, Any], files: list[dict[str, Any]]) -> None:
    assert message["text"] == "Internet is down"
    assert message["meta"]["button"]["payload"] == "topic_outage"
    assert message["meta"]["message_type"] == "interactive"


def _reply(message: dict[str, Any], files: list[dict[str, Any]]) -> None:
    assert message["text"] == "Yes, that one works"
    assert message["meta"]["thread"] == {
        "reply_to_provider_id": "SM1f2e3d4c5b6a79880796a5b4c3d2e1f0"
    }
    assert message["meta"]["replied_to_sender"] == "whatsapp:+14155238886"


INBOUND: dict[str, Callable[[dict[str, Any], list[dict[str, Any]]], None]] = {
    "inbound_text": _text,
    "inbound_media": _media,
    "inbound_location": _location,
    "inbound_button": _button,
    "inbound_interactive": _interactive,
    "inbound_reply": _reply,
}


@pytest.mark.parametrize("name", sorted(INBOUND))
async def test_inbound_fixture(
    name: str,
    client: httpx.AsyncClient,
    settings: Settings,
    fake_twilio: FakeTwilio,
    twilio_inbox: Inbox,
) -> None:
    _, inbox = twilio_inbox
    form = twilio_fixture(name)
    if name == "inbound_media":
        # The media lives on the fake, which checks the account's Basic auth like Twilio.
        form["MediaUrl0"] = form["MediaUrl0"].replace(
            "https://api.twilio.com", fake_twilio.base_url
        )
        fake_twilio.media[form["MediaUrl0"].rsplit("/", 1)[1]] = (JPEG, "image/jpeg")
    response = await post_twilio(client, settings, inbox["id"], form)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response/>" in response.text
    (message,) = await messages_of(inbox["id"])
    assert message["direction"] == "in" and message["provider_message_id"] == form["MessageSid"]
    INBOUND[name](message, await attachments_of(message["id"]))
    contact = await _contact()
    assert (contact["kind"], contact["address"], contact["name"]) == ("phone", CUSTOMER, "teknisee")
    if name == "inbound_media":
        assert fake_twilio.media_fetches == 1 and fake_twilio.unauthorized == 0


async def test_media_that_cannot_be_fetched_keeps_the_message(
    client: httpx.AsyncClient, settings: Settings, fake_twilio: FakeTwilio, twilio_inbox: Inbox
) -> None:
    _, inbox = twilio_inbox
    form = twilio_fixture("inbound_media")
    form["MediaUrl0"] = form["MediaUrl0"].replace("https://api.twilio.com", fake_twilio.base_url)
    response = await post_twilio(client, settings, inbox["id"], form)  # the fake has no such media
    assert response.status_code == 200
    (message,) = await messages_of(inbox["id"])
    assert message["text"] == "Foto router saya" and await attachments_of(message["id"]) == []
    assert "404" in message["meta"]["media_failed"][0]["error"]


async def test_whatsapp_number_is_the_same_contact_as_the_phone_number(
    client: httpx.AsyncClient, settings: Settings, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    api_inbox = await make_api_inbox(client, headers)
    first = await inbound(client, headers, api_inbox["id"], "sms-1", sender="0062 85176810035")
    assert first.status_code == 201, first.text
    await post_twilio(client, settings, inbox["id"], twilio_fixture("inbound_text"))
    assert await count("contact") == 1 and await count("contact_identity") == 1


# Signatures, duplicates ------------------------------------------------------------------------


async def test_bad_signatures_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, settings: Settings, twilio_inbox: Inbox
) -> None:
    _, inbox = twilio_inbox
    form = twilio_fixture("inbound_text")
    message_url = f"{settings.public_url}/webhooks/twilio/{inbox['id']}"
    for_message_url = RequestValidator(AUTH_TOKEN).compute_signature(message_url, form)
    attempts = [
        await post_twilio(client, settings, inbox["id"], form, token="not-the-auth-token"),
        await post_twilio(client, settings, inbox["id"], form, signature=""),
        # Signed for an internal address instead of the public URL Twilio calls.
        await post_twilio(
            client,
            msgspec.structs.replace(settings, public_url="http://10.0.0.5:8000"),
            inbox["id"],
            form,
        ),
        # A genuine signature replayed against another URL of the same inbox.
        await post_twilio(
            client, settings, inbox["id"], form, sub="/status", signature=for_message_url
        ),
    ]
    assert [r.status_code for r in attempts] == [403, 403, 403, 403]
    assert all(r.json()["error"]["code"] == "bad_signature" for r in attempts)
    assert await count("message") == 0 and await count("contact") == 0
    assert await count("raw_payload") == 0


async def test_duplicate_deliveries_store_one_message(
    client: httpx.AsyncClient, settings: Settings, twilio_inbox: Inbox
) -> None:
    _, inbox = twilio_inbox
    form = twilio_fixture("inbound_text")
    responses = await asyncio.gather(
        *(post_twilio(client, settings, inbox["id"], form) for _ in range(3))
    )
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert len(await messages_of(inbox["id"])) == 1


# Replies ---------------------------------------------------------------------------------------


async def _conversation(client: httpx.AsyncClient, settings: Settings, inbox_id: int) -> int:
    response = await post_twilio(client, settings, inbox_id, twilio_fixture("inbound_text"))
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


async def _provider_id(message_id: int) -> str:
    return str(
        await pool().fetchval("SELECT provider_message_id FROM message WHERE id = $1", message_id)
    )


async def test_text_reply_reaches_twilio(
    client: httpx.AsyncClient, settings: Settings, fake_twilio: FakeTwilio, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    conversation_id = await _conversation(client, settings, inbox["id"])
    message = await _sent_reply(client, headers, conversation_id, text="Your router is back up")
    (form,) = fake_twilio.sent
    assert form["To"] == [f"whatsapp:{CUSTOMER}"] and form["From"] == [f"whatsapp:{FROM_NUMBER}"]
    assert form["Body"] == ["Your router is back up"]
    assert form["StatusCallback"] == [f"{settings.public_url}/webhooks/twilio/{inbox['id']}/status"]
    assert "ContentSid" not in form and fake_twilio.unauthorized == 0
    assert (await _provider_id(message["id"])).startswith("SM")


async def test_template_is_sent_outside_the_window(
    client: httpx.AsyncClient, settings: Settings, fake_twilio: FakeTwilio, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    conversation_id = await _conversation(client, settings, inbox["id"])
    await close_window(conversation_id)
    await _sent_reply(
        client,
        headers,
        conversation_id,
        template={"name": "appointment_reminder", "variables": {"name": "Ana", "time": "10:00"}},
    )
    (form,) = fake_twilio.sent
    assert form["ContentSid"] == [CONTENT_SID]
    assert json.loads(form["ContentVariables"][0]) == {"1": "Ana", "2": "10:00"}
    assert "Body" not in form and "MediaUrl" not in form


async def test_free_text_outside_the_window_is_refused_before_sending(
    client: httpx.AsyncClient, settings: Settings, fake_twilio: FakeTwilio, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    conversation_id = await _conversation(client, settings, inbox["id"])
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
    assert fake_twilio.attempts == 0


async def test_adapter_refuses_free_text_whose_window_closed_while_queued(
    client: httpx.AsyncClient, settings: Settings, fake_twilio: FakeTwilio, twilio_inbox: Inbox
) -> None:
    """Accepted inside the window, dispatched after it closed: failed, the provider never asked."""
    _headers, inbox = twilio_inbox
    conversation_id = await _conversation(client, settings, inbox["id"])
    agent = AgentInfo(id=1, name="Admin", email="a@example.com", role="admin")
    stored = await replies.create_reply(conversation_id, agent=agent, text="Sorry for the wait")
    await close_window(conversation_id)
    assert await dispatch.dispatch(stored["id"]) == "failed"
    (row,) = [m for m in await messages_of(inbox["id"]) if m["id"] == stored["id"]]
    assert "24-hour" in row["error"] and fake_twilio.attempts == 0


async def test_error_63016_is_a_permanent_failure(
    client: httpx.AsyncClient, settings: Settings, fake_twilio: FakeTwilio, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    conversation_id = await _conversation(client, settings, inbox["id"])
    fake_twilio.fail_next = [63016]
    response = await reply(client, headers, conversation_id, text="Hello again")
    message_id = response.json()["id"]
    assert await delivery.wait_for_status(message_id, {"sent", "failed"}) == "failed"
    await asyncio.sleep(3)  # longer than the retry delay: no second attempt may come
    assert fake_twilio.attempts == 1
    (row,) = [m for m in await messages_of(inbox["id"]) if m["id"] == message_id]
    assert row["status"] == "failed" and "24-hour" in row["error"]


async def test_rate_limit_is_retried(
    client: httpx.AsyncClient, settings: Settings, fake_twilio: FakeTwilio, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    conversation_id = await _conversation(client, settings, inbox["id"])
    fake_twilio.fail_next = [429]
    response = await reply(client, headers, conversation_id, text="Hello")
    assert await delivery.wait_for_status(response.json()["id"], {"sent", "failed"}, 20) == "sent"
    assert fake_twilio.attempts == 2 and len(fake_twilio.sent) == 1


async def test_unknown_template_fails_without_calling_twilio(
    client: httpx.AsyncClient, settings: Settings, fake_twilio: FakeTwilio, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    conversation_id = await _conversation(client, settings, inbox["id"])
    response = await reply(client, headers, conversation_id, template={"name": "nope"})
    message_id = response.json()["id"]
    assert await delivery.wait_for_status(message_id, {"sent", "failed"}) == "failed"
    (row,) = [m for m in await messages_of(inbox["id"]) if m["id"] == message_id]
    assert "not configured" in row["error"] and fake_twilio.attempts == 0


async def test_media_reply_gives_twilio_a_signed_url(
    client: httpx.AsyncClient, settings: Settings, fake_twilio: FakeTwilio, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    conversation_id = await _conversation(client, settings, inbox["id"])
    upload = await client.post(
        "/api/v1/attachments",
        files={"data": ("invoice.pdf", b"%PDF-1.4 test", "application/pdf")},
        headers=headers,
    )
    assert upload.status_code == 201, upload.text
    message = await _sent_reply(
        client,
        headers,
        conversation_id,
        text="Your invoice",
        attachments=[{"upload": upload.json()["upload"]}],
    )
    (form,) = fake_twilio.sent
    (url,) = form["MediaUrl"]
    assert url.startswith(settings.public_url + "/media/") and form["Body"] == ["Your invoice"]
    attachment_id = await pool().fetchval(
        "SELECT id FROM attachment WHERE message = $1", message["id"]
    )
    assert read_token(settings.secret_key, url.rsplit("/", 1)[1]) == attachment_id


# Status callbacks ------------------------------------------------------------------------------

STATUSES = {
    "status_sent": ("sent", ""),
    "status_delivered": ("delivered", ""),
    "status_read": ("read", ""),
    "status_failed": ("failed", "63003"),
    "status_undelivered_63016": ("failed", "24-hour"),
}


@pytest.mark.parametrize("name", sorted(STATUSES))
async def test_status_callback_fixture(
    name: str, client: httpx.AsyncClient, settings: Settings, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    conversation_id = await _conversation(client, settings, inbox["id"])
    message = await _sent_reply(client, headers, conversation_id, text="Fixed!")
    form = twilio_fixture(name)
    form["MessageSid"] = form["SmsSid"] = await _provider_id(message["id"])
    response = await post_twilio(client, settings, inbox["id"], form, sub="/status")
    assert response.status_code == 200, response.text
    expected, error_words = STATUSES[name]
    (row,) = [m for m in await messages_of(inbox["id"]) if m["id"] == message["id"]]
    assert row["status"] == expected
    assert error_words in row["error"]


async def test_out_of_order_statuses_never_go_backwards(
    client: httpx.AsyncClient, settings: Settings, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    conversation_id = await _conversation(client, settings, inbox["id"])
    message = await _sent_reply(client, headers, conversation_id, text="Fixed!")
    sid = await _provider_id(message["id"])
    for name in ("status_read", "status_delivered", "status_sent", "status_failed"):
        form = {**twilio_fixture(name), "MessageSid": sid, "SmsSid": sid}
        response = await post_twilio(client, settings, inbox["id"], form, sub="/status")
        assert response.status_code == 200
    (row,) = [m for m in await messages_of(inbox["id"]) if m["id"] == message["id"]]
    assert row["status"] == "read" and row["error"] == ""


# Inbox set-up ----------------------------------------------------------------------------------


async def test_inbox_shows_its_webhook_and_hides_the_token(
    client: httpx.AsyncClient, settings: Settings, twilio_inbox: Inbox
) -> None:
    _, inbox = twilio_inbox
    assert inbox["webhook_url"] == f"{settings.public_url}/webhooks/twilio/{inbox['id']}"
    assert "auth_token" not in inbox["config"] and inbox["secrets_set"] == ["auth_token"]
    assert inbox["limits"]["reply_window_hours"] == 24
    assert inbox["config"]["account_sid"] == ACCOUNT_SID


async def test_wrong_credentials_are_refused_when_the_inbox_is_created(
    client: httpx.AsyncClient, fake_twilio: FakeTwilio
) -> None:
    headers = await admin_key(client)
    response = await create_inbox(
        client, headers, "whatsapp_twilio", twilio_config(fake_twilio, auth_token="wrong")
    )
    assert response.status_code == 422, response.text
    assert "auth_token" in response.json()["error"]["message"]
    assert fake_twilio.unauthorized == 1
    assert await count("inbox") == 0


async def test_changed_credentials_are_checked(
    client: httpx.AsyncClient, fake_twilio: FakeTwilio, twilio_inbox: Inbox
) -> None:
    headers, inbox = twilio_inbox
    path = f"/api/v1/inboxes/{inbox['id']}"
    refused = await client.patch(path, json={"config": {"auth_token": "wrong"}}, headers=headers)
    assert refused.status_code == 422 and fake_twilio.unauthorized == 1
    # Other changes need no call to Twilio.
    renamed = await client.patch(path, json={"config": {"templates": []}}, headers=headers)
    assert renamed.status_code == 200 and renamed.json()["config"]["templates"] == []
    assert fake_twilio.unauthorized == 1
