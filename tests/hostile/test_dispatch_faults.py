"""Outbound under faults, with real `hub serve` and `hub worker` processes on a private Redis:

- a worker killed (SIGKILL) while the provider holds its request: a new worker sends the reply
  again after the sweep, with the same idempotency key, so the provider keeps it once;
- a provider that hangs: its sends time out and are retried, and meanwhile another inbox's
  replies go out (a stalled inbox never takes every job slot).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.conftest import eventually, serving
from tests.fakes.callback import CallbackReceiver
from tests.hostile import processes as p

SECRET = "dispatch-faults-secret"


@pytest.fixture
async def receivers() -> AsyncIterator[list[tuple[CallbackReceiver, str]]]:
    first, second = CallbackReceiver(secret=SECRET), CallbackReceiver(secret=SECRET)
    async with serving(first.app()) as one, serving(second.app()) as two:
        try:
            yield [(first, f"{one}/callback"), (second, f"{two}/callback")]
        finally:
            # A held request would keep its server from shutting down after a failed test.
            for fake in (first, second):
                if fake.hold is not None:
                    fake.hold.set()


@pytest.fixture
async def db(clean_db: str) -> AsyncIterator[asyncpg.Connection]:
    async with p.database(clean_db) as conn:
        yield conn


async def _statuses(db: asyncpg.Connection, ids: list[int]) -> dict[int, str]:
    rows = await db.fetch("SELECT id, status FROM message WHERE id = ANY($1)", ids)
    return {r["id"]: r["status"] for r in rows}


async def test_worker_killed_mid_send_sends_once(
    clean_db: str, db: asyncpg.Connection, receivers: list[tuple[CallbackReceiver, str]]
) -> None:
    fake, callback_url = receivers[0]
    fake.hold = asyncio.Event()
    cluster = p.Cluster(clean_db, "hub-kill-dispatch-")
    try:
        await cluster.start(workers=1)
        async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
            headers = await p.admin_headers(http)
            inbox = await p.api_inbox(
                http, headers, "kill", callback_url=callback_url, callback_secret=SECRET
            )
            conversation = await p.customer_writes(http, headers, inbox["id"], "hello")
            message = await p.reply(http, headers, conversation, "the reply")

            async def arrived() -> bool:
                return len(fake.received) == 1

            assert await eventually(arrived, timeout=60), cluster.logs()
            cluster.workers[0].kill()  # the provider has the request; our worker never hears back
            # The provider processed it after all (the answer was lost with the worker).
            fake.hold.set()
            assert await eventually(lambda: _stored(fake, message), timeout=30)
            assert (await _statuses(db, [message]))[message] == "sending"

            await cluster.add_worker()

            # The sweep gives the abandoned claim back after dispatch.STUCK_SENDING (120 s).
            async def sent() -> bool:
                return (await _statuses(db, [message]))[message] == "sent"

            assert await eventually(sent, timeout=240, interval=1), cluster.logs()
        # Sent twice on the wire, kept once: the second request carried the same key.
        assert [r["message"]["id"] for r in fake.received] == [message, message]
        assert fake.deliveries(message) == 1
        attempts = await db.fetchval("SELECT attempts FROM message WHERE id = $1", message)
        assert attempts == 2
    finally:
        cluster.close()


async def _stored(fake: CallbackReceiver, message: int) -> bool:
    return fake.deliveries(message) == 1


async def test_hanging_provider_does_not_block_other_inboxes(
    clean_db: str, db: asyncpg.Connection, receivers: list[tuple[CallbackReceiver, str]]
) -> None:
    (slow, slow_url), (fast, fast_url) = receivers
    slow.hold = asyncio.Event()  # every request to the slow provider hangs until released
    # One worker with 4 job slots; the slow inbox may hold at most 2 of them.
    cluster = p.Cluster(
        clean_db,
        "hub-slow-provider-",
        HUB_WORKER_CONCURRENCY="4",
        HUB_OUTBOX_INBOX_CONCURRENCY="2",
    )
    try:
        await cluster.start(workers=1)
        async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
            headers = await p.admin_headers(http)
            stalled_inbox = await p.api_inbox(
                http,
                headers,
                "stalled",
                callback_url=slow_url,
                callback_secret=SECRET,
                timeout_seconds=40,
            )
            other_inbox = await p.api_inbox(
                http, headers, "other", callback_url=fast_url, callback_secret=SECRET
            )
            stalled_conv = await p.customer_writes(http, headers, stalled_inbox["id"], "s-1")
            other_conv = await p.customer_writes(http, headers, other_inbox["id"], "o-1")
            # More stalled replies than the worker has slots.
            stalled = [await p.reply(http, headers, stalled_conv, f"stalled {n}") for n in range(8)]

            async def hanging() -> bool:
                return len(slow.received) == 2

            assert await eventually(hanging, timeout=60), cluster.logs()
            others = [await p.reply(http, headers, other_conv, f"other {n}") for n in range(5)]

            async def others_out() -> bool:
                return all(fast.deliveries(m) == 1 for m in others)

            assert await eventually(others_out, timeout=35), cluster.logs()
            # ...while the stalled inbox's first sends are still hanging (their 40 s timeout has
            # not fired) and no more than its two were let through.
            during = await _statuses(db, stalled)
            assert sorted(during.values()).count("sending") == 2, during
            assert len(slow.received) == 2 and not slow.stored

            # The hung sends time out and are retried; nothing is answered until released.
            async def timed_out() -> bool:
                errors = await db.fetchval(
                    "SELECT count(*) FROM message WHERE id = ANY($1) AND error LIKE '%timed out%'",
                    stalled,
                )
                return int(errors) >= 2

            assert await eventually(timed_out, timeout=120, interval=1), cluster.logs()
            slow.hold.set()

            async def all_sent() -> bool:
                done = await _statuses(db, stalled + others)
                return set(done.values()) == {"sent"}

            assert await eventually(all_sent, timeout=180, interval=1), cluster.logs()
        # Each reply kept exactly once by its provider (a timed-out request may have been
        # repeated on the wire, with its idempotency key), and nothing crossed inboxes.
        assert {m: slow.deliveries(m) for m in stalled} == dict.fromkeys(stalled, 1)
        assert {m: fast.deliveries(m) for m in others} == dict.fromkeys(others, 1)
        assert len(fast.received) == len(others)
        assert set(slow.stored.keys()) == {f"hub-message-{m}" for m in stalled}
    finally:
        cluster.close()
