"""Email threads after merges, and threads that repair themselves when mail arrives out of order."""

from __future__ import annotations

import mailbox
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.email.convert import Converter
from adapters.email.importer import Importer, run_import
from hub.channels import inboxes
from hub.channels.contract import Inbound
from hub.conversations import threading as hub_threading
from hub.db.engine import engine
from hub.ingest import pipeline
from hub.outbox import delivery
from tests.conftest import admin_key
from tests.email.conftest import create_inbox, email_config, mail
from tests.email.servers import SmtpSink

GENERATOR = Path(__file__).resolve().parents[2] / ".." / "shared" / "bench" / "gen_email_corpus.py"
# Small enough for the suite; bench/email_threads.py runs the 2,000-mail corpus.
CORPUS_SIZE = 200


def _pool() -> Any:
    pool = engine().pool
    assert pool is not None
    return pool


async def _converter(
    client: httpx.AsyncClient, settings: Any, **config: Any
) -> tuple[dict[str, str], int, Converter]:
    headers = await admin_key(client)
    inbox = await create_inbox(client, headers, email_config(**config))
    adapter = await inboxes.adapter_for(
        inbox["id"], secret_key=settings.secret_key, public_url=settings.public_url
    )
    return headers, inbox["id"], adapter.converter()  # type: ignore[attr-defined]


async def _item(converter: Converter, raw: bytes) -> Inbound:
    item = (await converter.items(raw))[0]
    assert isinstance(item, Inbound)
    return item


async def _conversation_of(inbox_id: int, message_id: str) -> int:
    found = await _pool().fetchval(
        "SELECT conversation FROM message WHERE inbox = $1 AND provider_message_id = $2",
        inbox_id,
        message_id,
    )
    assert found is not None
    return int(found)


async def test_a_reply_stored_before_its_parent_joins_it_when_the_parent_arrives(
    client: httpx.AsyncClient, settings: Any
) -> None:
    headers, inbox, converter = await _converter(client, settings)
    parent = mail(message_id="p1@customer.example", subject="Router down")
    reply = mail(
        sender="Colleague <col@customer.example>",
        message_id="r1@customer.example",
        subject="Re: Router down",
        extra={"In-Reply-To": "<p1@customer.example>", "References": "<p1@customer.example>"},
    )
    first = await pipeline.ingest(await _item(converter, reply))
    assert first.conversation_created  # the parent is not known yet
    second = await pipeline.ingest(await _item(converter, parent))
    assert second.conversation_created
    kept = await _conversation_of(inbox, "p1@customer.example")
    assert await _conversation_of(inbox, "r1@customer.example") == kept
    merged = await _pool().fetchrow(
        "SELECT status, merged_into FROM conversation WHERE id = $1", first.conversation_id
    )
    assert (merged["status"], merged["merged_into"]) == ("closed", kept)
    lines = await _pool().fetch(
        "SELECT text, author_type FROM message WHERE conversation = $1 AND kind = 'event'", kept
    )
    assert [(r["author_type"]) for r in lines] == ["system"]
    assert "email thread repair" in lines[0]["text"] and "p1@customer.example" in lines[0]["text"]

    # The other order of commits: the reply was threaded while its parent was not stored yet,
    # but is committed after it (two messages in flight together).
    parent2 = mail(message_id="p2@customer.example", subject="Invoice")
    reply2 = mail(
        sender="Colleague <col@customer.example>",
        message_id="r2@customer.example",
        subject="Re: Invoice",
        extra={"In-Reply-To": "<p2@customer.example>"},
    )
    early = await _item(converter, reply2)  # threaded now: finds nothing
    assert early.hints.new_conversation
    await pipeline.ingest(await _item(converter, parent2))
    late = await pipeline.ingest(early)
    assert late.conversation_id == await _conversation_of(inbox, "p2@customer.example")
    assert await _conversation_of(inbox, "r2@customer.example") == late.conversation_id

    # An agent who undoes a repair has the last word: later mail does not join the two again.
    stray = mail(
        sender="Colleague <col@customer.example>",
        message_id="r4@customer.example",
        subject="Re: Modem",
        extra={"References": "<p4@customer.example> <q4@customer.example>"},
    )
    alone = await pipeline.ingest(await _item(converter, stray))
    home = await pipeline.ingest(await _item(converter, mail(message_id="p4@customer.example")))
    assert await _conversation_of(inbox, "r4@customer.example") == home.conversation_id
    undo = await client.post(
        f"/api/v1/conversations/{home.conversation_id}/unmerge", json={}, headers=headers
    )
    assert undo.status_code == 200, undo.text
    sibling = mail(message_id="q4@customer.example", extra={"In-Reply-To": "<p4@customer.example>"})
    joined = await pipeline.ingest(await _item(converter, sibling))
    assert joined.conversation_id == home.conversation_id  # threaded by its own In-Reply-To
    assert await _conversation_of(inbox, "r4@customer.example") == alone.conversation_id


