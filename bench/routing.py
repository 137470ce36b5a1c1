#!/usr/bin/env python
"""Assignment throughput: 50 agents, 10,000 waiting conversations, one team per policy.

    python bench/routing.py [--agents 50] [--waiting 10000] [--capacity 400]

A fresh database (hub_bench_routing) with one team of `--agents` available agents and
`--waiting` unassigned open conversations; `hub.routing.assign.assign_waiting` runs round after
round until the queue is empty or everybody is at capacity. Reports assignments per second and
the time per round (each round commits up to 500 assignments with their history rows, timeline
lines and events), for round robin and least loaded. Target (issue 14): >= 500 assignments/s.

Then the latency: the hub's services with an in-process worker (PostgreSQL queue, or Redis with
`--redis`), new conversations created at `--rate` per second for `--seconds`, each with its
`conversation.created` event, and the time from that event's commit to the assignment's history
row, both timestamps taken by PostgreSQL. Target: p99 < 200 ms (goal 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import percentile, recreate_database  # noqa: E402

DATABASE = "hub_bench_routing"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--capacity", type=int, default=400)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--redis", default="", help="a Redis URL for the queue and the fan-out")
    args = parser.parse_args()
    dsn = await recreate_database(DATABASE)
    os.environ["HUB_RESOLVED_DSN"] = dsn
    from hub.db import engine as db_engine
    from hub.db.migrate import migrate
    from hub.realtime import events
    from hub.routing import assign

    await migrate(dsn)

    async def no_publish(_: object) -> None:
        return None

    events.publish = no_publish  # type: ignore[assignment]  # nobody listens in this process
    db = await db_engine.start(dsn, min_size=1, max_size=2)
    pool = db.pool
    try:
        for policy in ("round_robin", "least_loaded"):
            async with pool.acquire() as conn:
                await conn.execute(
                    "TRUNCATE conversation_assignment, message, event, conversation, contact,"
                    " team_member, inbox, team, agent RESTART IDENTITY CASCADE"
                )
                team = await conn.fetchval(
                    "INSERT INTO team (name, assignment, max_open) VALUES ('bench', $1, $2)"
                    " RETURNING id",
                    policy,
                    args.capacity,
                )
                await conn.execute(
                    "INSERT INTO agent (email, name, password_hash, role, active, availability,"
                    " created_at) SELECT 'a' || n || '@bench', 'Agent ' || n, '', 'agent', true,"
                    " 'available', now() FROM generate_series(1, $1) n",
                    args.agents,
                )
                await conn.execute(
                    "INSERT INTO team_member (team, agent) SELECT $1, id FROM agent", team
                )
                inbox = await conn.fetchval(
                    "INSERT INTO inbox (name, channel, config_encrypted, public_token, team, active,"
                    " created_at) VALUES ('bench', 'api', '', 'bench', $1, true, now()) RETURNING id",
                    team,
                )
                await conn.execute(
                    "WITH c AS (INSERT INTO contact (name, attributes, created_at) SELECT"
                    " 'C' || n, '{}'::jsonb, now() FROM generate_series(1, $2) n RETURNING id)"
                    " INSERT INTO conversation (inbox, contact, status, priority, subject, team,"
                    " unread_count, created_at, updated_at, last_message_at) SELECT $1, id, 'open',"
                    " 'none', '', $3, 1, now(), now(), now() FROM c",
                    inbox,
                    args.waiting,
                    team,
                )
                await conn.execute("VACUUM ANALYZE conversation")
            rounds: list[float] = []
            total = 0
            started = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                done = await assign.assign_waiting(team)
                if not done:
                    break
                rounds.append((time.perf_counter() - t0) * 1000)
                total += len(done)
            seconds = time.perf_counter() - started
            ordered = sorted(rounds)
            print(
                f"{policy}: {total:,} assignments in {seconds:.1f} s = {total / seconds:,.0f}/s;"
                f" {len(rounds)} rounds, p50 {percentile(ordered, 50):.0f} ms,"
                f" max {ordered[-1]:.0f} ms per round of up to 500"
            )
    finally:
        await db_engine.stop()
    await latency(dsn, args)


async def latency(dsn: str, args: argparse.Namespace) -> None:
    import tempfile

    import hub.domains  # noqa: F401  (the worker needs every job and subscriber)
    from hub.db.engine import connection_pool
    from hub.realtime import events
    from hub.system import services
    from hub.system.config import Settings

    settings = Settings(
        database_url=dsn,
        redis_url=args.redis or None,
        data_dir=Path(tempfile.mkdtemp()),
        secret_key="bench-" + "x" * 40,
        log_level="WARNING",
    )
    running = await services.start(settings, run_worker=True)
    assert running is not None
    pool = connection_pool()
    try:
        async with pool.acquire() as conn:
            await conn.execute(
                "TRUNCATE conversation_assignment, message, event, conversation, contact"
                " RESTART IDENTITY CASCADE"
            )
            await conn.execute("UPDATE team SET max_open = 100000")
            inbox = await conn.fetchval("SELECT id FROM inbox LIMIT 1")
            await conn.execute("UPDATE event_cursor SET last_id = 0")
        interval = 1 / args.rate
        loop = asyncio.get_running_loop()
        start = loop.time()
        total = args.rate * args.seconds
        for n in range(total):
            await asyncio.sleep(max(0.0, start + n * interval - loop.time()))
            async with pool.acquire() as conn, conn.transaction():
                cid = await conn.fetchval(
                    "WITH c AS (INSERT INTO contact (name, attributes, created_at)"
                    " VALUES ('C', '{}'::jsonb, now()) RETURNING id)"
                    " INSERT INTO conversation (inbox, contact, status, priority, subject, team,"
                    " unread_count, created_at, updated_at, last_message_at) SELECT $1, c.id, 'open',"
                    " 'none', '', (SELECT team FROM inbox WHERE id = $1), 1, now(), now(), now()"
                    " FROM c RETURNING id",
                    inbox,
                )
                # A statement of its own: the JSON function must see the new row.
                last = await conn.fetchval(
                    "SELECT hub_emit_last(jsonb_build_array(jsonb_build_object('type',"
                    " 'conversation.created', 'conversation', $1::int, 'inbox', $2::int, 'data',"
                    " hub_conversation_json($1))), 'system', NULL)",
                    cid,
                    inbox,
                )
            events.notify_soon(last)
        await asyncio.sleep(3)
        rows = await pool.fetch(
            "SELECT extract(epoch FROM a.created_at - e.created_at) * 1000 AS ms"
            " FROM event e JOIN conversation_assignment a ON a.conversation = e.conversation"
            " WHERE e.type = 'conversation.created' ORDER BY 1"
        )
        times = [float(r["ms"]) for r in rows]
        print(
            f"latency at {args.rate}/s for {args.seconds} s ({'Redis' if args.redis else 'PostgreSQL'}"
            f" queue): {len(times):,} of {total:,} assigned; p50 {percentile(times, 50):.0f} ms,"
            f" p99 {percentile(times, 99):.0f} ms, max {times[-1]:.0f} ms"
        )
    finally:
        await services.stop()


if __name__ == "__main__":
    asyncio.run(main())
