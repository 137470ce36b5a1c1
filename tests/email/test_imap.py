"""Receiving from a real Dovecot: UID tracking, marking only after commit, IDLE, UIDVALIDITY."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import aioimaplib
import httpx
import msgspec
import pytest

from hub.db.engine import engine
from hub.db.tables import Message
from hub.ingest import polling
from tests.conftest import admin_key
from tests.email.conftest import ADDRESS, PASSWORD, create_inbox, email_config, mail
from tests.email.servers import Dovecot


@pytest.fixture
async def client(quiet_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """These tests drive every poll themselves: no in-process worker polling beside them."""
    return quiet_client


async def imap_client(server: Dovecot) -> aioimaplib.IMAP4:
    client = aioimaplib.IMAP4(host="127.0.0.1", port=server.port)
    await client.wait_hello_from_server()
    assert (await client.login(ADDRESS, PASSWORD)).result == "OK"
    return client


async def append(server: Dovecot, *messages: bytes, folder: str = "INBOX") -> None:
    client = await imap_client(server)
    for raw in messages:
        response = await client.append(raw, mailbox=folder)
        assert response.result == "OK", response
    await client.logout()


async def seen_flags(server: Dovecot, folder: str = "INBOX") -> dict[int, bool]:
    client = await imap_client(server)
    await client.select(folder)
    response = await client.uid("fetch", "1:*", "(UID FLAGS)")
    await client.logout()
    flags = {}
    for line in response.lines:
        text = bytes(line).decode()
        if "FETCH" in text and "UID " in text:
            uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
            flags[uid] = "\\Seen" in text
    return flags


async def poll(settings: Any, inbox_id: int) -> dict[str, Any]:
    return await polling.poll_inbox(
        inbox_id, secret_key=settings.secret_key, public_url=settings.public_url
    )


async def state_of(inbox_id: int) -> dict[str, Any]:
    pool = engine().pool
    assert pool is not None
    raw = await pool.fetchval("SELECT state FROM channel_state WHERE inbox = $1", inbox_id)
    return dict(msgspec.json.decode(raw)) if raw else {}


async def test_poll_by_uid_marks_seen_only_after_commit(
    client: httpx.AsyncClient, settings: Any, imap_clean: Dovecot
) -> None:
    headers = await admin_key(client)
    inbox = await create_inbox(client, headers, email_config(imap_clean))
    assert await polling.polling_inbox_ids(settings.secret_key, settings.public_url) == [
        inbox["id"]
    ]
    await append(
        imap_clean,
        mail(message_id="p1@customer.example"),
        mail(message_id="p2@customer.example", sender="Bob <bob@customer.example>"),
    )
    first = await poll(settings, inbox["id"])
    assert first["stored"] == 2 and await Message.count() == 2
    # Fetched with BODY.PEEK and stored, but the state naming them is saved only now: not seen yet.
    assert await seen_flags(imap_clean) == {1: False, 2: False}
    state = await state_of(inbox["id"])
    assert state["last_uid"] == 2 and state["marked_uid"] == 0
    second = await poll(settings, inbox["id"])
    assert second["stored"] == 0
    assert await seen_flags(imap_clean) == {1: True, 2: True}
    assert (await state_of(inbox["id"]))["marked_uid"] == 2
    # A third message, and a re-delivery of the first (same Message-ID): one new row only.
    await append(
        imap_clean, mail(message_id="p3@customer.example"), mail(message_id="p1@customer.example")
    )
    pool = engine().pool
    assert pool is not None
    await pool.execute("UPDATE channel_state SET state = state - 'polled_at'")
    third = await poll(settings, inbox["id"])
    assert third["items"] == 2 and await Message.count() == 3


async def test_idle_picks_up_new_mail_at_once(
    client: httpx.AsyncClient, settings: Any, imap_clean: Dovecot
) -> None:
    headers = await admin_key(client)
    inbox = await create_inbox(client, headers, email_config(imap_clean, idle_seconds=15))
    loop = asyncio.get_running_loop()
    started = loop.time()
    polling_task = asyncio.create_task(poll(settings, inbox["id"]))
    await asyncio.sleep(1.0)  # the poll finds nothing and waits in IDLE
    assert not polling_task.done()
    await append(imap_clean, mail(message_id="idle-1@customer.example"))
    result = await asyncio.wait_for(polling_task, 10)
    assert result["stored"] == 1 and loop.time() - started < 8


async def test_uidvalidity_change_neither_skips_nor_reimports(
    client: httpx.AsyncClient, settings: Any, imap_clean: Dovecot
) -> None:
    headers = await admin_key(client)
    inbox = await create_inbox(client, headers, email_config(imap_clean))
    old = [mail(message_id=f"u{n}@customer.example") for n in range(3)]
    await append(imap_clean, *old)
    assert (await poll(settings, inbox["id"]))["stored"] == 3
    await poll(settings, inbox["id"])  # marks them seen
    before = await state_of(inbox["id"])
    # The server's mailbox is rebuilt (restore from backup, migration): new UIDVALIDITY, UIDs from 1,
    # and one message that arrived meanwhile sits among the old ones.
    shutil.rmtree(imap_clean.maildir(ADDRESS))
    # Dovecot derives a new mailbox's UIDVALIDITY from the clock (seconds): let one pass.
    await asyncio.sleep(1.1)
    await append(imap_clean, old[0], mail(message_id="u-new@customer.example"), old[1], old[2])
    pool = engine().pool
    assert pool is not None
    await pool.execute("UPDATE channel_state SET state = state - 'polled_at'")
    result = await poll(settings, inbox["id"])
    after = await state_of(inbox["id"])
    assert after["uidvalidity"] != before["uidvalidity"]
    assert result["items"] == 4 and await Message.count() == 4
    texts = {r["provider_message_id"] for r in await Message.select(Message.provider_message_id)}
    assert "u-new@customer.example" in texts
    await poll(settings, inbox["id"])
    assert set((await seen_flags(imap_clean)).values()) == {True}


async def test_after_import_move_to_folder(
    client: httpx.AsyncClient, settings: Any, imap_clean: Dovecot
) -> None:
    headers = await admin_key(client)
    inbox = await create_inbox(
        client,
        headers,
        email_config(imap_clean, after_import="move", move_to_folder="Processed"),
    )
    imap = await imap_client(imap_clean)
    await imap.create("Processed")
    await imap.logout()
    await append(imap_clean, mail(message_id="m1@customer.example"))
    assert (await poll(settings, inbox["id"]))["stored"] == 1
    await poll(settings, inbox["id"])
    assert await seen_flags(imap_clean) == {}
    assert len(await seen_flags(imap_clean, "Processed")) == 1


async def test_a_reply_in_the_same_batch_waits_for_its_parent(
    client: httpx.AsyncClient, settings: Any, imap_clean: Dovecot
) -> None:
    headers = await admin_key(client)
    inbox = await create_inbox(client, headers, email_config(imap_clean))
    await append(
        imap_clean,
        mail(message_id="t1@customer.example"),
        mail(
            message_id="t2@customer.example",
            sender="Colleague <col@customer.example>",
            subject="Re: Router is down",
            extra={"In-Reply-To": "<t1@customer.example>"},
        ),
    )
    assert (await poll(settings, inbox["id"]))["stored"] == 1
    assert (await poll(settings, inbox["id"]))["stored"] == 1
    rows = await Message.select(Message.conversation)
    assert len({r["conversation"] for r in rows}) == 1
