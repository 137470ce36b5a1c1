"""Threading exactly as contracts/email.md: token, stored ids, [#ref] from participants, else new.

Messages go through the adapter's conversion and the hub's ingest, as a poll would hand them over.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.email.convert import Converter
from hub.channels import inboxes
from hub.channels.contract import DeliveryUpdate, Inbound
from hub.conversations import threading as hub_threading
from hub.db.engine import engine
from hub.ingest import pipeline
from hub.outbox import delivery
from tests.conftest import admin_key
from tests.email.conftest import ADDRESS, create_inbox, email_config, mail


@pytest.fixture
async def setup(client: httpx.AsyncClient, settings: Any) -> tuple[Converter, dict[str, str], int]:
    headers = await admin_key(client)
    inbox = await create_inbox(client, headers, email_config())
    adapter = await inboxes.adapter_for(
        inbox["id"], secret_key=settings.secret_key, public_url=settings.public_url
    )
    return adapter.converter(), headers, inbox["id"]  # type: ignore[attr-defined]


async def deliver(converter: Converter, raw: bytes) -> pipeline.IngestResult | None:
    items = await converter.items(raw)
    assert len(items) <= 1
    if not items:
        return None
    item = items[0]
    assert isinstance(item, Inbound)
    return await pipeline.ingest(item)


async def store_outgoing(conversation_id: int, inbox_id: int, provider_id: str) -> None:
    """An agent reply as dispatch leaves it: sent, with our Message-ID as its provider id."""
    pool = engine().pool
    assert pool is not None
    await pool.execute(
        "INSERT INTO message (conversation, inbox, kind, direction, author_type, text, html, status,"
        " error, provider_message_id, attempts, meta, created_at, updated_at)"
        " VALUES ($1, $2, 'message', 'out', 'agent', 'On it', '', 'sent', '', $3, 1, '{}', now(), now())",
        conversation_id,
        inbox_id,
        provider_id,
    )


async def test_outlook_reply_threads_by_the_token_in_the_address(
    setup: tuple[Converter, dict[str, str], int], settings: Any
) -> None:
    converter, _, _ = setup
    first = await deliver(converter, mail(message_id="a1@customer.example"))
    assert first is not None and first.conversation_created
    token = hub_threading.reply_token(settings.secret_key, first.conversation_id)
    # Outlook drops In-Reply-To/References and rewrites the subject; the token survives.
    reply = mail(
        message_id="a2@customer.example",
        to=f"Support <support+{token}@example.com>",
        subject="AW: something else entirely",
    )
    second = await deliver(converter, reply)
    assert second is not None and second.conversation_id == first.conversation_id
    forged = mail(message_id="a3@customer.example", to="support+c1deadbeefdeadbeef@example.com")
    third = await deliver(converter, forged)
    assert third is not None and third.conversation_created


async def test_gmail_reply_threads_by_references_only(
    setup: tuple[Converter, dict[str, str], int],
) -> None:
    converter, _, inbox_id = setup
    first = await deliver(converter, mail(message_id="g1@customer.example"))
    assert first is not None
    ours = f"conversation/{first.conversation_id}/messages/99@example.com"
    await store_outgoing(first.conversation_id, inbox_id, ours)
    reply = mail(
        message_id="g2@mail.gmail.com",
        subject="Re: [#1000] Router is down",
        extra={"References": f"<g1@customer.example> <{ours}>"},
    )
    second = await deliver(converter, reply)
    assert second is not None and second.conversation_id == first.conversation_id


async def test_two_people_replying_to_one_newsletter_get_two_conversations(
    setup: tuple[Converter, dict[str, str], int],
) -> None:
    converter, _, _ = setup
    newsletter = mail(
        sender="Vendor News <news@vendor.example>",
        message_id="news-1@vendor.example",
        subject="Our November newsletter",
        extra={"Precedence": "bulk", "List-Unsubscribe": "<mailto:unsub@vendor.example>"},
    )
    # Bulk mail continues no conversation, so it opens none (contracts/email.md: kept raw).
    assert await deliver(converter, newsletter) is None
    conversations = set()
    for n, person in enumerate(["Bob <bob@one.example>", "Cat <cat@two.example>"]):
        reply = mail(
            sender=person,
            message_id=f"reply-{n}@people.example",
            subject="Re: Our November newsletter",
            extra={"In-Reply-To": "<news-1@vendor.example>"},
        )
        result = await deliver(converter, reply)
        assert result is not None and result.conversation_created
        conversations.add(result.conversation_id)
    assert len(conversations) == 2
    # A newsletter the hub never stored (sent by a mass mailer): replies are new conversations.
    unknown = set()
    for n, person in enumerate(["Dan <dan@three.example>", "Eve <eve@four.example>"]):
        result = await deliver(
            converter,
            mail(
                sender=person,
                message_id=f"other-{n}@people.example",
                subject="Re: Spring sale",
                extra={"In-Reply-To": "<campaign-7@mailer.example>"},
            ),
        )
        assert result is not None
        unknown.add(result.conversation_id)
    assert len(unknown) == 2


async def test_changed_subject_still_threads_and_subject_alone_never_does(
    setup: tuple[Converter, dict[str, str], int],
) -> None:
    converter, _, _ = setup
    first = await deliver(converter, mail(message_id="s1@customer.example"))
    assert first is not None
    renamed = mail(
        message_id="s2@customer.example",
        subject="Different topic now",
        extra={"In-Reply-To": "<s1@customer.example>"},
    )
    second = await deliver(converter, renamed)
    assert second is not None and second.conversation_id == first.conversation_id
    # Same subject, same sender, no reference: a new conversation (never thread on subject text).
    again = await deliver(converter, mail(message_id="s3@customer.example"))
    assert again is not None and again.conversation_created


async def test_subject_ref_threads_only_for_participants(
    setup: tuple[Converter, dict[str, str], int],
) -> None:
    converter, _, _ = setup
    first = await deliver(converter, mail(message_id="r1@customer.example"))
    assert first is not None
    pool = engine().pool
    assert pool is not None
    ref = await pool.fetchval("SELECT ref FROM conversation WHERE id = $1", first.conversation_id)
    same = await deliver(
        converter, mail(message_id="r2@customer.example", subject=f"Re: [#{ref}] Router")
    )
    assert same is not None and same.conversation_id == first.conversation_id
    stranger = await deliver(
        converter,
        mail(
            sender="Mallory <mallory@evil.example>",
            message_id="r3@evil.example",
            subject=f"Re: [#{ref}] Router",
        ),
    )
    assert stranger is not None and stranger.conversation_created


async def test_own_address_is_ignored_and_cc_is_recorded(
    setup: tuple[Converter, dict[str, str], int],
) -> None:
    converter, _, _ = setup
    assert await converter.items(mail(sender=ADDRESS, message_id="loop@example.com")) == []
    assert (
        await converter.items(mail(sender="support+x@example.com", message_id="loop2@example.com"))
        == []
    )
    items = await converter.items(
        mail(message_id="cc1@customer.example", extra={"Cc": "Colleague <col@customer.example>"})
    )
    assert isinstance(items[0], Inbound) and items[0].meta["cc"] == ["col@customer.example"]


async def test_bounce_marks_our_message_failed_and_out_of_office_does_not_reopen(
    setup: tuple[Converter, dict[str, str], int], client: httpx.AsyncClient
) -> None:
    from tests.email.conftest import bounce_for

    converter, headers, inbox_id = setup
    first = await deliver(converter, mail(message_id="b1@customer.example"))
    assert first is not None
    ours = f"conversation/{first.conversation_id}/messages/77@example.com"
    await store_outgoing(first.conversation_id, inbox_id, ours)
    resolved = await client.patch(
        f"/api/v1/conversations/{first.conversation_id}",
        json={"status": "resolved"},
        headers=headers,
    )
    assert resolved.status_code == 200, resolved.text
    unread_before = resolved.json()["unread_count"]
    ooo = mail(
        message_id="ooo-1@customer.example",
        subject="Automatic reply: Router is down",
        body="I am out of the office until Monday.\n",
        extra={"In-Reply-To": f"<{ours}>", "Auto-Submitted": "auto-replied"},
    )
    recorded = await deliver(converter, ooo)
    assert recorded is not None and recorded.created
    assert recorded.conversation_id == first.conversation_id and not recorded.reopened
    conversation = (
        await client.get(f"/api/v1/conversations/{first.conversation_id}", headers=headers)
    ).json()
    assert conversation["status"] == "resolved"
    assert conversation["unread_count"] == unread_before

    items = await converter.items(bounce_for(ours))
    assert len(items) == 1 and isinstance(items[0], DeliveryUpdate)
    assert await delivery.apply_delivery(items[0])
    pool = engine().pool
    assert pool is not None
    row = await pool.fetchrow(
        "SELECT status, error FROM message WHERE provider_message_id = $1", ours
    )
    assert row["status"] == "failed" and "User unknown" in row["error"] and "5.1.1" in row["error"]
    count = await pool.fetchval("SELECT count(*) FROM conversation")
    assert count == 1  # the bounce opened no conversation
