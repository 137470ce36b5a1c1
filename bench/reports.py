#!/usr/bin/env python
"""Reports at scale: rollup throughput, the 90-day overview's latency, the CSV export's speed.

    python bench/seed.py --dsn postgresql://postgres@127.0.0.1:5432/hub_bench_reports \\
        --conversations 100000 --fresh
    python bench/reports.py --dsn postgresql://postgres@127.0.0.1:5432/hub_bench_reports

bench/seed.py loads conversations and messages with COPY but writes no events; this script
turns them into the event log the live pipeline would have written (conversation.created at the
conversation's creation, message.created per message at its time, conversation.updated with
status 'resolved' at the last update of resolved ones) with one INSERT … SELECT in commit-time
order, then:
1. `rollup.rebuild()` over the whole log (events/s: the same fold the job runs per batch),
   hourly and daily rows, the daily ones in Europe/Copenhagen (the account's zone here);
2. the overview (totals + every metric per day + heatmap) for the newest 90 days, 30 rounds,
   each round once from the daily rows and once from the hourly rows (the reference: what the
   overview read before the daily rollup, and what it reads while the days are in another
   zone): p50 / p95 of each; then the same from the daily rows with an inbox filter;
3. with --zone-switch: the daily rows rebuilt from the hourly ones in another zone and back
   (what a change of HUB_TIMEZONE costs);
4. the conversation CSV export of the longest range (731 days), streamed: rows/s and peak RSS.
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

# One INSERT in commit-time order, as the live pipeline writes the log (a batch then touches
# the hours and conversations of a few minutes, not ones spread over two years); at the same
# instant a conversation's creation comes before its messages, its resolution after them.
EVENTS_SQL = [
    "TRUNCATE event",
    "INSERT INTO event (type, conversation, inbox, actor_type, data, created_at)"
    " SELECT type, conversation, inbox, 'system', data, at FROM ("
    " SELECT 'conversation.created' AS type, c.id AS conversation, c.inbox, jsonb_build_object("
    " 'id', c.id, 'inbox_id', c.inbox, 'channel', i.channel, 'status', 'open', 'priority',"
    " c.priority, 'assignee_id', c.assignee, 'team_id', c.team, 'tags', '[]'::jsonb,"
    " 'created_at', c.created_at) AS data, c.created_at AS at, 0 AS rank, c.id AS seq"
    " FROM conversation c JOIN inbox i ON i.id = c.inbox"
    " UNION ALL SELECT 'message.created', m.conversation, m.inbox, jsonb_build_object('id', m.id,"
    " 'kind', m.kind, 'direction', m.direction, 'author', jsonb_build_object('type',"
    " m.author_type, 'id', m.author_id)), m.created_at, 1, m.id FROM message m"
    " UNION ALL SELECT 'conversation.updated', c.id, c.inbox, jsonb_build_object('id', c.id,"
    " 'inbox_id', c.inbox, 'channel', i.channel, 'status', c.status, 'priority', c.priority,"
    " 'assignee_id', c.assignee, 'team_id', c.team, 'tags', '[]'::jsonb), c.updated_at, 2, c.id"
    " FROM conversation c JOIN inbox i ON i.id = c.inbox WHERE c.status IN ('resolved', 'closed')"
    ") e ORDER BY at, rank, seq",
]


ZONE = "Europe/Copenhagen"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def p95(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


async def main(dsn: str, runs: int, rebuild: bool, zone_switch: bool, rewrite_events: bool) -> None:
    import hub.domains  # noqa: F401
    from hub.db.engine import connection_pool
    from hub.reports import export, metrics, rollup
    from hub.reports.filters import Filters, Range
    from hub.system import services
    from hub.system.config import Settings

    settings = Settings(database_url=dsn, secret_key="b" * 48, timezone=ZONE)
    await services.start(settings, apply_migrations=True)
    try:
        pool = connection_pool()
        if rewrite_events or not await pool.fetchval("SELECT count(*) FROM event"):
            print("writing the event log from the seeded conversations and messages …")
            for sql in EVENTS_SQL:
                await pool.execute(sql)
            # Fresh statistics, as autovacuum would give a table that grew slowly: without
            # them the batches' range scans are planned as sequential scans (100x slower).
            await pool.execute("VACUUM ANALYZE event")
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
        rng = Range(last - dt.timedelta(days=89), last, ZONE)
        sizes = []
        for label, table, cond, args in (
            (
                "report_hour",
                "report_hour",
                "hour >= $1 AND hour < $2 AND tag = ''",
                (rng.start, rng.end),
            ),
            (
                "report_duration",
                "report_duration",
                "hour >= $1 AND hour < $2 AND tag = ''",
                (rng.start, rng.end),
            ),
            (
                "report_day (totals)",
                "report_day",
                "day >= $1 AND day <= $2 AND inbox = -1",
                (rng.first, rng.last),
            ),
            (
                "report_day_duration (totals)",
                "report_day_duration",
                "day >= $1 AND day <= $2 AND inbox = -1",
                (rng.first, rng.last),
            ),
            (
                "report_day (per dimension)",
                "report_day",
                "day >= $1 AND day <= $2 AND inbox >= 0 AND tag = ''",
                (rng.first, rng.last),
            ),
            (
                "report_day_duration (per dimension)",
                "report_day_duration",
                "day >= $1 AND day <= $2 AND inbox >= 0 AND tag = ''",
                (rng.first, rng.last),
            ),
        ):
            n = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE {cond}", *args)
            sizes.append(f"{label} {n:,}")
        print("rows of the 90 days: " + ", ".join(sizes))  # fmt: skip
        assert await metrics.days_in_zone(pool, rng), "the daily rows are in the bench's zone"
        timings: dict[str, list[float]] = {"days": [], "hours": [], "days, inbox 3": []}
        answers = {}
        for _ in range(runs):
            for label, days, filters in (
                ("days", True, Filters()),
                ("hours", False, Filters()),
                ("days, inbox 3", True, Filters(inbox=3)),
            ):
                t0 = time.perf_counter()
                answers[label] = await metrics.by_period(pool, rng, filters, "day", days=days)
                timings[label].append((time.perf_counter() - t0) * 1000)
        assert answers["days"] == answers["hours"], "daily and hourly rows disagree"
        for label, values in timings.items():
            created = answers[label][1]["created"]
            print(
                f"overview, 90 days by day, {ZONE}, from {label} ({created:,} created):"
                f" p50 {statistics.median(values):.0f} ms, p95 {p95(values):.0f} ms ({runs} runs)"
            )

        if zone_switch:
            for other in ("UTC", ZONE):
                t0 = time.perf_counter()
                await rollup.switch_zone(other)
                print(f"daily rows rebuilt from the hourly ones in {other}:"
                      f" {time.perf_counter() - t0:.1f} s")  # fmt: skip

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
    parser.add_argument(
        "--zone-switch", action="store_true", help="time a rebuild of the days in another zone"
    )
    parser.add_argument(
        "--rewrite-events", action="store_true", help="write the event log again (commit order)"
    )
    args = parser.parse_args()
    asyncio.run(
        main(args.dsn, args.runs, not args.no_rebuild, args.zone_switch, args.rewrite_events)
    )
