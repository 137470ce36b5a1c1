"""Sending through a real SMTP server (aiosmtpd) with STARTTLS and AUTH: headers, retries, failures."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.email.convert import Converter
from hub.channels import inboxes
from hub.channels.contract import Inbound
from hub.conversations import threading as hub_threading
from hub.db.engine import engine
from hub.ingest import pipeline
from hub.outbox import delivery
from tests.conftest import admin_key
from tests.email.conftest import create_inbox, email_config, mail
from tests.email.servers import SmtpSink


async def _conversation(
    client: httpx.AsyncClient, settings: Any, smtp: tuple[SmtpSink, int, Any]
) -> tuple[dict[str, str], int, int]:
    headers = await admin_key(client)
    pool = engine().pool
    assert pool is not None
    await pool.execute("UPDATE agent SET name = 'Alice Agent'")
    inbox = await create_inbox(client, headers, email_config(smtp=smtp))
    adapter = await inboxes.adapter_for(
        inbox["id"], secret_key=settings.secret_key, public_url=settings.public_url
    )
    converter: Converter = adapter.converter()  # type: ignore[attr-defined]
    raw = mail(
        message_id="c2@customer.example",
        subject="Router is down",
        extra={"References": "<c1@customer.example>"},
    )
    item = (await converter.items(raw))[0]
    assert isinstance(item, Inbound)
    result = await pipeline.ingest(item)
    return headers, inbox["id"], result.conversation_id


async def _reply(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "We are on it.\n\nAlice", **body},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_reply_carries_threading_headers_and_attachments(
    client: httpx.AsyncClient, settings: Any, smtp_server: tuple[SmtpSink, int, Any]
) -> None:
    sink = smtp_server[0]
    headers, _, conversation_id = await _conversation(client, settings, smtp_server)
    upload = await client.post(
        "/api/v1/attachments",
        files={"data": ("steps.txt", b"1. unplug\n2. wait\n", "text/plain")},
        headers=headers,
    )
    assert upload.status_code == 201, upload.text
    reply = await _reply(
        client, headers, conversation_id, attachments=[{"upload": upload.json()["upload"]}]
    )
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}) == "sent"
    received = (await sink.wait(1))[0]
    assert sink.auth == ["smtp-user"]  # authenticated, which the sink allows only after STARTTLS
    assert received.rcpt_tos == ["ann@customer.example"]
    msg = received.message
    pool = engine().pool
    assert pool is not None
    ref = await pool.fetchval("SELECT ref FROM conversation WHERE id = $1", conversation_id)
    our_id = msg["Message-ID"].strip().strip("<>")  # folded: it is longer than a line
    prefix = f"conversation/{conversation_id}/messages/{reply['id']}."
    # Unguessable: a 128-bit MAC, not only the conversation's and the message's numbers.
    assert our_id.startswith(prefix) and our_id.endswith("@example.com"), our_id
    assert len(our_id.removeprefix(prefix).removesuffix("@example.com")) == 32
    assert msg["From"] == "Alice Agent <support@example.com>"
    assert msg["To"] == "Ann Customer <ann@customer.example>"
    assert msg["Subject"] == f"[#{ref}] Router is down"
    assert msg["In-Reply-To"] == "<c2@customer.example>"
    assert msg["References"].split() == ["<c2@customer.example>"]
    token = msg["Reply-To"].split("+", 1)[1].split("@")[0]
    assert hub_threading.conversation_for_token(settings.secret_key, token) == conversation_id
    assert msg["Auto-Submitted"] is None
    assert msg.get_content_type() == "multipart/mixed"
    body = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert body is not None and "We are on it." in body.get_content()
    assert html is not None and "<p>We are on it.</p>" in html.get_content()
    files = [(a.get_filename(), a.get_content()) for a in msg.iter_attachments()]
    assert files == [("steps.txt", "1. unplug\n2. wait\n")]
    stored = await pool.fetchval(
        "SELECT provider_message_id FROM message WHERE id = $1", reply["id"]
    )
    assert stored == our_id
    # The next reply references the whole chain: the customer's message and our first reply.
    second = await _reply(client, headers, conversation_id, text="Any news?")
    assert await delivery.wait_for_status(second["id"], {"sent", "failed"}) == "sent"
    follow = (await sink.wait(2))[1].message
    assert follow["In-Reply-To"] == "<c2@customer.example>"
    assert set(follow["References"].split()) == {"<c2@customer.example>", f"<{our_id}>"}


async def test_4xx_is_retried_then_sent(
    client: httpx.AsyncClient, settings: Any, smtp_server: tuple[SmtpSink, int, Any]
) -> None:
    sink = smtp_server[0]
    headers, _, conversation_id = await _conversation(client, settings, smtp_server)
    sink.fail_next = ["451 4.3.0 Mailbox temporarily unavailable"]
    reply = await _reply(client, headers, conversation_id)
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}, timeout=30) == "sent"
    assert len(await sink.wait(1)) == 1
    pool = engine().pool
    assert pool is not None
    assert await pool.fetchval("SELECT attempts FROM message WHERE id = $1", reply["id"]) == 2


async def test_5xx_fails_with_the_servers_reason(
    client: httpx.AsyncClient, settings: Any, smtp_server: tuple[SmtpSink, int, Any]
) -> None:
    sink = smtp_server[0]
    headers, _, conversation_id = await _conversation(client, settings, smtp_server)
    sink.fail_next = ["554 5.7.1 Message rejected as spam"]
    reply = await _reply(client, headers, conversation_id)
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}, timeout=30) == "failed"
    pool = engine().pool
    assert pool is not None
    error = await pool.fetchval("SELECT error FROM message WHERE id = $1", reply["id"])
    assert "554" in error and "Message rejected as spam" in error
    assert sink.received == []
