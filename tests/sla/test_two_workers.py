"""Two real `hub worker` processes on Redis sweep the same overdue conversations at once: every
warning and every breach is emitted exactly once (the row claim is FOR UPDATE SKIP LOCKED and
the state is written in the claiming transaction)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx

from hub.db.engine import connection_pool
from hub.jobs.registry import enqueue, make_queue
from hub.sla import tracking
from hub.system.config import Settings
from tests.conftest import REDIS_URL, admin_key, eventually, inbound, make_api_inbox, unique
from tests.sla.test_lifecycle import _policy
from tests.test_cli import Proc, _env

CONVERSATIONS = 120


async def test_two_worker_processes_emit_each_alert_once(
    quiet_client: httpx.AsyncClient, settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    client = quiet_client  # no in-process worker: only the two processes sweep
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    policy = await _policy(client, headers, first_response=60, resolution=120)
    ids = []
    for n in range(CONVERSATIONS):
        sent = await inbound(
            client, headers, inbox["id"], unique("m"), text="help", sender=f"+452000{n:04d}"
        )
        assert sent.status_code == 201, sent.text
        ids.append(sent.json()["conversation_id"])
    pool = connection_pool()
    # An always-open calendar. Half are three hours old: both targets breached (a breach is not
    # warned about first). Half are 100 minutes old: the first response (60 min) breached, the
    # resolution (120 min, warned at 80 %) at risk.
    old, at_risk = ids[::2], ids[1::2]
    await pool.execute(
        "UPDATE conversation SET created_at = now() - interval '3 hours' WHERE id = ANY($1)", old
    )
    await pool.execute(
        "UPDATE conversation SET created_at = now() - interval '100 minutes' WHERE id = ANY($1)",
        at_risk,
    )
    for cid in ids:
        await tracking.set_policy(cid, policy)
    due = await pool.fetchval(
        "SELECT count(*) FROM conversation WHERE sla_check_at <= now() AND id = ANY($1)", ids
    )
    assert due == CONVERSATIONS

    env = _env(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=REDIS_URL,
        HUB_DATA_DIR=str(tmp_path / "w"),
        HUB_SECRET_KEY=settings.secret_key,
        # Four jobs at a time each: the sixteen sweeps queued at once cannot all go to one.
        HUB_WORKER_CONCURRENCY="4",
    )
    workers = [Proc(["worker"], env, tmp_path / f"worker{n}.log") for n in (1, 2)]
    queue = make_queue(REDIS_URL)
    await queue.connect()
    try:

        async def both_started() -> bool:
            return all("Worker starting" in w.output() for w in workers)

        await eventually(both_started, timeout=60, interval=0.2)
        # Sweeps queued at once land on both processes (and each worker's cron adds its ticks).
        for n in range(16):
            await enqueue(queue, "sla_sweep", key=f"test-sweep-{n}")

        async def alerted() -> list[tuple[int, str, str]] | None:
            rows = await pool.fetch(
                "SELECT conversation, type, data->>'target' AS target FROM event"
                " WHERE type IN ('sla.warning', 'sla.breached') AND conversation = ANY($1)",
                ids,
            )
            found = [(r["conversation"], r["type"], r["target"]) for r in rows]
            return found if len(found) >= 2 * CONVERSATIONS else None

        found = await eventually(alerted, timeout=90, interval=0.5)
        await asyncio.sleep(2)  # any sweep still running has its chance to emit a duplicate
        found = await alerted() or found
        counts = Counter(found)
        assert set(counts.values()) == {1}, [k for k, v in counts.items() if v > 1][:5]
        expected = {(c, "sla.breached", t) for c in old for t in ("first_response", "resolution")}
        expected |= {(c, "sla.breached", "first_response") for c in at_risk}
        expected |= {(c, "sla.warning", "resolution") for c in at_risk}
        assert set(counts) == expected
        ran = [w.output().count("job sla_sweep complete") for w in workers]
        assert all(ran), f"each process swept: {ran}"
    finally:
        await queue.disconnect()
        for worker in workers:
            assert worker.stop(), worker.output()[-2000:]
