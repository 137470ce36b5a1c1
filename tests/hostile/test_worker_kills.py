"""A `hub worker` killed with SIGKILL in the middle of pulling work in, then a new one started:
an IMAP poll (real Dovecot) and a Splynx sync (the contract fake). Each resumes where the
committed state says, and nothing is stored twice or left out."""

from __future__ import annotations

import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aioimaplib
import asyncpg
import httpx
import pytest

from tests.conftest import eventually, serving
from tests.crm.conftest import API_KEY, API_SECRET, source_body
from tests.email.conftest import ADDRESS, PASSWORD, email_config, mail
from tests.email.servers import Dovecot, run_dovecot
from tests.fakes.splynx import FakeSplynx
from tests.hostile import processes as p

MAILS = 400


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with (
        tempfile.TemporaryDirectory(prefix="hub-dovecot-kill-") as base,
        run_dovecot(Path(base) / "dovecot", {ADDRESS: PASSWORD}) as server,
    ):
        yield server


@pytest.fixture
async def db(clean_db: str) -> AsyncIterator[asyncpg.Connection]:
    async with p.database(clean_db) as conn:
        yield conn


async def _count(db: asyncpg.Connection, query: str, *args: object) -> int:
    return int(await db.fetchval(query, *args))


async def _unseen(server: Dovecot) -> int:
    return await p.imap_unseen(server.port, ADDRESS, PASSWORD)


async def test_worker_killed_mid_imap_poll(
    clean_db: str, db: asyncpg.Connection, dovecot: Dovecot
) -> None:
    client = aioimaplib.IMAP4(host="127.0.0.1", port=dovecot.port)
    await client.wait_hello_from_server()
    await client.login(ADDRESS, PASSWORD)
    for n in range(MAILS):
        raw = mail(
            message_id=f"kill-{n}@customer.example",
            sender=f"Customer {n % 37} <c{n % 37}@customer.example>",
            subject=f"Question {n}",
        )
        assert (await client.append(raw, mailbox="INBOX")).result == "OK"
    await client.logout()
    assert await _unseen(dovecot) == MAILS

    cluster = p.Cluster(clean_db, "hub-kill-imap-")
    try:
        await cluster.start(workers=0)
        async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
            headers = await p.admin_headers(http)
            made = await http.post(
                "/api/v1/inboxes",
                json={
                    "name": "mail",
                    "channel": "email",
                    # One poll takes every message, so the kill lands inside it.
                    "config": email_config(dovecot, batch_size=1000),
                },
                headers=headers,
            )
            assert made.status_code == 201, made.text
            inbox = made.json()["id"]
        await cluster.add_worker()
        stored = "SELECT count(*) FROM message WHERE inbox = $1 AND direction = 'in'"

        async def partway() -> bool:
            return await _count(db, stored, inbox) >= 20

        assert await eventually(partway, timeout=120, interval=0.02), cluster.logs()
        cluster.workers[0].kill()
        before = await _count(db, stored, inbox)
        assert before < MAILS, "the poll finished before the kill: nothing was interrupted"
        # The state is saved only after the commit: it still points before this poll.
        assert await _count(db, "SELECT count(*) FROM channel_state WHERE inbox = $1", inbox) == 0

        await cluster.add_worker()

        async def complete() -> bool:
            return await _count(db, stored, inbox) >= MAILS and await _unseen(dovecot) == 0

        assert await eventually(complete, timeout=240, interval=1), cluster.logs()
        assert await _count(db, stored, inbox) == MAILS
        assert (
            await _count(
                db,
                "SELECT count(DISTINCT provider_message_id) FROM message WHERE inbox = $1",
                inbox,
            )
            == MAILS
        )
        # Re-fetched messages threaded as the first time: one conversation per mail (new subjects).
        assert (
            await _count(db, "SELECT count(*) FROM conversation WHERE inbox = $1", inbox) == MAILS
        )
        assert await _count(db, "SELECT count(*) FROM raw_payload WHERE inbox = $1", inbox) == 0
    finally:
        cluster.close()


@pytest.fixture
async def splynx() -> AsyncIterator[FakeSplynx]:
    fake = FakeSplynx(API_KEY, API_SECRET, clock=time.time)
    async with serving(fake.app()) as url:
        fake.base_url = url
        yield fake


async def test_worker_killed_mid_crm_sync(
    clean_db: str, db: asyncpg.Connection, splynx: FakeSplynx
) -> None:
    splynx.seed(60)
    splynx.slow_next(0.3, n=50, path="admin/finance/invoices")
    cluster = p.Cluster(clean_db, "hub-kill-crm-")
    try:
        await cluster.start(workers=1)
        async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
            headers = await p.admin_headers(http)
            source = await http.post(
                "/api/v1/crm/sources", json=source_body(splynx), headers=headers
            )
            assert source.status_code == 201, source.text
            source_id = source.json()["id"]
            started = await http.post(
                "/api/v1/crm/sync", json={"source_id": source_id, "full": True}, headers=headers
            )
            assert started.status_code == 202, started.text
            first_run = started.json()["id"]

            async def into_invoices() -> bool:
                return await _count(db, "SELECT count(*) FROM crm_invoice") >= 50

            assert await eventually(into_invoices, timeout=120, interval=0.05), cluster.logs()
            cluster.workers[0].kill()
            before = await _count(db, "SELECT count(*) FROM crm_invoice")
            assert 0 < before < 120
            run = (await http.get(f"/api/v1/crm/sync-runs/{first_run}", headers=headers)).json()
            assert run["status"] == "running"  # nobody recorded the death
            customers_served = splynx.served["customer"]
            splynx._slow.clear()

            await cluster.add_worker()
            again = await http.post(
                "/api/v1/crm/sync", json={"source_id": source_id}, headers=headers
            )
            assert again.status_code == 202, again.text

            async def finished() -> dict[str, object] | None:
                got = (
                    await http.get(f"/api/v1/crm/sync-runs/{again.json()['id']}", headers=headers)
                ).json()
                return got if got["status"] in ("succeeded", "failed") else None

            done = await eventually(finished, timeout=120, interval=0.5)
            assert done["status"] == "succeeded", done
            assert done["resumed_from"] == first_run
            old = (await http.get(f"/api/v1/crm/sync-runs/{first_run}", headers=headers)).json()
            assert old["status"] == "failed"
        assert splynx.served["customer"] == customers_served  # the customers were not re-read
        seeded = (
            ("crm_customer", 60),
            ("crm_service", 75),
            ("crm_invoice", 120),
            ("crm_ticket", 20),
        )
        for table, n in seeded:
            assert await _count(db, f"SELECT count(*) FROM {table}") == n
            assert await _count(db, f"SELECT count(DISTINCT external_id) FROM {table}") == n
    finally:
        cluster.close()
