"""The database side of ingest alone: hub_ingest batches, and the per-request API-key UPDATE.

    .venv/bin/python bench/ingest_sql.py [--seconds 10] [--batch 16] [--workers 2]
                                         [--drop-index NAME ...] [--apikey]
                                         [--function hub_ingest|hub_ingest_loop]

A fresh database hub_bench_sql (migrated with `hub migrate`), one `api` inbox, then `--workers`
connections each calling `SELECT hub_ingest($1)` in its own transaction with `--batch` items
(senders drawn from 2,000, as in bench/ingest.py) for `--seconds`. Prints items/s and PostgreSQL
CPU per item (CPU time is what counts on a 2-core machine, and it is robust to other load).

--drop-index drops an index first (what-if: how much does it cost per message?).
--apikey instead measures `UPDATE api_key SET last_used_at = now()` on one row from 32 clients
(what every API-key request does in hub.auth.accounts.api_key_principal) against one INSERT each.
"""

from __future__ import annotations

# ruff: noqa: E402  (sys.path is set before the other imports)
import sys
from pathlib import Path

# Run as `python bench/X.py`, Python puts bench/ first on sys.path, where a module may shadow the
# standard library (bench/email.py shadows `email`): import from the repository root instead.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import argparse
import asyncio
import json
import random
import subprocess
import time
from typing import Any

import asyncpg

from bench.common import BIN, ROOT, cpu_delta, hub_env, postgres_cpu_by_pid, recreate_database

DATABASE = "hub_bench_sql"


def set_database(name: str) -> None:
    global DATABASE
    DATABASE = name


def item(inbox: int, n: int, senders: int, rng: random.Random) -> dict[str, Any]:
    s = rng.randrange(senders)
    return {
        "inbox_id": inbox,
        "provider_message_id": f"sql-{n}",
        "sender": {"kind": "email", "address": f"customer{s}@example.com", "name": f"Customer {s}"},
        "text": f"bench sql-{n}: hello, the router is down again",
        "html": "",
        "subject": "",
        "attachments": [],
        "conversation_id": None,
        "new_conversation": False,
        "auto_reply": False,
        "sent_at": None,
        "reopen_window_hours": 168,
        "meta": {},
    }


