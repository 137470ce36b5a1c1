#!/usr/bin/env python
"""Server-side render time of the inbox pages against a large database.

    .venv/bin/python bench/inbox_pages.py [--dsn postgresql://postgres@127.0.0.1:5432/hub_bench]
                                          [--requests 300] [--messages 500]

Measures, one request at a time, the time from the ASGI call to the last byte of the response
for: the inbox page (All, open; an admin sees every inbox), the "Mine" view of an agent who
sees only their inboxes, the rows partial the live updates fetch, and a conversation page whose
conversation has at least --messages timeline items. The app is called in-process through
httpx's ASGI transport (no sockets, no uvicorn), so the figures are the server's own work:
authentication, the queries, and the Jinja render. It prints p50/p95/p99, the HTML size and the
number of SQL statements per page.

It needs a loaded hub database (bench/seed.py makes one with 1,000,000 conversations). It
changes it only by adding timeline items to one conversation if none has --messages of them
(once), and two login sessions, deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, bench/ is first on the path, and a bench module may shadow the standard
# library (bench/email.py hides `email`): import from the project root instead.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/hub_bench"
_counter: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("sql", default=None)


def count_statements() -> None:
    """Count asyncpg statements issued in a ContextVar scope (the pool's reset excluded)."""
    import asyncpg

    def wrap(original: Any) -> Any:
        @functools.wraps(original)
        async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            seen = _counter.get()
            if seen is not None and query != self.get_reset_query():
                seen.append(query)
            return await original(self, query, *args, **kwargs)

        return counted

    for name in ("fetch", "fetchrow", "fetchval", "fetchmany", "execute", "executemany"):
        setattr(asyncpg.Connection, name, wrap(getattr(asyncpg.Connection, name)))


async def long_conversation(pool: Any, messages: int) -> tuple[int, int]:
    """A conversation with at least `messages` items: an existing one, or one made so (once)."""
    row = await pool.fetchrow(
        "SELECT conversation, count(*) AS n FROM message WHERE provider_message_id LIKE 'bench-long-%'"
        " GROUP BY conversation ORDER BY n DESC LIMIT 1"
    )
    if row is not None and row["n"] >= messages:
        total = await pool.fetchval(
            "SELECT count(*) FROM message WHERE conversation = $1", row["conversation"]
        )
        return int(row["conversation"]), int(total)
    # The newest open conversation: the one an agent is most likely to have open.
    conv = await pool.fetchrow(
        "SELECT id, inbox, contact FROM conversation WHERE status = 'open'"
        " ORDER BY last_message_at DESC, id DESC LIMIT 1"
    )
    agent_id = await pool.fetchval("SELECT id FROM agent ORDER BY id LIMIT 1")
    existing = await pool.fetchval(
        "SELECT count(*) FROM message WHERE conversation = $1", conv["id"]
    )
    missing = max(0, messages - int(existing))
    # A realistic mix, oldest first: customer messages, replies (sent), notes, activity lines.
    await pool.execute(
        """
        INSERT INTO message (conversation, inbox, kind, direction, author_type, author_id, text,
                             html, status, error, provider_message_id, attempts, meta, created_at,
                             updated_at, sent_at)
        SELECT $1::int, $2::int,
               CASE WHEN n % 10 = 7 THEN 'note' WHEN n % 10 = 9 THEN 'event' ELSE 'message' END,
               CASE WHEN n % 10 IN (7, 9) THEN NULL WHEN n % 2 = 0 THEN 'in' ELSE 'out' END,
               CASE WHEN n % 10 = 9 THEN 'agent' WHEN n % 10 <> 7 AND n % 2 = 0 THEN 'contact' ELSE 'agent' END,
               CASE WHEN n % 10 <> 7 AND n % 10 <> 9 AND n % 2 = 0 THEN $3::bigint ELSE $4::bigint END,
               CASE WHEN n % 10 = 9 THEN 'Ada set priority to high'
                    ELSE 'Message ' || n || ': the router restarts every evening around eight, '
                         || 'the fiber light stays green but the connection drops for a minute or two.'
               END,
               '', CASE WHEN n % 10 IN (7, 9) OR n % 2 = 0 THEN 'received' ELSE 'sent' END, '',
               CASE WHEN n % 10 NOT IN (7, 9) AND n % 2 = 0 THEN 'bench-long-' || $1::int::text || '-' || n END,
               0, '{}'::jsonb,
               now() - make_interval(mins => ($5::int - n) * 30), now() - make_interval(mins => ($5::int - n) * 30),
               CASE WHEN n % 10 NOT IN (7, 9) AND n % 2 = 1 THEN now() - make_interval(mins => ($5::int - n) * 30) END
        FROM generate_series(1, $5::int) AS n
        """,
        conv["id"],
        conv["inbox"],
        conv["contact"],
        agent_id,
        missing,
    )
    await pool.execute("UPDATE conversation SET last_message_at = now() WHERE id = $1", conv["id"])
    return int(conv["id"]), int(existing) + missing


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def measure(client: Any, url: str, cookie: str, requests: int) -> dict[str, Any]:
    headers = {"cookie": f"hub_session={cookie}"}
    for _ in range(max(10, requests // 10)):  # warm caches, prepared statements, templates
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
    seen: list[str] = []
    token = _counter.set(seen)
    response = await client.get(url, headers=headers)
    _counter.reset(token)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return {
        "url": url,
        "p50": statistics.median(times),
        "p95": percentile(times, 0.95),
        "p99": percentile(times, 0.99),
        "max": max(times),
        "bytes": len(response.content),
        "statements": len(seen),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()
    os.environ["HUB_RESOLVED_DSN"] = args.dsn

    import httpx

    from hub.auth import accounts
    from hub.conversations.listing import encode_cursor
    from hub.db import engine
    from hub.system import services
    from hub.system.config import Settings
    from web.app import create_app

    count_statements()
    # The pages read settings through hub.system.services (the session's idle limit), so the
    # services are started, without the worker; they start the engine's pool.
    tmp_dir = tempfile.TemporaryDirectory()
    settings = Settings(
        database_url=args.dsn, data_dir=Path(tmp_dir.name), secret_key="bench-" + "x" * 40
    )
    await services.start(settings)
    pool = engine.engine().pool
    assert pool is not None
    conversations = await pool.fetchval("SELECT count(*) FROM conversation")
    conversation_id, items = await long_conversation(pool, args.messages)
    admin = await pool.fetchrow(
        "SELECT id, email FROM agent WHERE role = 'admin' AND active LIMIT 1"
    )
    agent = (
        await pool.fetchrow(
            "SELECT a.id, a.email FROM agent a WHERE a.role = 'agent' AND a.active AND EXISTS"
            " (SELECT 1 FROM inbox_member m WHERE m.agent = a.id"
            "  UNION SELECT 1 FROM team_member t WHERE t.agent = a.id) ORDER BY a.id LIMIT 1"
        )
        or admin
    )
    admin_token, _ = await accounts.create_session(admin["id"], max_age=3600, user_agent="bench")
    # The second page of the default list: a keyset cursor from the 25th row.
    last = await pool.fetchrow(
        "SELECT last_message_at, id FROM conversation WHERE status = 'open'"
        " ORDER BY last_message_at DESC, id DESC OFFSET 24 LIMIT 1"
    )
    cursor = encode_cursor(last["last_message_at"].isoformat(), last["id"])
    # The second page of the waiting order: its own cursor, from the 25th longest-waiting row.
    from hub.conversations.inbox_views import _encode_waiting_cursor

    first = await pool.fetchrow(
        "SELECT waiting_since, id FROM conversation WHERE status = 'open'"
        " AND waiting_since IS NOT NULL ORDER BY waiting_since, id OFFSET 24 LIMIT 1"
    )
    waiting = _encode_waiting_cursor(first["waiting_since"], first["id"])
    agent_token, _ = await accounts.create_session(agent["id"], max_age=3600, user_agent="bench")
    with tmp_dir:
        # No lifespan: the pages need only the database pool, started above.
        app = create_app(settings, run_worker=False, apply_migrations=False)
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        results = []
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                plan = [
                    ("inbox, All open (admin)", "/inbox", admin_token),
                    (f"inbox, Mine ({agent['email']})", "/inbox?assignee=me", agent_token),
                    ("rows partial, live refresh", "/inbox/rows?refresh=1", admin_token),
                    ("inbox, All open, page 2", "/inbox?cursor=" + cursor, admin_token),
                    ("inbox, sorted by waiting time", "/inbox?sort=waiting", admin_token),
                    (
                        "inbox, waiting, page 2",
                        "/inbox?sort=waiting&cursor=" + waiting,
                        admin_token,
                    ),
                    ("inbox, waiting, all statuses", "/inbox?sort=waiting&status=all", admin_token),
                    ("inbox, Mine by waiting time", "/inbox?sort=waiting&assignee=me", agent_token),
                    (
                        "inbox, waiting + search 'router'",
                        "/inbox?sort=waiting&q=router",
                        admin_token,
                    ),
                    ("inbox, search 'internet' (admin)", "/inbox?q=internet", admin_token),
                    ("inbox, search 'internet' (agent)", "/inbox?q=internet", agent_token),
                    ("inbox, search 'regards' (agent)", "/inbox?q=regards", agent_token),
                    ("inbox, nearest SLA deadline", "/inbox?sort=sla_due", admin_token),
                    ("inbox, Unassigned", "/inbox?assignee=none", admin_token),
                    ("inbox, tag vip", "/inbox?tag=vip", admin_token),
                    ("inbox, all statuses", "/inbox?status=all", admin_token),
                    (
                        f"conversation {conversation_id} ({items} items)",
                        f"/inbox/conversations/{conversation_id}",
                        admin_token,
                    ),
                ]
                for label, url, token in plan:
                    print(f"measuring {label} …", file=sys.stderr, flush=True)
                    result = await measure(client, url, token, args.requests)
                    results.append((label, result))
        finally:
            await pool.execute("DELETE FROM agent_session WHERE user_agent = 'bench'")
            await services.stop()

    load = os.getloadavg()
    print(f"database: {args.dsn} ({conversations:,} conversations); {args.requests} requests each,")
    print(f"one at a time, in-process ASGI; load average {load[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"{'page':44} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'KB':>6} {'SQL':>4}"
    )
    for label, r in results:
        print(
            f"{label:44} {r['p50']:7.1f} {r['p95']:7.1f} {r['p99']:7.1f} {r['max']:7.1f}"
            f" {r['bytes'] / 1024:6.1f} {r['statements']:4d}"
        )


if __name__ == "__main__":
    asyncio.run(main())
