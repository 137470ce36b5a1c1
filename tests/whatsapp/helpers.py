"""WhatsApp test helpers: settings for inboxes on the fakes, signed webhooks, database reads."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import msgspec
from twilio.request_validator import RequestValidator

from adapters.whatsapp.cloud import signature as cloud_signature
from hub.db.engine import engine
from hub.system.config import Settings
from tests.conftest import unique
from tests.whatsapp.fake_graph import FakeGraph
from tests.whatsapp.fake_twilio import FakeTwilio

FIXTURES = Path(__file__).resolve().parents[2] / "adapters" / "whatsapp" / "fixtures"
# The account the Twilio fixtures were captured from (their MediaUrl paths name it).
ACCOUNT_SID = "ACa1b2c3d4e5f60718293a4b5c6d7e8f90"
AUTH_TOKEN = "twilio-auth-token-for-tests"
FROM_NUMBER = "+14155238886"
CONTENT_SID = "HX" + "b" * 32
# The phone number id the Cloud fixtures were captured for.
PHONE_NUMBER_ID = "106540352242922"
ACCESS_TOKEN = "EAAG-test-access-token"
APP_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "verify-me-please"


def twilio_fixture(name: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((FIXTURES / "twilio" / f"{name}.json").read_text())
    return data


def cloud_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "cloud" / f"{name}.json").read_text())
    return data


async def create_inbox(
    client: httpx.AsyncClient, headers: dict[str, str], channel: str, config: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        "/api/v1/inboxes",
        json={"name": unique(channel), "channel": channel, "config": config},
        headers=headers,
    )


def twilio_config(fake: FakeTwilio, **changes: Any) -> dict[str, Any]:
    return {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": FROM_NUMBER,
        "api_base_url": fake.base_url,
        "templates": [
            {
                "name": "appointment_reminder",
                "content_sid": CONTENT_SID,
                "variables": ["name", "time"],
                "body": "Hi {{1}}, your technician arrives at {{2}}.",
            }
        ],
        **changes,
    }


def cloud_config(fake: FakeGraph, **changes: Any) -> dict[str, Any]:
    return {
        "phone_number_id": PHONE_NUMBER_ID,
        "access_token": ACCESS_TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "graph_base_url": fake.base_url,
        "templates": [
            {"name": "appointment_reminder", "language": "en_US", "variables": ["name", "time"]}
        ],
        **changes,
    }


async def post_twilio(
    client: httpx.AsyncClient,
    settings: Settings,
    inbox_id: int,
    form: dict[str, str],
    *,
    sub: str = "",
    token: str = AUTH_TOKEN,
    signature: str | None = None,
) -> httpx.Response:
    """POST a form as Twilio does: signed over the public URL the hub is known by."""
    path = f"/webhooks/twilio/{inbox_id}{sub}"
    url = settings.public_url + path
    if signature is None:
        signature = RequestValidator(token).compute_signature(url, form)
    return await client.post(
        path,
        content=urlencode(form).encode(),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": signature,
        },
    )


async def post_cloud(
    client: httpx.AsyncClient,
    inbox_id: int,
    payload: dict[str, Any] | bytes,
    *,
    secret: str = APP_SECRET,
    signature: str | None = None,
) -> httpx.Response:
    """POST a payload as Meta does: compact JSON signed with the app secret over the raw body."""
    body = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
    return await client.post(
        f"/webhooks/whatsapp/{inbox_id}",
        content=body,
        headers={
            "content-type": "application/json",
            "x-hub-signature-256": signature or cloud_signature(secret, body),
        },
    )


def cloud_text(
    text: str = "hi", *, message_id: str | None = None, sender: str = "15551234567"
) -> dict[str, Any]:
    """A fresh Cloud text message (timestamp now, so the conversation's window is open)."""
    payload = cloud_fixture("text")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(
        {
            "id": message_id or f"wamid.{unique('in')}",
            "from": sender,
            "timestamp": str(int(dt.datetime.now(dt.UTC).timestamp())),
            "text": {"body": text},
        }
    )
    payload["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = sender
    return payload


def pool() -> Any:
    value = engine().pool
    assert value is not None
    return value


async def count(table: str) -> int:
    return int(await pool().fetchval(f"SELECT count(*) FROM {table}"))


async def messages_of(inbox_id: int) -> list[dict[str, Any]]:
    rows = await pool().fetch(
        "SELECT id, conversation, direction, text, status, error, provider_message_id, meta"
        " FROM message WHERE inbox = $1 ORDER BY id",
        inbox_id,
    )
    result = []
    for row in rows:
        item = dict(row)
        item["meta"] = json.loads(item["meta"]) if isinstance(item["meta"], str) else item["meta"]
        result.append(item)
    return result


async def attachments_of(message_id: int) -> list[dict[str, Any]]:
    rows = await pool().fetch(
        "SELECT filename, content_type, size, sha256 FROM attachment WHERE message = $1 ORDER BY id",
        message_id,
    )
    return [dict(r) for r in rows]


async def close_window(conversation_id: int, hours: int = 25) -> None:
    """Move the customer's last message back in time, past the 24-hour window."""
    await pool().execute(
        "UPDATE conversation SET last_inbound_at = now() - make_interval(hours => $2) WHERE id = $1",
        conversation_id,
        hours,
    )


async def reply(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=headers
    )
