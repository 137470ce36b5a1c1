"""Redis away in the scale-out deployment (`hub serve` and `hub worker` as separate processes):
inbound is still accepted and committed, replies written meanwhile are kept `pending`, and once
Redis is back (empty: its queue is lost too) the sweep sends each of them exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.conftest import eventually, serving
from tests.fakes.callback import CallbackReceiver
from tests.hostile import processes as p

SECRET = "redis-outage-callback-secret"


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[CallbackReceiver, str]]:
    fake = CallbackReceiver(secret=SECRET)
    async with serving(fake.app()) as url:
        yield fake, f"{url}/callback"


async def test_redis_away_loses_and_doubles_nothing(
    clean_db: str, receiver: tuple[CallbackReceiver, str]
) -> None:
    fake, callback_url = receiver
    workdir = p.temp_dir("hub-redis-outage-")
    redis = p.RedisServer(workdir)
    await redis.start()
    env = p.hub_env(clean_db, redis.url, workdir)
    web, url = p.serve(env, workdir)
    worker = p.worker(env, workdir)
    try:
        await p.wait_healthy(url, web)
        await p.wait_worker(worker)
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            headers = await p.admin_headers(http)
            inbox = await p.api_inbox(
                http, headers, "outage", callback_url=callback_url, callback_secret=SECRET
            )

            async def inbound(external_id: str) -> int:
                sent = await http.post(
                    f"/api/v1/inboxes/{inbox['id']}/messages",
                    json={
                        "external_id": external_id,
                        "sender": {"kind": "phone", "address": "+4520123456", "name": "C"},
                        "text": external_id,
                    },
                    headers=headers,
                )
                return sent.status_code

            async def reply(text: str) -> httpx.Response:
                return await http.post(
                    f"/api/v1/conversations/{conversation}/messages",
                    json={"text": text},
                    headers=headers,
                )

            assert await inbound("before") == 201
            conversation = await p.conversation_of(http, headers, inbox["id"])
            first = await reply("reply before")
            assert first.status_code == 201, first.text
            assert await eventually(lambda: _delivered(fake, {first.json()["id"]}), timeout=60)

            redis.kill()
            assert (await http.get("/ready")).status_code == 503
            during = [await inbound(f"during-{n}") for n in range(5)]
            assert during == [201] * 5  # accepted and committed without the queue
            replies = [await reply(f"reply during {n}") for n in range(3)]
            assert [r.status_code for r in replies] == [201] * 3, [r.text for r in replies]
            assert {r.json()["status"] for r in replies} == {"pending"}
            waiting = {int(r.json()["id"]) for r in replies}

            await redis.start()  # empty: every job queued before the outage is gone as well
            assert await eventually(lambda: _ready(http), timeout=60)
            assert await inbound("after") == 201
            # The sweep finds the pending replies (30 s old) on its next 15-second tick.
            assert await eventually(
                lambda: _delivered(fake, waiting | {first.json()["id"]}), timeout=150
            ), worker.output()[-3000:]

        assert web.alive() and worker.alive(), worker.output()[-3000:]
        conn = await asyncpg.connect(clean_db)
        try:
            stored = await conn.fetch(
                "SELECT provider_message_id FROM message WHERE direction = 'in' ORDER BY id"
            )
            statuses = await conn.fetch(
                "SELECT status, count(*) AS n FROM message WHERE direction = 'out'"
                " AND kind = 'message' GROUP BY status"
            )
        finally:
            await conn.close()
        expected = ["before", *(f"during-{n}" for n in range(5)), "after"]
        assert [r["provider_message_id"] for r in stored] == expected
        assert {r["status"]: r["n"] for r in statuses} == {"sent": 4}
        # Exactly once at the receiver: one request per reply, not merely one after its dedup.
        ids = [r["message"]["id"] for r in fake.received]
        assert sorted(ids) == sorted(waiting | {first.json()["id"]})
        assert fake.bad_signatures == 0
    finally:
        web.stop()
        worker.stop()
        redis.kill()
        p.remove_dir(workdir)


async def _delivered(fake: CallbackReceiver, ids: set[int]) -> bool:
    return all(fake.deliveries(i) == 1 for i in ids)


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/ready")).status_code == 200
