#!/usr/bin/env python
"""Plan audit: do the list queries' and outbound dispatch's prepared statements keep good plans
after a cold start on empty tables followed by a load?

    python bench/plan_audit.py [--dsn postgresql://postgres@127.0.0.1:5432/hub_bench_search_audit]
                               [--conversations 100000] [--runs 10]

asyncpg prepares every statement and keeps it per connection; after five executions PostgreSQL
may switch a statement to a generic plan (one plan for any parameter values), and a plan made
while the tables were empty stays cached until something invalidates it (an ANALYZE, DDL).
The trap found in `hub_ingest` was such a plan. This script:

1. seeds --conversations into its own database (bench/seed.py), moves the rows aside into
   stash tables and empties the real ones (autovacuum off on them, so nothing re-analyzes);
2. (before that, on the loaded tables) captures the SQL the hub sends (list views, searches, the waiting order, the navigation,
   outbound dispatch's claim/build/sweep) by running the real functions, recording asyncpg's
   fetches;
3. on one connection, PREPAREs each statement and EXECUTEs it --runs times on the empty tables;
4. loads the rows back with INSERT (no ANALYZE: the window before autovacuum's), and prints,
   per statement, the plan the connection now has cached (EXPLAIN EXECUTE) and the time of
   EXPLAIN ANALYZE EXECUTE under plan_cache_mode = auto (what the app gets), force_generic_plan
   and force_custom_plan;
5. ANALYZEs, runs each statement --runs times again and reports the same, plus
   pg_prepared_statements' generic/custom plan counts.

A statement "regresses" when its auto time is more than twice its custom-plan time and over
5 ms. The hub's search statements run with plan_cache_mode = force_custom_plan (SET LOCAL in
hub.conversations.search), so for them the app gets the "custom" column, not "auto".
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import asyncpg  # noqa: E402

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/hub_bench_search_audit"
TABLES = ["contact", "contact_identity", "conversation", "conversation_tag", "message"]


def seed(dsn: str, conversations: int) -> None:
    subprocess.run(
        [sys.executable, str(HERE / "seed.py"), "--dsn", dsn, "--conversations",
         str(conversations), "--fresh"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def literal(value: Any) -> str:
    """A bind value as an SQL literal for EXECUTE (ints, text, arrays, timestamps)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return f"'{value.isoformat()}'::timestamptz"
    if isinstance(value, list):
        kind = "int[]" if all(isinstance(v, int) for v in value) and value else "text[]"
        return f"ARRAY[{', '.join(literal(v) for v in value)}]::{kind}"
    return "'" + str(value).replace("'", "''") + "'"