async def test_replies_after_a_merge_name_every_thread_and_old_tokens_follow(
    client: httpx.AsyncClient,
    settings: Any,
    smtp_server: tuple[SmtpSink, int, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sink = smtp_server[0]
    headers, inbox, converter = await _converter(client, settings, smtp=smtp_server)
    a = await pipeline.ingest(await _item(converter, mail(message_id="t1@customer.example")))
    await client.patch(
        f"/api/v1/conversations/{a.conversation_id}", json={"status": "closed"}, headers=headers
    )
    b = await pipeline.ingest(
        await _item(converter, mail(message_id="t2@customer.example", subject="Still down"))
    )
    assert a.conversation_id != b.conversation_id
    done = await client.post(
        f"/api/v1/conversations/{b.conversation_id}/merge",
        json={"source_ids": [a.conversation_id]},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    reply = await client.post(
        f"/api/v1/conversations/{b.conversation_id}/messages",
        json={"text": "Both fixed."},
        headers=headers,
    )
    assert reply.status_code == 201, reply.text
    assert await delivery.wait_for_status(reply.json()["id"], {"sent", "failed"}) == "sent"
    sent = (await sink.wait(1))[0].message
    references = sent["References"].split()
    assert "<t1@customer.example>" in references and "<t2@customer.example>" in references
    assert sent["To"].endswith("<ann@customer.example>")
    # Mail to the merged conversation's reply token lands in the target.
    token = hub_threading.reply_token(settings.secret_key, a.conversation_id)
    late = await pipeline.ingest(
        await _item(
            converter,
            mail(message_id="t3@customer.example", to=f"support+{token}@example.com"),
        )
    )
    assert late.conversation_id == b.conversation_id
    assert await _conversation_of(inbox, "t3@customer.example") == b.conversation_id

    # The race: ingest picked the source before the merge committed (simulated by skipping the
    # look-up); the message still ends up in the target, and the source stays closed.
    async def stale(conversation_id: int) -> int:
        return conversation_id

    monkeypatch.setattr(pipeline, "_redirect", stale)
    raced = await pipeline.ingest(
        await _item(
            converter,
            mail(message_id="t4@customer.example", to=f"support+{token}@example.com"),
        )
    )
    assert raced.conversation_id == b.conversation_id
    assert await _conversation_of(inbox, "t4@customer.example") == b.conversation_id
    source = await _pool().fetchrow(
        "SELECT status, unread_count, merged_into FROM conversation WHERE id = $1",
        a.conversation_id,
    )
    assert tuple(source) == ("closed", 0, b.conversation_id)
    # An undo returns it to the conversation it was written to.
    undo = await client.post(
        f"/api/v1/conversations/{b.conversation_id}/unmerge", json={}, headers=headers
    )
    assert undo.status_code == 200, undo.text
    assert await _conversation_of(inbox, "t4@customer.example") == a.conversation_id
    assert await _conversation_of(inbox, "t1@customer.example") == a.conversation_id


def _corpus(tmp_path: Path, size: int) -> tuple[list[bytes], int]:
    if not GENERATOR.exists():
        pytest.skip(f"the corpus generator is not at {GENERATOR}")
    out = tmp_path / "corpus"
    done = subprocess.run(
        [sys.executable, str(GENERATOR), str(out), str(size), "7"],
        capture_output=True,
        text=True,
        check=True,
    )
    tickets = int(done.stdout.split(",")[1].split()[0])  # "wrote N messages, T new tickets, ..."
    return [p.read_bytes() for p in sorted(out.glob("*.eml"))], tickets


async def _partition(inbox_id: int) -> set[frozenset[str]]:
    rows = await _pool().fetch(
        "SELECT array_agg(provider_message_id ORDER BY provider_message_id) AS ids FROM message"
        " WHERE inbox = $1 AND kind = 'message' GROUP BY conversation",
        inbox_id,
    )
    return {frozenset(r["ids"]) for r in rows}


async def test_shuffled_imports_end_with_the_conversations_of_the_in_order_import(
    client: httpx.AsyncClient, settings: Any, tmp_path: Path
) -> None:
    raws, tickets = _corpus(tmp_path, CORPUS_SIZE)
    _, in_order, converter = await _converter(client, settings)
    report = await Importer(converter).run(iter(raws))
    assert report.errors == [] and report.stored == CORPUS_SIZE
    expected = await _partition(in_order)
    assert len(expected) == tickets  # one conversation per thread the generator wrote

    # Delivered one by one in a shuffled order, as a mailbox polled now and then would hand them
    # over: replies come before their parents, and thread repair mends. (Within one import run
    # every message of the window is known before any is threaded, which hides the order.)
    shuffled = raws[:]
    random.Random(11).shuffle(shuffled)
    _, scrambled, converter = await _converter(client, settings)
    for raw in shuffled:
        for item in await converter.items(raw):
            assert isinstance(item, Inbound)
            await pipeline.ingest(item)
    assert await _partition(scrambled) == expected
    repaired = await _pool().fetchval(
        "SELECT count(*) FROM conversation_merge g JOIN conversation c ON c.id = g.target"
        " WHERE c.inbox = $1 AND g.auto",
        scrambled,
    )
    assert repaired > 0  # the shuffle did put replies first

    # A Maildir written in shuffled order, through `hub email import`'s own code path.
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for raw in shuffled:
        box.add(raw)
    box.flush()
    _, from_maildir, _ = await _converter(client, settings)
    report = await run_import(from_maildir, tmp_path / "Maildir", processes=0)
    assert report.errors == [] and report.stored == CORPUS_SIZE
    assert await _partition(from_maildir) == expected