async def ingest_load(dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    for name in args.drop_index:
        await conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    if args.function == "hub_ingest_loop":
        # The per-message version this replaced (migration 2026-11-22T23:30), for comparison.
        from hub.db.migrations.hub_2026_11_22t23_30_00_000000 import INGEST_FUNCTION

        await conn.execute(
            INGEST_FUNCTION.replace("FUNCTION hub_ingest(", "FUNCTION hub_ingest_loop(", 1)
        )
    inbox = await conn.fetchval(
        "INSERT INTO inbox (name, channel, config_encrypted, public_token)"
        " VALUES ('sql bench', 'api', '', md5(random()::text)) RETURNING id"
    )
    await conn.close()
    counter = 0
    rng = random.Random(42)
    stop_at = time.monotonic() + args.warmup + args.seconds
    measured = {"items": 0, "batches": 0}
    start_measure = time.monotonic() + args.warmup

    async def worker(c: asyncpg.Connection) -> None:
        nonlocal counter
        while time.monotonic() < stop_at:
            batch = []
            for _ in range(args.batch):
                counter += 1
                batch.append(item(inbox, counter, args.senders, rng))
            if args.function == "hub_ingest_loop":
                # it locks senders as it meets them: batches must come sorted, else they deadlock
                batch.sort(key=lambda i: (i["sender"]["kind"], i["sender"]["address"]))
            payload = json.dumps(batch)
            async with c.transaction():
                await c.fetchval(f"SELECT {args.function}($1::jsonb)", payload)
            if time.monotonic() >= start_measure:
                measured["items"] += len(batch)
                measured["batches"] += 1

    # Connections stay open until CPU is read: a backend's CPU time leaves /proc with it.
    conns = [await asyncpg.connect(dsn) for _ in range(args.workers)]
    tasks = [asyncio.create_task(worker(c)) for c in conns]
    await asyncio.sleep(args.warmup)
    cpu0, t0 = postgres_cpu_by_pid(DATABASE), time.monotonic()
    await asyncio.gather(*tasks)
    cpu1, t1 = postgres_cpu_by_pid(DATABASE), time.monotonic()
    for c in conns:
        await c.close()
    return {
        "mode": args.function,
        "batch": args.batch,
        "workers": args.workers,
        "dropped_indexes": args.drop_index,
        "items_per_s": round(measured["items"] / (t1 - t0), 1),
        "postgres_ms_per_item": round(1000 * cpu_delta(cpu0, cpu1) / max(measured["items"], 1), 3),
    }


async def conversation_update_load(dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    """What the set-based ingest does to each conversation per inbound message, alone: the
    UPDATE of its activity columns (last_message_at is in the list indexes, so the update cannot
    be HOT and every index of the row gets a new entry)."""
    conn = await asyncpg.connect(dsn)
    for name in args.drop_index:
        await conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    inbox = await conn.fetchval(
        "INSERT INTO inbox (name, channel, config_encrypted, public_token)"
        " VALUES ('sql bench', 'api', '', md5(random()::text)) RETURNING id"
    )
    await conn.execute(
        "INSERT INTO contact (name, attributes, created_at, updated_at)"
        " SELECT 'c' || g, '{}', now(), now() FROM generate_series(1, $1) g",
        args.senders,
    )
    ids = [
        r[0]
        for r in await conn.fetch(
            "INSERT INTO conversation (inbox, contact, status, priority, subject, unread_count,"
            " created_at, updated_at, last_message_at, last_inbound_at, waiting_since, meta)"
            " SELECT $1, id, 'open', 'none', '', 1, now(), now(), now(), now(), now(), '{}'"
            " FROM contact RETURNING id",
            inbox,
        )
    ]
    await conn.execute("VACUUM ANALYZE conversation")
    indexes = await conn.fetchval(
        "SELECT count(*) FROM pg_index WHERE indrelid = 'conversation'::regclass"
    )
    stats = (
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'conversation'"
    )
    await asyncio.sleep(1.5)  # table statistics reach the shared view about once a second
    before = await conn.fetchrow(stats)
    rng = random.Random(7)
    stop_at = time.monotonic() + args.seconds
    done = 0

    async def worker(c: asyncpg.Connection) -> None:
        nonlocal done
        while time.monotonic() < stop_at:
            batch = sorted(rng.sample(ids, args.batch))  # in id order, as hub_ingest locks them
            await c.execute(
                "UPDATE conversation c SET last_message_at = greatest(c.last_message_at, now()),"
                " last_inbound_at = greatest(c.last_inbound_at, now()),"
                " waiting_since = coalesce(c.waiting_since, now()),"
                " unread_count = c.unread_count + 1, updated_at = now() WHERE c.id = ANY($1::int[])",
                batch,
            )
            done += len(batch)

    conns = [await asyncpg.connect(dsn) for _ in range(args.workers)]
    cpu0, t0 = postgres_cpu_by_pid(DATABASE), time.monotonic()
    await asyncio.gather(*(worker(c) for c in conns))
    cpu1, t1 = postgres_cpu_by_pid(DATABASE), time.monotonic()
    for c in conns:
        await c.close()
    await asyncio.sleep(1.5)
    after = await conn.fetchrow(stats)
    await conn.close()
    updates = after["n_tup_upd"] - before["n_tup_upd"]
    return {
        "mode": "conversation_update",
        "indexes": indexes,
        "dropped_indexes": args.drop_index,
        "rows_per_s": round(done / (t1 - t0), 1),
        "postgres_ms_per_row": round(1000 * cpu_delta(cpu0, cpu1) / max(done, 1), 4),
        "updates": updates,
        "hot_share": round((after["n_tup_hot_upd"] - before["n_tup_hot_upd"]) / max(updates, 1), 3),
    }


async def apikey_load(dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS k (id serial PRIMARY KEY, h text UNIQUE, last_used_at timestamptz)"
    )
    await conn.execute("INSERT INTO k (h) VALUES ('one') ON CONFLICT DO NOTHING")
    await conn.execute("CREATE TABLE IF NOT EXISTS ins (id bigserial PRIMARY KEY, t text)")
    await conn.close()
    out: dict[str, Any] = {"mode": "apikey", "clients": 32, "pool": 10}
    for name, sql in (
        ("update_one_row", "UPDATE k SET last_used_at = now() WHERE h = 'one' RETURNING id"),
        ("select_one_row", "SELECT id FROM k WHERE h = 'one'"),
        ("insert_row", "INSERT INTO ins (t) VALUES ('x') RETURNING id"),
    ):
        pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
        done = 0
        stop_at = time.monotonic() + args.seconds

        async def client(
            pool: asyncpg.Pool = pool, sql: str = sql, stop_at: float = stop_at
        ) -> None:
            nonlocal done
            while time.monotonic() < stop_at:
                await pool.fetchval(sql)
                done += 1

        cpu0, t0 = postgres_cpu_by_pid(DATABASE), time.monotonic()
        await asyncio.gather(*(client() for _ in range(32)))
        cpu1, t1 = postgres_cpu_by_pid(DATABASE), time.monotonic()
        await pool.close()
        out[name] = {
            "per_s": round(done / (t1 - t0), 1),
            "postgres_ms_each": round(1000 * cpu_delta(cpu0, cpu1) / max(done, 1), 3),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--senders", type=int, default=2000)
    parser.add_argument("--drop-index", action="append", default=[])
    parser.add_argument("--apikey", action="store_true")
    parser.add_argument(
        "--conversation-update",
        action="store_true",
        help="only the per-message conversation UPDATE (HOT share, CPU per row)",
    )
    parser.add_argument(
        "--function",
        default="hub_ingest",
        choices=["hub_ingest", "hub_ingest_loop"],
        help="hub_ingest_loop: the earlier per-message function, for comparison",
    )
    parser.add_argument("--database", default=DATABASE, help="bench database (dropped first)")
    args = parser.parse_args()
    set_database(args.database)
    dsn = asyncio.run(recreate_database(DATABASE))
    if args.apikey:
        result = asyncio.run(apikey_load(dsn, args))
    else:
        env = hub_env(dsn, Path("/tmp/hub-bench-sql-data"), 8000)
        subprocess.run(
            [str(BIN / "hub"), "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        load = conversation_update_load if args.conversation_update else ingest_load
        result = asyncio.run(load(dsn, args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
