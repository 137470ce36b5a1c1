"""Login costs: the password policy check, and what idle expiry and the two-factor flag add to
the session check every cookie-authenticated request makes.

    .venv/bin/python bench/login.py [--calls 3000]

1. The common-password list: time to load it (once per process) and per `passwords.check`.
2. A fresh database hub_bench_login, migrated; one agent with a session.
3. `accounts.session_principal` (the idle condition, the two-factor EXISTS, the last-seen touch
   at most once a minute) against the session query from before this change, run alternately in
   the same process, each N times sequentially on one connection pool. Prints p50/p99 of each.
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
import contextlib
import json
import os
import statistics
import time

from bench.common import recreate_database
from hub.auth import passwords
from hub.system.crypto import sha256_hex

OLD_QUERY = (
    "SELECT a.id, a.name, a.email, a.role, s.csrf_token FROM agent_session s"
    " JOIN agent a ON a.id = s.agent WHERE s.token_hash = {} AND s.expires_at > now()"
    " AND a.active"
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(calls: int) -> None:
    started = time.perf_counter()
    passwords.common_passwords()
    load_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    for i in range(calls):
        with contextlib.suppress(passwords.WeakPassword):
            passwords.check(f"candidate password {i}")
    check_us = (time.perf_counter() - started) / calls * 1e6

    dsn = await recreate_database("hub_bench_login")
    os.environ["HUB_RESOLVED_DSN"] = dsn  # read by the engine when it is first imported
    from hub.auth import accounts
    from hub.db import engine
    from hub.db.migrate import migrate

    await migrate(dsn)
    await engine.start(dsn)
    try:
        agent = await accounts.create_agent("bench@example.com", "bench login password")
        token, _ = await accounts.create_session(agent.id, max_age=3600)
        from hub.db.tables import AgentSession

        new: list[float] = []
        old: list[float] = []
        for _ in range(calls):
            t = time.perf_counter()
            assert await accounts.session_principal(token, idle_seconds=3600) is not None
            new.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            # As the old code ran it: through Piccolo's raw(), like the new one.
            assert await AgentSession.raw(OLD_QUERY, sha256_hex(token))
            old.append((time.perf_counter() - t) * 1000)
    finally:
        await engine.stop()
    figures = {
        "list_entries": len(passwords.common_passwords()),
        "list_load_ms": round(load_ms, 1),
        "policy_check_us": round(check_us, 1),
        "session_check_ms_p50": round(statistics.median(new), 3),
        "session_check_ms_p99": round(pct(new, 0.99), 3),
        "old_session_check_ms_p50": round(statistics.median(old), 3),
        "old_session_check_ms_p99": round(pct(old, 0.99), 3),
        "calls": calls,
    }
    print(
        f"common passwords: {figures['list_entries']} loaded in {load_ms:.1f} ms;"
        f" check {check_us:.1f} µs each"
    )
    print(
        f"session check: {figures['session_check_ms_p50']} ms p50 /"
        f" {figures['session_check_ms_p99']} ms p99 (before: {figures['old_session_check_ms_p50']}"
        f" / {figures['old_session_check_ms_p99']} ms), {calls} calls each"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    asyncio.run(main(parser.parse_args().calls))
