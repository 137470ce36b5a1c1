"""Every file of the shared email corpus through the real IMAP path: appended to a Dovecot
mailbox (read from the corpus by path), fetched by the hub's own poll job on its worker, parsed
and ingested. No exception is logged, every file ends as a message or as kept automatic mail,
and every attachment of every message is stored.

tests/email/test_corpus.py checks what each file becomes (through the parser and ingest); this
checks the transport around it: IMAP literals of odd sizes, 8-bit and LF-only files, the UID
bookkeeping over a large backlog, and marking everything seen only after the commit.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aioimaplib
import httpx
import pytest

from adapters.email.parse import parse
from hub.db.engine import engine
from tests.conftest import admin_key, eventually
from tests.email.conftest import ADDRESS, CORPUS, PASSWORD, create_inbox, email_config
from tests.email.servers import Dovecot, run_dovecot
from tests.email.test_corpus import _expected_attachment_digests, _manifest
from tests.hostile import processes as p


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with (
        tempfile.TemporaryDirectory(prefix="hub-dovecot-corpus-") as base,
        run_dovecot(Path(base) / "dovecot", {ADDRESS: PASSWORD}) as server,
    ):
        yield server


def _files() -> list[str]:
    return [path for path in _manifest() if not path.endswith("_reply_text")]


async def _imap(server: Dovecot) -> aioimaplib.IMAP4:
    client = aioimaplib.IMAP4(host="127.0.0.1", port=server.port, timeout=60)
    await client.wait_hello_from_server()
    assert (await client.login(ADDRESS, PASSWORD)).result == "OK"
    return client


async def _unseen(server: Dovecot) -> int:
    return await p.imap_unseen(server.port, ADDRESS, PASSWORD)


async def test_corpus_through_imap(
    client: httpx.AsyncClient, dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    files = _files()
    imap = await _imap(dovecot)
    for path in files:
        response = await imap.append((CORPUS / path).read_bytes(), mailbox="INBOX")
        assert response.result == "OK", (path, response)
    await imap.logout()
    assert await _unseen(dovecot) == len(files)

    caplog.set_level(logging.WARNING)
    headers = await admin_key(client)
    inbox = await create_inbox(client, headers, email_config(dovecot, batch_size=1000))
    pool = engine().pool
    assert pool is not None

    async def all_in() -> bool:
        state = await pool.fetchval("SELECT state FROM channel_state WHERE inbox = $1", inbox["id"])
        return bool(state) and await _unseen(dovecot) == 0

    # The in-process worker's poll job fetches, commits, then marks; a reply to a message of the
    # same batch waits for the next poll (every 5 s), so this takes a few polls.
    assert await eventually(all_in, timeout=240, interval=1)

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors][:10]

    rows = await pool.fetch(
        "SELECT id, provider_message_id FROM message WHERE inbox = $1 AND direction = 'in'",
        inbox["id"],
    )
    messages: dict[str, int] = {r["provider_message_id"]: r["id"] for r in rows}
    kept = await pool.fetch("SELECT body, error FROM raw_payload WHERE inbox = $1", inbox["id"])
    diverted = {parse(bytes(r["body"])).message_id for r in kept}
    assert all("automatic mail" in r["error"] for r in kept), [r["error"] for r in kept]
    assert len(diverted) == len(kept)  # no file kept twice

    unaccounted: list[str] = []
    missing: dict[str, int] = {}
    checked: set[str] = set()
    for path in files:
        raw = (CORPUS / path).read_bytes()
        message_id = parse(raw).message_id
        if message_id in diverted:
            continue
        if message_id not in messages:
            unaccounted.append(path)
            continue
        if message_id in checked:
            continue  # a variant of a file already stored under the same Message-ID
        checked.add(message_id)
        stored: set[Any] = {
            r["sha256"]
            for r in await pool.fetch(
                "SELECT sha256 FROM attachment WHERE message = $1", messages[message_id]
            )
        }
        # IMAP carries messages with CRLF line ends (RFC 3501); Dovecot hands an LF-only file
        # back converted, so a text attachment's bytes are the converted ones.
        crlf = re.sub(rb"\r?\n", b"\r\n", raw)
        lost = (_expected_attachment_digests(raw) - stored) and (
            _expected_attachment_digests(crlf) - stored
        )
        if lost:
            missing[path] = len(lost)
    assert not unaccounted, unaccounted
    assert not missing, missing
    # The split is the parser test's (tests/email/test_corpus.py): mostly messages, the
    # corpus' bounces, auto-replies and list mail kept aside.
    assert len(messages) == len(checked) > 130 and 20 < len(diverted) < 40
