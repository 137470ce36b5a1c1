#!/usr/bin/env python
"""SLA at scale on the bench database (bench/seed.py, 1,000,000 conversations).

    python bench/sla.py [--dsn postgresql://postgres@127.0.0.1:5432/hub_bench] [--open 50000]
                        [--ticks 240] [--runs 200]

1. Gives `--open` open conversations a business-hours policy (Mon-Fri 08:00-18:00 Berlin, a
   holiday) with states computed by the real engine, created over the last three business days,
   so their deadlines are spread over the coming days like a live desk's.
2. The sweep: `hub.sla.tracking.sweep()` once per simulated 15-second tick, the hub's clock moved
   forward a tick at a time from "now" (so each tick finds the warnings and deadlines of its own
   15 seconds, as the cron does), and reports p50/p95/max per tick and what it emitted.
3. The at-risk list: `list_conversations(sla=at_risk, sort=sla_due)` and `sla=breached`, as an
   admin (every inbox) and as an agent (their inboxes), p50/p95.
4. Deadline computation in the pure function: deadlines per second (`engine.new_state` with its
   two targets, and `calendar.deadline` alone).

Targets (issue 15): sweep tick p95 < 50 ms, at-risk list p95 < 30 ms, >= 100,000 deadlines/s.
Re-running is safe: step 1 resets the SLA columns of every conversation first.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/hub_bench"
WEEKLY = {day: [["08:00", "18:00"]] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}  # fmt: skip
TARGETS = {
    "default": {"first_response": 240, "next_response": 480, "resolution": 2880},
    "high": {"first_response": 60, "next_response": 120, "resolution": 960},
    "urgent": {"first_response": 15, "next_response": 30, "resolution": 240},
}


def stats(times: list[float]) -> str:
    ordered = sorted(times)
    return (
        f"p50 {percentile(ordered, 50):.2f} ms, p95 {percentile(ordered, 95):.2f} ms,"
        f" max {ordered[-1]:.2f} ms ({len(ordered)} runs)"
    )


async def prepare(pool, count: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    from hub.sla import engine, tracking
    from hub.sla.policies import calendar_of

    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE conversation SET sla_policy = NULL, sla_state = NULL, first_response_due_at = NULL,"
            " first_response_status = NULL, first_response_seconds = NULL, next_response_due_at = NULL,"
            " next_response_status = NULL, resolution_due_at = NULL, resolution_status = NULL,"
            " resolution_seconds = NULL, sla_due_at = NULL, sla_warn_at = NULL, sla_check_at = NULL,"
            " sla_breached_at = NULL WHERE sla_policy IS NOT NULL"
        )
        await conn.execute("DELETE FROM sla_policy WHERE name = 'bench'")
        await conn.execute("DELETE FROM business_hours WHERE name = 'bench'")
        holidays = [{"start": "2026-12-25", "end": "2026-12-26", "yearly": True, "name": "Christmas"}]
        hours = await conn.fetchval(
            "INSERT INTO business_hours (name, timezone, weekly, holidays) VALUES"
            " ('bench', 'Europe/Berlin', $1::jsonb, $2::jsonb) RETURNING id",
            json.dumps(WEEKLY),
            json.dumps(holidays),
        )
        policy_id = await conn.fetchval(
            "INSERT INTO sla_policy (name, business_hours, targets) VALUES ('bench', $1, $2::jsonb)"
            " RETURNING id",
            hours,
            json.dumps(TARGETS),
        )
        from hub.sla.engine import Snapshot

        policy = Snapshot(
            id=policy_id,
            name="bench",
            targets=TARGETS,
            calendar=calendar_of("Europe/Berlin", WEEKLY, holidays),
        )
        ids = await conn.fetch(
            "SELECT id, priority FROM conversation WHERE status = 'open' ORDER BY id DESC LIMIT $1",
            count,
        )
        now = dt.datetime.now(dt.UTC)
        rng = random.Random(7)
        columns = tuple(engine.columns(None))
        rows = []
        for row in ids:
            created = now - dt.timedelta(minutes=rng.uniform(0, 3 * 24 * 60))
            state = engine.new_state(
                policy, created_at=created, priority=row["priority"], status="open", now=now
            )
            values = engine.columns(state)
            rows.append(
                (row["id"], policy_id, engine.encode(state), *(values[c] for c in columns))
            )
        await conn.execute(
            "CREATE TEMP TABLE sla_load (id int, sla_policy int, sla_state jsonb, "
            + ", ".join(
                f"{c} {'int' if c.endswith('_seconds') else 'text' if c.endswith('_status') else 'timestamptz'}"
                for c in columns
            )
            + ")"
        )
        await conn.copy_records_to_table("sla_load", records=rows)
        await conn.execute(
            "UPDATE conversation c SET sla_policy = l.sla_policy, sla_state = l.sla_state, "
            + ", ".join(f"{col} = l.{col}" for col in columns)
            + " FROM sla_load l WHERE l.id = c.id"
        )
        await conn.execute("DROP TABLE sla_load")
        await conn.execute("VACUUM (ANALYZE) conversation")
        assert tracking.SUBSCRIBER
    return policy_id, len(rows)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("HUB_BENCH_DSN", DEFAULT_DSN))
    parser.add_argument("--open", type=int, default=50_000)
    parser.add_argument("--ticks", type=int, default=240)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    os.environ["HUB_RESOLVED_DSN"] = args.dsn

    from hub.auth.accounts import AgentInfo
    from hub.conversations.listing import ListFilters, list_conversations
    from hub.db import engine as db_engine
    from hub.realtime import events
    from hub.sla import calendar, engine, tracking
    from hub.system import clock

    db = await db_engine.start(args.dsn, min_size=1, max_size=4)
    pool = db.pool
    try:
        total = await pool.fetchval("SELECT count(*) FROM conversation")
        print(f"conversations: {total:,}")
        started = time.perf_counter()
        policy_id, prepared = await prepare(pool, args.open)
        print(f"prepared {prepared:,} open conversations with SLA state in {time.perf_counter() - started:.1f} s")

        # Events are published only to other processes; nobody listens here.
        async def no_publish(_: object) -> None:
            return None

        events.publish = no_publish  # type: ignore[assignment]
        clock.reset()
        tick_times: list[float] = []
        emitted = {"warning": 0, "breached": 0}
        for _ in range(args.ticks):
            clock.advance(dt.timedelta(seconds=15))
            t0 = time.perf_counter()
            counts = await tracking.sweep()
            tick_times.append((time.perf_counter() - t0) * 1000)
            for k, v in counts.items():
                emitted[k] += v
        print(
            f"sweep, one 15 s tick over {args.ticks} ticks ({args.ticks * 15 / 60:.0f} simulated min):"
            f" {stats(tick_times)}; emitted {emitted['warning']} warnings, {emitted['breached']} breaches"
        )
        # A backlog: a worker that was down for a day finds a day of deadlines at once.
        clock.advance(dt.timedelta(days=1))
        t0 = time.perf_counter()
        counts = await tracking.sweep()
        backlog_ms = (time.perf_counter() - t0) * 1000
        print(f"sweep after a day without workers: {backlog_ms:.0f} ms for {sum(counts.values()):,} alerts")
        clock.reset()

        admin = AgentInfo(id=1, email="ada@isp.example", name="Ada", role="admin")
        agent = AgentInfo(id=3, email="priya@isp.example", name="Priya", role="agent")
        agent_inboxes = [
            r["inbox"] for r in await pool.fetch("SELECT inbox FROM inbox_member WHERE agent = 3")
        ]
        cases = [
            ("at risk, admin, nearest deadline first", ListFilters(status=["open"], sla="at_risk", sort="sla_due"), admin, None),
            ("at risk, agent, nearest deadline first", ListFilters(status=["open"], sla="at_risk", sort="sla_due"), agent, agent_inboxes),
            ("breached, admin, newest activity first", ListFilters(status=["open"], sla="breached"), admin, None),
            ("all with a deadline, admin, nearest first", ListFilters(status=["open"], sort="sla_due"), admin, None),
        ]  # fmt: skip
        for name, filters, who, visible in cases:
            times = []
            for n in range(args.runs + 10):
                t0 = time.perf_counter()
                items, _ = await list_conversations(filters, agent=who, visible_inboxes=visible, limit=25)
                if n >= 10:
                    times.append((time.perf_counter() - t0) * 1000)
            print(f"list {name}: {stats(times)}, {len(items)} on the first page")

        policy = tracking.engine.Snapshot(
            id=policy_id, name="bench", targets=TARGETS,
            calendar=calendar.BusinessCalendar(
                timezone="Europe/Berlin",
                weekly=tuple((calendar.Interval("08:00", "18:00"),) if d < 5 else () for d in range(7)),
            ),
        )  # fmt: skip
        rng = random.Random(3)
        base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        starts = [base + dt.timedelta(minutes=rng.uniform(0, 525_600)) for _ in range(50_000)]
        minutes = [rng.choice((15, 60, 240, 480, 1440, 2880)) for _ in starts]
        t0 = time.perf_counter()
        for start, m in zip(starts, minutes, strict=True):
            calendar.deadline(policy.calendar, start, m)
        per_s = len(starts) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for start in starts[:20_000]:
            engine.new_state(policy, created_at=start, priority="none", status="open", now=start)
        states = 20_000 / (time.perf_counter() - t0)
        print(
            f"deadlines: {per_s:,.0f}/s (calendar.deadline); {states:,.0f} conversations/s"
            f" through engine.new_state (2 targets, each a deadline and a warning time)"
        )
    finally:
        await db_engine.stop()


if __name__ == "__main__":
    asyncio.run(main())
