"""The signed media link providers fetch outbound attachments from (`GET /media/{token}`).

The route lives in web/ (web/media.py); until it is wired in, this module is skipped.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.whatsapp.signed_urls import make_token
from hub.outbox import delivery
from hub.system.config import Settings
from tests.whatsapp.fake_twilio import FakeTwilio
from tests.whatsapp.helpers import messages_of, pool, post_twilio, reply, twilio_fixture

pytest.importorskip("web.media")

PDF = b"%PDF-1.4 the invoice"


async def test_provider_can_fetch_the_signed_link(
    client: httpx.AsyncClient,
    settings: Settings,
    fake_twilio: FakeTwilio,
    twilio_inbox: tuple[dict[str, str], dict[str, Any]],
) -> None:
    headers, inbox = twilio_inbox
    await post_twilio(client, settings, inbox["id"], twilio_fixture("inbound_text"))
    conversation_id = (await messages_of(inbox["id"]))[0]["conversation"]
    upload = await client.post(
        "/api/v1/attachments",
        files={"data": ("invoice.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    sent = await reply(
        client, headers, conversation_id, attachments=[{"upload": upload.json()["upload"]}]
    )
    assert await delivery.wait_for_status(sent.json()["id"], {"sent", "failed"}) == "sent"
    (url,) = fake_twilio.sent[0]["MediaUrl"]
    # The provider calls HUB_PUBLIC_URL; the test server is the same app on another port.
    fetched = await client.get(url.removeprefix(settings.public_url))
    assert fetched.status_code == 200 and fetched.content == PDF
    assert fetched.headers["content-type"].startswith("application/pdf")
    assert fetched.headers["content-security-policy"] == "sandbox"

    attachment_id = await pool().fetchval("SELECT max(id) FROM attachment")
    expired = make_token(settings.secret_key, attachment_id, ttl_seconds=-1)
    assert (await client.get(f"/media/{expired}")).status_code == 410
    forged = make_token("not-the-instance-secret", attachment_id)
    assert (await client.get(f"/media/{forged}")).status_code == 403
    unknown = make_token(settings.secret_key, attachment_id + 1000)
    assert (await client.get(f"/media/{unknown}")).status_code == 404
