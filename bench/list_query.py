#!/usr/bin/env python
"""Time hub.conversations.listing.list_conversations on the bench database (see bench/seed.py).

    python bench/list_query.py [--dsn postgresql://postgres@127.0.0.1:5432/hub_bench] [--runs 200]
                               [--warmup 10] [--budget 30] [--statement-timeout 60]
                               [--quiet-pct 35] [--max-wait 30] [--explain] [--proposed]
                               [--only NAME ...]

Each case calls the real function (the SQL it builds, Piccolo's asyncpg pool with its prepared
statement cache, JSON decoding of the page) one call at a time after a warm-up, and reports
p50/p95/p99 in milliseconds. Targets (issues 12 and 21): list views p95 < 30 ms, full-text
search p95 < 50 ms. Bounded: a case stops after --budget seconds (warm-up included, at least 5 timed
runs), and every statement has a --statement-timeout (a case that hits it is reported as
"timeout" and abandoned). For every case that misses its target, and for every case with
--explain, the SQL the function sent is captured and EXPLAIN (ANALYZE, BUFFERS) is printed
(EXPLAIN ANALYZE runs the query once more, so a timed-out case is only EXPLAINed without ANALYZE).

The machine may be shared: before each case the script waits (at most --max-wait seconds) until
the CPUs are at most --quiet-pct busy, and reports how busy they were.

--proposed times bench/proposed_list.py (a rewrite of the SQL, see its docstring) instead of
hub.conversations.listing.list_conversations, for before/after comparisons. Nothing in hub/ is changed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from hub.conversations.lifecycle import InvalidChange

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/hub_bench"
VIEW_TARGET_MS = 30.0
SEARCH_TARGET_MS = 50.0  # issue 21: every case p95 < 50 ms


@dataclass
class Case:
    name: str
    kind: str  # "view" | "search"
    filters: Any
    agent: Any
    visible: list[int] | None = None
    cursor: str | None = None
    limit: int = 25
    times: list[float] = field(default_factory=list)
    rows: int = 0
    timed_out: bool = False
    busy: float = 0.0
    same: bool | None = None  # --proposed: same page as the hub function (None: not compared)

    @property
    def target(self) -> float:
        return SEARCH_TARGET_MS if self.kind == "search" else VIEW_TARGET_MS


def same_note(case: Case) -> str:
    if not PROPOSED or case.same is None:
        return ""
    return "  (same page as hub)" if case.same else "  (DIFFERENT page from hub!)"


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class Recorder:
    """Records every statement asyncpg connections fetch while installed (a search sends several:
    the walk, the count, the index-first branch, the page), to EXPLAIN them afterwards."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        self.original = asyncpg.connection.Connection.fetch

    def __enter__(self) -> Recorder:
        recorder, original = self, self.original

        async def fetch(conn: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
            recorder.statements.append((sql, args))
            return await original(conn, sql, *args, **kwargs)

        asyncpg.connection.Connection.fetch = fetch  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncpg.connection.Connection.fetch = self.original  # type: ignore[method-assign]


PROPOSED = False


def cpu_busy(interval: float = 1.0) -> float:
    """Percent of all CPUs busy over `interval` seconds (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values), idle

    try:
        total0, idle0 = sample()
        time.sleep(interval)
        total1, idle1 = sample()
    except OSError:
        return 0.0
    total = total1 - total0
    return 100.0 * (1 - (idle1 - idle0) / total) if total else 0.0


def wait_quiet(quiet_pct: float, max_wait: float) -> float:
    deadline = time.monotonic() + max_wait
    while True:
        busy = cpu_busy()
        if busy <= quiet_pct or time.monotonic() >= deadline:
            return busy


async def capture_sql(case: Case) -> list[tuple[str, tuple[Any, ...]]]:
    if PROPOSED:
        import proposed_list

        await run_once(case)
        return [(proposed_list.LAST["sql"], proposed_list.LAST["args"])]
    # A timed-out search raises: EXPLAIN what it had sent.
    with Recorder() as recorder, contextlib.suppress(Exception):
        await run_once(case)
    return recorder.statements


async def run_once(case: Case) -> tuple[list[dict[str, Any]], str | None]:
    if PROPOSED:
        from proposed_list import list_conversations
    else:
        from hub.conversations.listing import list_conversations

    return await list_conversations(
        case.filters,
        agent=case.agent,
        visible_inboxes=case.visible,
        limit=case.limit,
        cursor=case.cursor,
    )


async def explain(case: Case) -> str:
    from hub.db.engine import engine

    pool = engine().pool
    assert pool is not None
    # A timed-out case is EXPLAINed without ANALYZE (that would run it once more).
    options = "EXPLAIN " if case.timed_out else "EXPLAIN (ANALYZE, BUFFERS) "
    out = []
    for sql, args in await capture_sql(case):
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            await conn.execute("SET LOCAL statement_timeout = '60s'")
            if case.kind == "search":  # as hub.conversations.search runs them
                await conn.execute(
                    "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0"
                )
                if "SELECT m.conversation FROM message m" in sql:
                    await conn.execute("SET LOCAL enable_seqscan = off")
            rows = await conn.fetch(options + sql, *args)
        shown = [a.isoformat() if isinstance(a, dt.datetime) else a for a in args]
        out.append(
            f"-- {case.name}\n-- SQL: {sql}\n-- args: {shown}\n" + "\n".join(r[0] for r in rows)
        )
    return "\n".join(out)


async def build_cases(pool: Any) -> list[Case]:
    from hub.auth import access
    from hub.auth.accounts import AgentInfo
    from hub.conversations.listing import ListFilters

    def info(row: Any) -> AgentInfo:
        return AgentInfo(id=row["id"], name=row["name"], email=row["email"], role=row["role"])

    admin = info(
        await pool.fetchrow(
            "SELECT id, name, email, role FROM agent WHERE role = 'admin' ORDER BY id LIMIT 1"
        )
    )
    # "me": the agent with the most open conversations.
    me = info(
        await pool.fetchrow(
            "SELECT a.id, a.name, a.email, a.role FROM agent a JOIN conversation c ON c.assignee = a.id"
            " WHERE c.status = 'open' GROUP BY a.id ORDER BY count(*) DESC LIMIT 1"
        )
    )
    busiest_inbox = await pool.fetchval(
        "SELECT inbox FROM conversation GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )
    # An agent-role agent who sees only some inboxes (inbox_member); else any two inboxes.
    restricted_row = await pool.fetchrow(
        "SELECT a.id, a.name, a.email, a.role FROM agent a WHERE a.role = 'agent'"
        " AND EXISTS (SELECT 1 FROM inbox_member m WHERE m.agent = a.id) ORDER BY a.id LIMIT 1"
    )
    if restricted_row is not None:
        restricted = info(restricted_row)
        visible = await access.visible_inbox_ids(restricted)
    else:
        restricted = me
        visible = None
    if not visible or len(visible) != 2:
        visible = [
            r["id"] for r in await pool.fetch("SELECT id FROM inbox ORDER BY id DESC LIMIT 2")
        ]

    open_ = ["open"]
    cases = [
        Case("a. inbox: status=open", "view", ListFilters(status=open_), admin),
        Case("a. all statuses", "view", ListFilters(), admin),
        Case(
            f"b. inbox_id={busiest_inbox} + open",
            "view",
            ListFilters(status=open_, inbox_id=busiest_inbox),
            admin,
        ),
        Case(
            f"b. assignee=me ({me.name}) + open",
            "view",
            ListFilters(status=open_, assignee="me"),
            me,
        ),
        Case("b. assignee=me, all statuses", "view", ListFilters(assignee="me"), me),
        Case("b. unassigned + open", "view", ListFilters(status=open_, assignee="none"), admin),
        Case("b. tag=billing + open", "view", ListFilters(status=open_, tag="billing"), admin),
        Case("b. tag=vip + open (rare tag)", "view", ListFilters(status=open_, tag="vip"), admin),
        Case(
            "b. priority=urgent + open", "view", ListFilters(status=open_, priority="urgent"), admin
        ),
        Case("b. priority=urgent, all statuses", "view", ListFilters(priority="urgent"), admin),
        Case("b. status=open,pending", "view", ListFilters(status=["open", "pending"]), admin),
        Case(
            "e. agent, 2 inboxes + open",
            "view",
            ListFilters(status=open_),
            restricted,
            visible=visible,
        ),
        Case("d. q=squirrel (rare word)", "search", ListFilters(q="squirrel"), admin),
        Case("d. q=internet (common word)", "search", ListFilters(q="internet"), admin),
        Case("d. q='fibre outage' (two words)", "search", ListFilters(q="fibre outage"), admin),
        Case(
            "d. q='internet router' (two common words)",
            "search",
            ListFilters(q="internet router"),
            admin,
        ),
        Case(
            "d. q='\"fibre outage\"' (phrase, no hit)",
            "search",
            ListFilters(q='"fibre outage"'),
            admin,
        ),
        Case("d. q='\"fibre box\"' (phrase)", "search", ListFilters(q='"fibre box"'), admin),
        Case("d. q=rout* (prefix)", "search", ListFilters(q="rout*"), admin),
        Case("d. q=internet + open", "search", ListFilters(status=open_, q="internet"), admin),
        Case("d. q=squirrel + open", "search", ListFilters(status=open_, q="squirrel"), admin),
        Case(
            "d. agent, q=internet, 2 inboxes",
            "search",
            ListFilters(q="internet"),
            restricted,
            visible=visible,
        ),
        Case(
            "d. agent, q='wifi router' (two common words), 2 inboxes",
            "search",
            ListFilters(q="wifi router"),
            restricted,
            visible=visible,
        ),
        # A word common overall (email sign-offs) that never occurs in the agent's chat inboxes.
        Case(
            "d. agent, q=regards, 2 inboxes",
            "search",
            ListFilters(q="regards"),
            restricted,
            visible=visible,
        ),
    ]
    # Second pages (keyset): the cursor the first page returned.
    for base_name, page_of in [
        ("c. page 2: status=open", cases[0]),
        ("c. page 2: assignee=me + open", cases[3]),
    ]:
        _, cursor = await run_once(page_of)
        if cursor:
            cases.append(
                Case(base_name, "view", page_of.filters, page_of.agent, page_of.visible, cursor)
            )
    # A deep page: 40 pages in (1,000 rows) - keyset cost should not grow with depth.
    deep = Case("c. page 41: status=open", "view", cases[0].filters, admin)
    for _ in range(40):
        _, deep.cursor = await run_once(deep)
    cases.append(deep)
    order = {"a": 0, "b": 1, "c": 2, "e": 3, "d": 4}
    cases.sort(key=lambda c: order[c.name[0]])
    return cases


async def compare_with_hub(case: Case) -> bool | None:
    """--proposed: does the rewrite return the same page (ids, order, cursor) as the hub?"""
    from proposed_list import list_conversations as new_list

    from hub.conversations.listing import list_conversations as hub_list

    kwargs = dict(
        agent=case.agent, visible_inboxes=case.visible, limit=case.limit, cursor=case.cursor
    )
    try:
        old_items, old_cursor = await hub_list(case.filters, **kwargs)
    except asyncpg.QueryCanceledError:
        return None
    new_items, new_cursor = await new_list(case.filters, **kwargs)
    return [i["id"] for i in old_items] == [i["id"] for i in new_items] and old_cursor == new_cursor


async def measure(case: Case, runs: int, warmup: int, budget: float) -> None:
    started = time.perf_counter()
    items: list[dict[str, Any]] = []
    try:
        for i in range(warmup):
            items, _ = await run_once(case)
            if i >= 1 and time.perf_counter() - started > budget / 3:
                break
        for i in range(runs):
            t0 = time.perf_counter()
            items, _ = await run_once(case)
            case.times.append((time.perf_counter() - t0) * 1000)
            if i >= 4 and time.perf_counter() - started > budget:
                break
    except (asyncpg.QueryCanceledError, InvalidChange):  # the hub's search answers a timeout so
        case.timed_out = True
    case.rows = len(items)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("HUB_BENCH_DSN", DEFAULT_DSN))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per case at most")
    parser.add_argument(
        "--statement-timeout", type=float, default=60.0, help="seconds per statement"
    )
    parser.add_argument(
        "--quiet-pct",
        type=float,
        default=35.0,
        help="wait before each case until the CPUs are at most this busy",
    )
    parser.add_argument(
        "--max-wait", type=float, default=30.0, help="seconds to wait for quiet per case"
    )
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN every case, not only misses"
    )
    parser.add_argument(
        "--proposed",
        action="store_true",
        help="time bench/proposed_list.py instead of hub.conversations.listing.list_conversations",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="with --proposed: check each page against the hub function first (runs the old SQL"
        " once per case, bounded by --statement-timeout)",
    )
    parser.add_argument("--only", nargs="*", help="run only cases whose name contains one of these")
    args = parser.parse_args()

    os.environ["HUB_RESOLVED_DSN"] = args.dsn
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    global PROPOSED
    PROPOSED = args.proposed
    if PROPOSED and str(Path(__file__).parent) not in sys.path:
        sys.path.insert(0, str(Path(__file__).parent))
    from hub.db import engine as db_engine

    # asyncpg passes unknown DSN query parameters to the server as settings.
    sep = "&" if "?" in args.dsn else "?"
    pool_dsn = f"{args.dsn}{sep}statement_timeout={int(args.statement_timeout * 1000)}"
    db = await db_engine.start(pool_dsn, min_size=1, max_size=2)
    try:
        pool = db.pool
        counts = await pool.fetchrow(
            "SELECT (SELECT count(*) FROM conversation) AS conversations,"
            " (SELECT reltuples::bigint FROM pg_class WHERE oid = 'message'::regclass) AS messages"
        )
        server = await pool.fetchval("SHOW server_version")
        variant = (
            "bench/proposed_list.py (proposed SQL)"
            if PROPOSED
            else "hub.conversations.listing.list_conversations"
        )
        print(f"timing {variant}")
        print(
            f"database: {counts['conversations']:,} conversations, ~{counts['messages']:,} messages;"
            f" PostgreSQL {server}; {os.cpu_count()} cores; {args.runs} runs per case after"
            f" {args.warmup} warm-up calls; one client"
        )
        cases = await build_cases(pool)
        if args.only:
            cases = [c for c in cases if any(o.lower() in c.name.lower() for o in args.only)]
        header = (
            f"{'case':<40} {'kind':<6} {'rows':>4} {'runs':>4} {'p50':>8} {'p95':>8} {'p99':>8}"
            f" {'target':>7} {'busy%':>5}  ok"
        )
        print(header)
        print("-" * len(header))
        results = []
        for case in cases:
            if PROPOSED and args.compare:
                case.same = await compare_with_hub(case)
            case.busy = wait_quiet(args.quiet_pct, args.max_wait)
            await measure(case, args.runs, args.warmup, args.budget)
            if case.timed_out or not case.times:
                limit_ms = args.statement_timeout * 1000
                print(
                    f"{case.name:<40} {case.kind:<6} {'-':>4} {len(case.times):>4} {'timeout':>8}"
                    f" {'>' + format(limit_ms, '.0f'):>8} {'':>8} {case.target:>7.0f} {case.busy:>5.0f}  NO{same_note(case)}",
                    flush=True,
                )
                results.append(
                    {
                        "case": case.name,
                        "kind": case.kind,
                        "runs": len(case.times),
                        "timeout_ms": limit_ms,
                        "target_ms": case.target,
                        "ok": False,
                        "busy_pct": round(case.busy),
                        "same_as_hub": case.same,
                    }
                )
                continue
            p50, p95, p99 = (pct(case.times, p) for p in (50, 95, 99))
            ok = p95 < case.target
            print(
                f"{case.name:<40} {case.kind:<6} {case.rows:>4} {len(case.times):>4} {p50:>8.2f} {p95:>8.2f}"
                f" {p99:>8.2f} {case.target:>7.0f} {case.busy:>5.0f}  {'yes' if ok else 'NO'}{same_note(case)}",
                flush=True,
            )
            results.append(
                {
                    "case": case.name,
                    "kind": case.kind,
                    "runs": len(case.times),
                    "rows": case.rows,
                    "p50_ms": round(p50, 2),
                    "p95_ms": round(p95, 2),
                    "p99_ms": round(p99, 2),
                    "mean_ms": round(statistics.fmean(case.times), 2),
                    "target_ms": case.target,
                    "ok": ok,
                    "busy_pct": round(case.busy),
                    "same_as_hub": case.same,
                }
            )
        print(
            json.dumps(
                {
                    "bench": "list_conversations",
                    "variant": "proposed" if PROPOSED else "hub",
                    "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "host": platform.node(),
                    "cores": os.cpu_count(),
                    "postgres": server,
                    "conversations": counts["conversations"],
                    "messages": counts["messages"],
                    "results": results,
                }
            )
        )
        misses = [c for c, r in zip(cases, results, strict=True) if args.explain or not r["ok"]]
        for case in misses:
            print()
            try:
                print(await explain(case))
            except (asyncpg.QueryCanceledError, InvalidChange):
                print(f"-- {case.name}: EXPLAIN ANALYZE hit the statement timeout")
    finally:
        await db_engine.stop()


if __name__ == "__main__":
    asyncio.run(main())
