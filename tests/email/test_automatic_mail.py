"""Automatic mail that continues no conversation is kept raw with its reason, never opened."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.email.compose import message_id
from adapters.email.convert import Converter
from hub.db.engine import engine
from tests.email.conftest import bounce_for, mail
from tests.email.test_threading import deliver, setup, store_outgoing

__all__ = ["setup"]  # the fixture, shared with the threading tests

ROBOTS = {
    "rfc3834": {"Auto-Submitted": "auto-replied"},
    "auto-generated": {"Auto-Submitted": "auto-generated"},
    "x-autoreply": {"X-Autoreply": "yes"},
    "x-autorespond": {"X-Autorespond": "Out of office"},
    "precedence-bulk": {"Precedence": "bulk"},
    "precedence-list": {"Precedence": "list"},
    "precedence-junk": {"Precedence": "junk"},
}


async def _counts(inbox_id: int) -> tuple[int, list[str]]:
    pool = engine().pool
    assert pool is not None
    conversations = await pool.fetchval(
        "SELECT count(*) FROM conversation WHERE inbox = $1", inbox_id
    )
    kept = [
        r["error"]
        for r in await pool.fetch(
            "SELECT error FROM raw_payload WHERE inbox = $1 ORDER BY id", inbox_id
        )
    ]
    return int(conversations), kept


@pytest.mark.parametrize("marker", sorted(ROBOTS))
async def test_auto_reply_to_nothing_is_kept_not_opened(
    setup: tuple[Converter, dict[str, str], int], marker: str
) -> None:
    converter, _, inbox_id = setup
    raw = mail(message_id=f"robot-{marker}@elsewhere.example", extra=ROBOTS[marker])
    assert await converter.items(raw) == []
    conversations, kept = await _counts(inbox_id)
    assert conversations == 0
    assert len(kept) == 1 and "continues no conversation" in kept[0], kept
    # The same mail read again (a poll repeated after a crash) is kept once.
    assert await converter.items(raw) == []
    assert len((await _counts(inbox_id))[1]) == 1


async def test_mailer_daemon_and_foreign_bounces_open_nothing(
    setup: tuple[Converter, dict[str, str], int],
) -> None:
    converter, _, inbox_id = setup
    # A bounce of a message the hub never sent (backscatter from forged spam).
    assert await converter.items(bounce_for("forged-1@elsewhere.example")) == []
    daemon = mail(
        sender="Mail Delivery Subsystem <MAILER-DAEMON@mx.example>",
        message_id="daemon-1@mx.example",
    )
    assert await converter.items(daemon) == []
    conversations, kept = await _counts(inbox_id)
    assert conversations == 0
    assert "delivery status notification" in kept[0] and "mailer-daemon@mx.example" in kept[1]


async def test_auto_reply_to_our_mail_still_threads_and_people_still_open(
    setup: tuple[Converter, dict[str, str], int],
) -> None:
    converter, _, inbox_id = setup
    first = await deliver(converter, mail(message_id="human-1@customer.example"))
    assert first is not None and first.conversation_created
    ours = message_id(first.conversation_id, 5, "example.com", "k" * 40)
    await store_outgoing(first.conversation_id, inbox_id, ours)
    ooo = mail(
        message_id="ooo-9@customer.example",
        extra={"In-Reply-To": f"<{ours}>", "Auto-Submitted": "auto-replied"},
    )
    threaded = await deliver(converter, ooo)
    assert threaded is not None and threaded.conversation_id == first.conversation_id
    # Outlook puts X-Auto-Response-Suppress on people's mail too: that alone is not a robot.
    person = mail(message_id="human-2@other.example", extra={"X-Auto-Response-Suppress": "All"})
    opened = await deliver(converter, person)
    assert opened is not None and opened.conversation_created
    assert (await _counts(inbox_id))[1] == []


def test_message_ids_are_unguessable_but_stable() -> None:
    one = message_id(42, 1234, "example.com", "a" * 40)
    assert one == message_id(42, 1234, "example.com", "a" * 40)  # a retried send: the same id
    assert one != message_id(42, 1234, "example.com", "b" * 40)  # another instance's secret
    assert one != message_id(42, 1235, "example.com", "a" * 40)
    mac = one.split(".", 1)[1].split("@", 1)[0]
    assert len(mac) == 32 and int(mac, 16) >= 0


async def test_a_bounce_of_our_unguessable_id_still_marks_it_failed(
    setup: tuple[Converter, dict[str, str], int], client: httpx.AsyncClient, settings: Any
) -> None:
    from hub.channels.contract import DeliveryUpdate

    converter, _, inbox_id = setup
    first = await deliver(converter, mail(message_id="c-77@customer.example"))
    assert first is not None
    ours = message_id(first.conversation_id, 77, "example.com", settings.secret_key)
    await store_outgoing(first.conversation_id, inbox_id, ours)
    items = await converter.items(bounce_for(ours))
    assert len(items) == 1 and isinstance(items[0], DeliveryUpdate)
    assert items[0].provider_message_id == ours
