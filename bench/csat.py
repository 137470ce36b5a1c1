"""CSAT at volume: scheduling from a resolution burst, the sweep, and the answers list.

    .venv/bin/python bench/csat.py [--conversations 20000]

In one process on a fresh database (services started without a worker, so the sweep's dispatch
jobs only queue):

1. Scheduling: the `csat` subscriber's handler on batches of 1,000 events as the delivery hands
   them: each conversation resolved once, amid the `conversation.updated` of open conversations
   that ingest writes for every message (four of those per resolution) - events/s.
2. The sweep: `schedule.sweep()` (200 rows a claim, as the cron) until every survey is sent -
   surveys/s (each is a stored message, a survey update and two events in one transaction).
3. The list: `GET /api/v1/csat`'s queries (`list_responses` + `summary`, 50 rows) over one
   answer per conversation, unfiltered and filtered by inbox and rating - p50/p95.

A figure, not a test. docs/performance.md has results.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from bench.common import percentile, recreate_database  # noqa: E402

DATABASE = "hub_bench_csat"


async def seed(pool, count: int) -> tuple[list[int], list[int]]:  # type: ignore[no-untyped-def]
    inboxes = [
        await pool.fetchval(
            "INSERT INTO inbox (name, channel, config_encrypted, public_token, active,"
            " created_at) VALUES ($1, 'api', '', $2, true, now()) RETURNING id",
            f"bench-{n}",
            f"bench-token-{n}",
        )
        for n in range(4)
    ]
    for inbox in inboxes:
        await pool.execute(
            "INSERT INTO csat_setting (inbox, enabled, delay_minutes) VALUES ($1, true, 0)", inbox
        )
    await pool.execute(
        "INSERT INTO contact (name) SELECT 'Customer ' || n FROM generate_series(1, $1) n", count
    )
    await pool.execute(
        "INSERT INTO conversation (inbox, contact, status, priority, subject, created_at,"
        " updated_at, last_message_at, resolved_at)"
        " SELECT ($2::int[])[1 + c.id % 4], c.id, 'resolved', 'none', '', now(), now(), now(),"
        " now() FROM contact c ORDER BY c.id LIMIT $1",
        count,
        inboxes,
    )
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM conversation ORDER BY id")]
    # As many open conversations again, whose message traffic the subscriber reads past.
    await pool.execute(
        "INSERT INTO conversation (inbox, contact, status, priority, subject, created_at,"
        " updated_at, last_message_at) SELECT ($2::int[])[1 + c.id % 4], c.id, 'open', 'none',"
        " '', now(), now(), now() FROM contact c ORDER BY c.id LIMIT $1",
        count,
        inboxes,
    )
    return inboxes, ids


def events_for(ids: list[int], inboxes: list[int]):  # type: ignore[no-untyped-def]
    """Per resolution, four updates of open conversations (ids above the resolved ones)."""
    from hub.realtime.events import Event

    rng = random.Random(3)
    created = dt.datetime.now(dt.UTC).isoformat()
    stream = []
    next_id = 1
    for conversation in ids:
        inbox = inboxes[conversation % 4]
        for _ in range(4):  # other open conversations' message traffic
            other = rng.choice(ids) + len(ids)
            stream.append(
                Event(
                    next_id,
                    "conversation.updated",
                    other,
                    inboxes[other % 4],
                    {"status": "open"},
                    created,
                )
            )
            next_id += 1
        stream.append(
            Event(
                next_id,
                "conversation.updated",
                conversation,
                inbox,
                {"status": "resolved", "changed": {"status": "resolved"}},
                created,
            )
        )
        next_id += 1
    return stream


async def run(count: int) -> None:
    import hub.domains  # noqa: F401  (registers the jobs the sweep enqueues)
    from hub.csat import queries, schedule
    from hub.db.engine import connection_pool
    from hub.system import services
    from hub.system.config import Settings

    dsn = await recreate_database(DATABASE)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=dsn,
            data_dir=Path(tmp),
            secret_key="bench-" + "k" * 40,
            log_level="WARNING",
        )
        await services.start(settings, apply_migrations=True, run_worker=False)
        try:
            pool = connection_pool()
            inboxes, ids = await seed(pool, count)
            stream = events_for(ids, inboxes)
            started = time.perf_counter()
            for at in range(0, len(stream), 1000):
                await schedule.handle(stream[at : at + 1000])
            took = time.perf_counter() - started
            made = await pool.fetchval("SELECT count(*) FROM csat_survey")
            print(
                f"scheduling: {len(stream):,} events ({made:,} resolutions) in {took:.2f} s ="
                f" {len(stream) / took:,.0f} events/s"
            )
            started = time.perf_counter()
            sent = 0
            while True:
                result = await schedule.sweep(limit=200)
                sent += result["sent"]
                if result["due"] == 0:
                    break
            took = time.perf_counter() - started
            print(f"sweep: {sent:,} surveys sent in {took:.2f} s = {sent / took:,.0f} surveys/s")
            await pool.execute(
                "INSERT INTO csat_response (conversation, survey, inbox, rating, comment, via,"
                " updated_at) SELECT conversation, id, inbox, 1 + (id * 7) % 5, NULL, 'link',"
                " now() - make_interval(secs => id) FROM csat_survey"
            )
            await pool.execute("ANALYZE csat_response")
            cases = {
                "all": queries.Filters(),
                "one inbox": queries.Filters(inbox_id=inboxes[1]),
                "ratings 1-2, one inbox": queries.Filters(inbox_id=inboxes[2], rating=[1, 2]),
            }
            for name, filters in cases.items():
                times = []
                for _ in range(50):
                    t0 = time.perf_counter()
                    await queries.list_responses(
                        filters, visible_inboxes=None, limit=50, cursor=None
                    )
                    await queries.summary(filters, visible_inboxes=None)
                    times.append((time.perf_counter() - t0) * 1000)
                times.sort()
                print(
                    f"list + summary ({name}, {count:,} answers): p50"
                    f" {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms"
                )
        finally:
            await services.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(run(args.conversations))


if __name__ == "__main__":
    main()