class Recorder:
    """Records every statement asyncpg connections send (fetch/fetchrow/fetchval/execute)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        self.saved: dict[str, Any] = {}

    def __enter__(self) -> Recorder:
        for name in ("fetch", "fetchrow", "fetchval"):
            original = getattr(asyncpg.connection.Connection, name)
            self.saved[name] = original

            def make(original: Any) -> Any:
                async def recorded(conn: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
                    self.statements.append((sql, args))
                    return await original(conn, sql, *args, **kwargs)

                return recorded

            setattr(asyncpg.connection.Connection, name, make(original))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self.saved.items():
            setattr(asyncpg.connection.Connection, name, original)


async def capture(pool: Any) -> list[tuple[str, str, tuple[Any, ...]]]:
    """(label, sql, args) of every statement the audited hub functions send."""
    from hub.auth.accounts import AgentInfo
    from hub.conversations import inbox_views, listing, search
    from hub.conversations.listing import ListFilters
    from hub.outbox import dispatch

    WALK, WALK_MAX = search.WALK, search.WALK_MAX
    admin = AgentInfo(id=1, name="Ada", email="ada@isp.example", role="admin")
    agent = AgentInfo(id=3, name="Priya", email="priya@isp.example", role="agent")
    two = [3, 4]
    cases: list[tuple[str, Any]] = [
        ("list: open", lambda: listing.list_conversations(ListFilters(status=["open"]), agent=admin, visible_inboxes=None)),
        ("list: all statuses", lambda: listing.list_conversations(ListFilters(), agent=admin, visible_inboxes=None)),
        ("list: inbox 1 + open", lambda: listing.list_conversations(ListFilters(status=["open"], inbox_id=1), agent=admin, visible_inboxes=None)),
        ("list: mine + open", lambda: listing.list_conversations(ListFilters(status=["open"], assignee="me"), agent=agent, visible_inboxes=None)),
        ("list: tag vip + open", lambda: listing.list_conversations(ListFilters(status=["open"], tag="vip"), agent=admin, visible_inboxes=None)),
        ("list: 2 inboxes + open", lambda: listing.list_conversations(ListFilters(status=["open"]), agent=agent, visible_inboxes=two)),
        ("list: sla_due", lambda: listing.list_conversations(ListFilters(sort="sla_due"), agent=admin, visible_inboxes=None)),
        ("search: squirrel", lambda: listing.list_conversations(ListFilters(q="squirrel"), agent=admin, visible_inboxes=None)),
        ("search: agent regards", lambda: listing.list_conversations(ListFilters(q="regards"), agent=agent, visible_inboxes=two)),
        ("waiting: open", lambda: inbox_views.list_by_waiting(ListFilters(status=["open"]), agent=admin, visible=None)),
        ("waiting: 2 inboxes", lambda: inbox_views.list_by_waiting(ListFilters(status=["open"]), agent=agent, visible=two)),
        ("navigation: agent", lambda: inbox_views.navigation(agent, two)),
        ("contact card", lambda: inbox_views.contact_card(1, current_conversation=1, visible=two)),
        ("timeline", lambda: listing.list_messages(1)),
    ]  # fmt: skip
    cases += [
        ("search (index first): squirrel", lambda: listing.list_conversations(ListFilters(q="squirrel"), agent=admin, visible_inboxes=None)),
        ("search (index first): agent regards", lambda: listing.list_conversations(ListFilters(q="regards"), agent=agent, visible_inboxes=two)),
    ]  # fmt: skip
    out: list[tuple[str, str, tuple[Any, ...]]] = []
    for label, call in cases:
        # The index-first statements run when a walk finds too little: make it find nothing.
        search.WALK, search.WALK_MAX = (1, 1) if "index first" in label else (WALK, WALK_MAX)
        with Recorder() as recorder:
            try:
                await call()
            except Exception as exc:  # e.g. NotFound on empty tables: the SQL was still sent
                if not recorder.statements:
                    print(f"  {label}: nothing captured ({exc})", file=sys.stderr)
        search.WALK, search.WALK_MAX = WALK, WALK_MAX
        for n, (sql, args) in enumerate(recorder.statements):
            if sql.lstrip().upper().startswith("SET"):
                continue
            out.append((f"{label} [{n}]", sql, args))
    # Outbound dispatch: the claim (on an id that is not pending: it changes nothing), the
    # statements that build a reply (for a real outgoing message), the sweep's pending query.
    with Recorder() as recorder:
        await dispatch._claim(10**9)
    out += [("dispatch: claim", s, a) for s, a in recorder.statements]
    row = await pool.fetchrow(
        "SELECT id, conversation, inbox, author_id, text, html, attempts, meta FROM message"
        " WHERE direction = 'out' AND kind = 'message' ORDER BY id DESC LIMIT 1"
    )
    with Recorder() as recorder:
        try:
            await dispatch._build(row, Path("/nonexistent"))
        except Exception as exc:  # e.g. a contact without an address for the channel
            print(f"  dispatch build: {exc}", file=sys.stderr)
    out += [(f"dispatch: build [{n}]", s, a) for n, (s, a) in enumerate(recorder.statements)]
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    out.append(
        (
            "dispatch: sweep, pending part",
            "SELECT id, attempts FROM message WHERE status = 'pending' AND direction = 'out'"
            " AND kind = 'message' AND updated_at < $1 ORDER BY id LIMIT 1000",
            (stale,),
        )
    )
    return out


def normalise_params(sql: str) -> str:
    """Renumber $n so that a statement whose first parameters were dropped still prepares."""
    used = sorted({int(n) for n in re.findall(r"\$(\d+)", sql)})
    for new, old in enumerate(used, 1):
        sql = re.sub(rf"\${old}(?!\d)", f"$__{new}", sql)
    return sql.replace("$__", "$")


async def explain(
    conn: asyncpg.Connection, name: str, args: str, mode: str, analyze: bool
) -> tuple[float | None, str]:
    await conn.execute(f"SET plan_cache_mode = {mode}")
    options = "(ANALYZE, BUFFERS)" if analyze else ""
    try:
        rows = await conn.fetch(f"EXPLAIN {options} EXECUTE {name}{args}")
    finally:
        await conn.execute("SET plan_cache_mode = auto")
    text = "\n".join(r[0] for r in rows)
    match = re.search(r"Execution Time: ([\d.]+) ms", text)
    return (float(match.group(1)) if match else None), text


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("HUB_AUDIT_DSN", DEFAULT_DSN))
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--plans", action="store_true", help="print every cached plan")
    args = parser.parse_args()

    started = time.monotonic()
    print(f"seeding {args.conversations:,} conversations into {args.dsn} …", file=sys.stderr)
    await asyncio.to_thread(seed, args.dsn, args.conversations)
    from hub.db import engine

    db = await engine.start(args.dsn, min_size=1, max_size=2)
    assert db.pool is not None
    statements = await capture(db.pool)  # on the loaded tables, so every branch runs

    admin = await asyncpg.connect(args.dsn)
    for table in TABLES:
        await admin.execute(f"DROP TABLE IF EXISTS stash_{table}")
        await admin.execute(f"CREATE TABLE stash_{table} AS SELECT * FROM {table}")
        await admin.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
    await admin.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    for table in TABLES:
        await admin.execute(f"ANALYZE {table}")

    app = await asyncpg.connect(args.dsn)  # stands for one of the app's pooled connections
    prepared: list[tuple[str, str, str, str]] = []  # (label, name, args, sql)
    for n, (label, sql, values) in enumerate(statements):
        sql_n = normalise_params(sql)
        used = sorted({int(x) for x in re.findall(r"\$(\d+)", sql)})
        values_used = [values[i - 1] for i in used] if values else []
        name = f"audit_{n}"
        try:
            await app.execute(f"PREPARE {name} AS {sql_n}")
        except asyncpg.PostgresError as exc:
            print(f"  {label}: cannot PREPARE ({exc})", file=sys.stderr)
            continue
        call = f"({', '.join(literal(v) for v in values_used)})" if values_used else ""
        for _ in range(args.runs):
            await app.execute(f"EXECUTE {name}{call}")
        prepared.append((label, name, call, sql))

    def cols(v: float | None) -> str:
        return "   -   " if v is None else f"{v:7.1f}"

    results: list[dict[str, Any]] = []

    async def report(phase: str) -> None:
        print(f"\n## {phase}")
        print(
            f"{'statement':44} {'cached plan (first line)':58} {'auto':>7} {'generic':>7} {'custom':>7} gen/cust"
        )
        for label, name, call, sql in prepared:
            # What `auto` chose over the executions so far, before this report adds its own.
            counts = await app.fetchrow(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1",
                name,
            )
            if "SELECT m.conversation FROM message m" in sql:
                await app.execute("SET enable_seqscan = off")  # as hub.conversations.search does
            _, cached = await explain(app, name, call, "auto", analyze=False)
            timings: dict[str, float | None] = {}
            plans: dict[str, str] = {}
            for mode in ("force_custom_plan", "force_generic_plan", "auto"):
                runs = [await explain(app, name, call, mode, analyze=True) for _ in range(2)]
                times = [t for t, _ in runs if t is not None]
                timings[mode] = min(times) if times else None
                plans[mode] = runs[-1][1]
            await app.execute("SET enable_seqscan = on")
            auto, generic, custom = (
                timings["auto"],
                timings["force_generic_plan"],
                timings["force_custom_plan"],
            )
            auto_plan = plans["auto"]
            first = cached.splitlines()[0].split("  (")[0][:58]
            flag = ""
            if auto is not None and custom is not None and auto > 2 * custom + 5:
                flag = "  REGRESSES"
            elif generic is not None and custom is not None and generic > 2 * custom + 5:
                flag = "  (generic plan would regress)"
            print(f"{label:44} {first:58} {cols(auto)} {cols(generic)} {cols(custom)}"
                  f" {counts['generic_plans']:>3}/{counts['custom_plans']:<3}{flag}")  # fmt: skip
            if args.plans or "REGRESSES" in flag:
                print("   cached plan:\n   " + "\n   ".join(cached.splitlines()[:25]))
                print("   auto, analyzed:\n   " + "\n   ".join(auto_plan.splitlines()[:25]))
            results.append({"phase": phase, "statement": label, "auto_ms": auto,
                            "generic_ms": generic, "custom_ms": custom,
                            "generic_plans": counts["generic_plans"],
                            "custom_plans": counts["custom_plans"], "regresses": bool(flag)})  # fmt: skip

    print(
        f"# plan audit, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{len(prepared)} statements, each executed {args.runs} times on empty tables first")
    for table in TABLES:
        columns = [
            r["attname"]
            for r in await admin.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0"
                " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                table,
            )
        ]
        names = ", ".join(columns)
        await admin.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM stash_{table}")
    await report(f"loaded ({args.conversations:,} conversations), not analyzed yet")
    for table in TABLES:
        await admin.execute(f"ANALYZE {table}")
    for _label, name, call, _sql in prepared:
        for _ in range(args.runs):
            await app.execute(f"EXECUTE {name}{call}")
    await report("after ANALYZE and another round of executions")

    for table in TABLES:
        await admin.execute(f"ALTER TABLE {table} RESET (autovacuum_enabled)")
        await admin.execute(f"DROP TABLE stash_{table}")
    await app.close()
    await admin.close()
    await engine.stop()
    print(
        json.dumps(
            {
                "bench": "plan_audit",
                "seconds": round(time.monotonic() - started),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
