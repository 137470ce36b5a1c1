"""The audit log's CSV export and filtered page: speed and memory on a large log.

    .venv/bin/python bench/audit_export.py [--rows 200000]

1. A fresh database hub_bench_audit with the hub's migrations; N entries written straight into
   audit_log (20 actors, 12 actions, a small JSON payload each, spread over 90 days).
2. `hub.auth.audit_log.export_csv` of everything, in-process: rows/s, bytes, and the peak Python
   memory (tracemalloc, in a second pass) while streaming, which must stay flat however large
   the log is.
3. The page query (`search`, 50 rows) with an actor + action prefix filter, and with a date
   range, 20 times each: median ms.
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
import time
import tracemalloc

from bench.common import recreate_database

DATABASE = "hub_bench_audit"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    dsn = await recreate_database(DATABASE)
    os.environ["HUB_RESOLVED_DSN"] = dsn
    from hub.auth import audit_log
    from hub.auth.audit_log import AuditFilters
    from hub.db import engine
    from hub.db.migrate import migrate

    await migrate(dsn)
    await engine.start(dsn)
    pool = engine.connection_pool()
    await pool.execute(
        "INSERT INTO audit_log (actor_type, actor_id, action, target_type, target_id, data, ip,"
        " created_at) SELECT 'agent', 1 + g % 20, (ARRAY['auth.login', 'auth.login_failed',"
        " 'role.update', 'agent.update', 'inbox.updated', 'sla.policy_updated', 'team.members',"
        " 'crm.linked', 'contact.merged', 'api_key.created', 'audit.export', 'auth.logout'])"
        "[1 + g % 12], 'agent', g, jsonb_build_object('n', g, 'note', 'x'), '192.0.2.' || g % 250,"
        " now() - (g % 90) * interval '1 day' FROM generate_series(1, $1) g",
        args.rows,
    )
    await pool.execute("ANALYZE audit_log")

    started = time.perf_counter()
    rows = size = 0
    async for chunk in audit_log.export_csv(AuditFilters()):
        rows += chunk.count("\n")
        size += len(chunk.encode())
    seconds = time.perf_counter() - started
    # Memory in a second pass: tracemalloc slows Python down several times.
    tracemalloc.start()
    async for _chunk in audit_log.export_csv(AuditFilters()):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    async def timed(filters: AuditFilters) -> float:
        laps = []
        for _ in range(20):
            t = time.perf_counter()
            await audit_log.search(filters, limit=50)
            laps.append((time.perf_counter() - t) * 1000)
        return round(statistics.median(laps), 2)

    now = dt.datetime.now(dt.UTC)
    result = {
        "rows": args.rows,
        "export_rows_per_s": round((rows - 1) / seconds),
        "export_seconds": round(seconds, 2),
        "export_mb": round(size / 1e6, 1),
        "export_peak_python_mb": round(peak / 1e6, 1),
        "page_actor_and_prefix_ms": await timed(AuditFilters(actor_id=7, action="auth.")),
        "page_date_range_ms": await timed(
            AuditFilters(since=now - dt.timedelta(days=31), until=now - dt.timedelta(days=30))
        ),
        "page_unfiltered_ms": await timed(AuditFilters()),
    }
    await engine.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
