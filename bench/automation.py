#!/usr/bin/env python
"""Automation's cost: ingest with 200 enabled rules against none, and the time rules' cron tick.

    python bench/automation.py [--duration 15] [--rounds 3] [--rules 200] [--conversations 1000000]
                               [--shape text|facts] [--skip-ingest] [--skip-tick]

1. INGEST (bench/ingest.py's machinery: the same `hub serve`, wrk script, senders and durability
   check). One hub on a fresh database hub_bench_automation with `--rules` enabled event rules
   (`message.created`, each with a condition tree that does not match: the cost of evaluating,
   not of acting; `--shape text` starts with a word, `--shape facts` needs the conversation's
   facts for every event, the worst case). The measured runs alternate "rules off" (every rule
   disabled) and "rules on" in the same run, `--rounds` each; reported: the median throughput of
   each, their ratio (bar: >= 0.8), and how long the `automation` subscriber took after each run to
   catch up with the events (its backlog: rules run after ingest commits, never inside it).
2. TICK: `--conversations` conversations written by SQL (one contact, statuses spread: a fifth
   resolved over the last ten days, a tenth pending, the rest open, half of those waiting for an
   agent), one time rule per trigger kind. Reported per kind: the due-list query (the indexed
   part of a tick, 500 rows at most) p50/p95 over 30 runs; then one full tick of "resolved for
   3 days → close" acting on its first 500 conversations; then the steady-state tick once those
   are closed and the rest claimed.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

# ruff: noqa: E402  (sys.path is set before the other imports)
import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from typing import Any

import asyncpg

import bench.ingest as ingest
from bench.common import (
    percentile,
    recreate_database,
    setup_hub,
    start_hub,
    stop_server,
)

DATABASE = "hub_bench_automation"
ingest.DATABASE = DATABASE  # run_wrk's CPU accounting reads the database's backends by name


def rule_json(n: int, shape: str = "text") -> dict[str, Any]:
    """`text`: the tree starts with a word the bench's messages never contain (decided from the
    event alone); `facts`: tags and a CRM fact, so every event needs the conversation's facts
    (one query per batch) and every rule is evaluated on them: the worst case."""
    if shape == "facts":
        conditions: dict[str, Any] = {
            "all": [
                {"field": "tags", "value": [f"vip-{n}"]},
                {"field": "crm.overdue_invoice_count", "op": "gte", "value": 1},
            ]
        }
    else:
        conditions = {
            "all": [
                {"field": "message.text", "op": "contains", "value": f"order-{n}-cancel"},
                {
                    "any": [
                        {"field": "priority", "value": ["high"]},
                        {"field": "tags", "value": ["vip"]},
                    ]
                },
            ]
        }
    return {
        "name": f"bench rule {n}",
        "trigger": {"type": "message.created", "direction": "inbound"},
        "conditions": conditions,
        "actions": [{"type": "set_priority", "priority": "urgent"}],
    }


async def set_rules(dsn: str, enabled: bool) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE automation_rule SET enabled = $1, updated_at = now()", enabled)
    finally:
        await conn.close()


async def catch_up(dsn: str, timeout: float = 600) -> float:
    """Seconds until the automation subscriber's cursor reaches the newest event."""
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        newest = await conn.fetchval("SELECT coalesce(max(id), 0) FROM event")
        while time.perf_counter() - started < timeout:
            cursor = await conn.fetchval(
                "SELECT last_id FROM event_cursor WHERE subscriber = 'automation'"
            )
            if cursor is not None and cursor >= newest:
                break
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    return time.perf_counter() - started


def ingest_part(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    import httpx

    wrk = ingest.ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="hub-bench-automation-"))
    dsn = asyncio.run(recreate_database(DATABASE))
    server = start_hub(dsn, work / "data", work)
    try:
        setup = setup_hub(server.url)
        headers = {"authorization": f"Bearer {setup.api_key}"}
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for n in range(args.rules):
                r = http.post(
                    "/api/v1/automation-rules", json=rule_json(n, args.shape), headers=headers
                )
                r.raise_for_status()
        path = f"/api/v1/inboxes/{setup.inbox_id}/messages"
        args._server_pid = server.pid
        ingest.run_wrk(wrk, server.url, path, setup.api_key, "w", args.warmup, args, work)
        asyncio.run(catch_up(dsn))
        results: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
        for k in range(args.rounds):
            for mode in ("off", "on"):
                asyncio.run(set_rules(dsn, mode == "on"))
                asyncio.run(ingest.vacuum())
                r = ingest.run_wrk(
                    wrk, server.url, path, setup.api_key, f"{mode}{k}x", args.duration, args, work
                )
                lag = asyncio.run(catch_up(dsn))
                check = asyncio.run(
                    ingest.verify(
                        "SELECT provider_message_id FROM message WHERE inbox = $1"
                        " AND provider_message_id LIKE $2",
                        r,
                        setup.inbox_id,
                        f"{mode}{k}x-%",
                    )
                )
                results[mode].append(
                    {
                        "ok_rps": round(r["ok_rps"], 1),
                        "catch_up_s": round(lag, 2),
                        "durable": check["ok"],
                    }
                )
                print(f"rules {mode:>3} round {k}: {r['ok_rps']:.0f} msg/s, automation caught up {lag:.2f} s after, durable {check['ok']}", flush=True)  # fmt: skip
        off = statistics.median(x["ok_rps"] for x in results["off"])
        on = statistics.median(x["ok_rps"] for x in results["on"])
        ratios = [
            b["ok_rps"] / a["ok_rps"] for a, b in zip(results["off"], results["on"], strict=True)
        ]
        figures["ingest"] = {
            "rules": args.rules,
            "shape": args.shape,
            "duration_s": args.duration,
            "rounds": results,
            "median_off_rps": off,
            "median_on_rps": on,
            "median_round_ratio": round(statistics.median(ratios), 3),
        }
        print(f"ingest: {off:.0f} msg/s without rules, {on:.0f} with {args.rules}; median round ratio {statistics.median(ratios):.2f} (bar 0.8)", flush=True)  # fmt: skip
    finally:
        stop_server(server)


