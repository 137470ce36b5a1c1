#!/usr/bin/env python
"""Reports at scale: rollup throughput, the 90-day overview's latency, the CSV export's speed.

    python bench/seed.py --dsn postgresql://postgres@127.0.0.1:5432/hub_bench_reports \\
        --conversations 100000 --fresh
    python bench/reports.py --dsn postgresql://postgres@127.0.0.1:5432/hub_bench_reports

bench/seed.py loads conversations and messages with COPY but writes no events; this script
turns them into the event log the live pipeline would have written (conversation.created at the
conversation's creation, message.created per message at its time, conversation.updated with
status 'resolved' at the last update of resolved ones) with one INSERT … SELECT, then:
1. `rollup.rebuild()` over the whole log (events/s: the same fold the job runs per batch);
2. the overview (totals + every metric per day + heatmap) for the newest 90 days, 30 times:
   p50 / p95;
3. the conversation CSV export of the longest range (731 days), streamed: rows/s and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

EVENTS_SQL = [
    "TRUNCATE event",
    "INSERT INTO event (type, conversation, inbox, actor_type, data, created_at)"
    " SELECT 'conversation.created', c.id, c.inbox, 'system', jsonb_build_object('id', c.id,"
    " 'inbox_id', c.inbox, 'channel', i.channel, 'status', 'open', 'priority', c.priority,"
    " 'assignee_id', c.assignee, 'team_id', c.team, 'tags', '[]'::jsonb, 'created_at', c.created_at),"
    " c.created_at FROM conversation c JOIN inbox i ON i.id = c.inbox",
    "INSERT INTO event (type, conversation, inbox, actor_type, data, created_at)"
    " SELECT 'message.created', m.conversation, m.inbox, 'system', jsonb_build_object('id', m.id,"
    " 'kind', m.kind, 'direction', m.direction, 'author', jsonb_build_object('type', m.author_type,"
    " 'id', m.author_id)), m.created_at FROM message m",
    "INSERT INTO event (type, conversation, inbox, actor_type, data, created_at)"
    " SELECT 'conversation.updated', c.id, c.inbox, 'system', jsonb_build_object('id', c.id,"
    " 'inbox_id', c.inbox, 'channel', i.channel, 'status', c.status, 'priority', c.priority,"
    " 'assignee_id', c.assignee, 'team_id', c.team, 'tags', '[]'::jsonb), c.updated_at"
    " FROM conversation c JOIN inbox i ON i.id = c.inbox WHERE c.status IN ('resolved', 'closed')",
]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(dsn: str, runs: int, rebuild: bool) -> None:
    import hub.domains  # noqa: F401
    from hub.db.engine import connection_pool
    from hub.reports import export, rollup, views
    from hub.reports.filters import Filters, Range
    from hub.system import services
    from hub.system.config import Settings

    await services.start(Settings(database_url=dsn, secret_key="b" * 48), apply_migrations=True)
    try:
        pool = connection_pool()
        if not await pool.fetchval("SELECT count(*) FROM event"):
            print("writing the event log from the seeded conversations and messages …")
            for sql in EVENTS_SQL:
                await pool.execute(sql)
        conversations = await pool.fetchval("SELECT count(*) FROM conversation")
        events = await rollup.count_events()
        print(f"{conversations:,} conversations, {events:,} events")

        if rebuild:
            started = time.perf_counter()
            applied = await rollup.rebuild()
            took = time.perf_counter() - started
            print(f"rollup: {applied:,} events in {took:.1f} s = {applied / took:,.0f} events/s")

        newest = await pool.fetchval("SELECT max(created_at) FROM conversation")
        last = newest.date()
        rng = Range(last - dt.timedelta(days=89), last, "Europe/Copenhagen")
        timings = []
        for _ in range(runs):
            t0 = time.perf_counter()
            answer = await views.overview(rng, Filters(), "day")
            timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(
            f"overview, 90 days by day ({answer['metrics']['created']:,} created): p50"
            f" {statistics.median(timings):.0f} ms, p95 {p95:.0f} ms ({runs} runs)"
        )

        whole = Range(last - dt.timedelta(days=730), last, "UTC")  # the longest range allowed
        rss_before = rss_mb()
        rows = -1  # the header
        t0 = time.perf_counter()
        async for chunk in export.conversations_csv(whole, Filters()):
            rows += chunk.count(b"\n")
        took = time.perf_counter() - t0
        print(
            f"CSV export: {rows:,} rows in {took:.1f} s = {rows / took:,.0f} rows/s;"
            f" peak RSS {rss_before:.0f} MB before, {rss_mb():.0f} MB after"
        )
    finally:
        await services.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/hub_bench_reports")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--no-rebuild", action="store_true", help="keep the rollups of an earlier run"
    )
    args = parser.parse_args()
    asyncio.run(main(args.dsn, args.runs, not args.no_rebuild))