async def tick_part(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    dsn = await recreate_database(DATABASE)
    os.environ["HUB_RESOLVED_DSN"] = dsn
    from hub.automation import rules, timed
    from hub.db import engine as db_engine
    from hub.db.migrate import migrate
    from hub.realtime import events

    await migrate(dsn)

    async def no_publish(_: object) -> None:
        return None

    events.publish = no_publish  # type: ignore[assignment]  # nobody listens in this process
    db = await db_engine.start(dsn, min_size=1, max_size=4)
    pool = db.pool
    n = args.conversations
    t0 = time.perf_counter()
    async with pool.acquire() as conn:
        inbox = await conn.fetchval(
            "INSERT INTO inbox (name, channel, config_encrypted, public_token, active, created_at)"
            " VALUES ('bench', 'api', '', 'bench', true, now()) RETURNING id"
        )
        contact = await conn.fetchval(
            "INSERT INTO contact (name, attributes, created_at) VALUES ('C', '{}', now()) RETURNING id"
        )
        # Times spread over ten days; statuses by n % 10: 0-1 resolved, 2 pending, 3-9 open
        # (odd ones waiting for an agent, even ones waiting for the customer).
        await conn.execute(
            "INSERT INTO conversation (inbox, contact, status, priority, subject, unread_count,"
            " created_at, updated_at, last_message_at, waiting_since, resolved_at, status_since)"
            " SELECT $1, $2, s.status, 'none', '', 0, s.at, s.at, s.at,"
            " CASE WHEN s.status = 'open' AND g % 2 = 1 THEN s.at END,"
            " CASE WHEN s.status = 'resolved' THEN s.at END, s.at"
            " FROM generate_series(1, $3) g CROSS JOIN LATERAL (SELECT CASE WHEN g % 10 < 2"
            " THEN 'resolved' WHEN g % 10 = 2 THEN 'pending' ELSE 'open' END AS status,"
            " now() - (g % 14400) * interval '1 minute' AS at) s",
            inbox,
            contact,
            n,
        )
        await conn.execute("VACUUM ANALYZE conversation")
    seeded = time.perf_counter() - t0
    print(f"seeded {n:,} conversations in {seeded:.0f} s", flush=True)
    kinds = {
        "time.resolved": {"type": "time.resolved", "minutes": 3 * 24 * 60},
        "time.pending": {"type": "time.pending", "minutes": 24 * 60},
        "time.no_agent_reply": {"type": "time.no_agent_reply", "minutes": 4 * 60},
        "time.no_customer_message": {"type": "time.no_customer_message", "minutes": 48 * 60},
    }
    created = {}
    for kind, trigger in kinds.items():
        action = {"type": "set_status", "status": "closed"} if kind == "time.resolved" else {"type": "add_tags", "tags": ["chase"]}  # fmt: skip
        created[kind] = await rules.save_rule(
            {"name": kind, "trigger": trigger, "actions": [action]}
        )
    async with pool.acquire() as conn:
        compiled = {r.trigger: r for r in await rules.enabled(conn, timed=True)}
    queries: dict[str, Any] = {}
    for kind, rule in compiled.items():
        times = []
        found = 0
        for _ in range(30):
            s = time.perf_counter()
            found = len(await timed.due(rule))
            times.append((time.perf_counter() - s) * 1000)
        times.sort()
        queries[kind] = {"due": found, "p50_ms": round(percentile(times, 50), 2), "p95_ms": round(percentile(times, 95), 2)}  # fmt: skip
        print(f"{kind}: due list of {found} in p50 {queries[kind]['p50_ms']} ms, p95 {queries[kind]['p95_ms']} ms", flush=True)  # fmt: skip
    # One full tick acting on the resolved rule alone (the others disabled): 500 closes.
    async with pool.acquire() as conn:
        await conn.execute("UPDATE automation_rule SET enabled = (trigger_type = 'time.resolved'), updated_at = now()")  # fmt: skip
    s = time.perf_counter()
    acted = await timed.sweep()
    full_s = time.perf_counter() - s
    print(f"one tick acting on {sum(acted.values())} conversations: {full_s * 1000:.0f} ms", flush=True)  # fmt: skip
    # The steady state: a rule whose conditions hold for nobody, so every tick finds the same
    # due rows and acts on none (the anti-join with the run log does not help it).
    idle = []
    for _ in range(20):
        s = time.perf_counter()
        await timed.due(compiled["time.resolved"])
        idle.append((time.perf_counter() - s) * 1000)
    idle.sort()
    figures["tick"] = {
        "conversations": n,
        "seed_s": round(seeded, 1),
        "due_queries": queries,
        "full_tick": {"acted": sum(acted.values()), "ms": round(full_s * 1000)},
        "after_tick_due_p95_ms": round(percentile(idle, 95), 2),
    }
    await db_engine.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--shape", choices=("text", "facts"), default="text")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--senders", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-tick", action="store_true")
    args = parser.parse_args()
    figures: dict[str, Any] = {
        "bench": "automation",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git": ingest.git_state(),
        "cpus": os.cpu_count(),
    }
    if not args.skip_ingest:
        ingest_part(args, figures)
    if not args.skip_tick:
        asyncio.run(tick_part(args, figures))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
