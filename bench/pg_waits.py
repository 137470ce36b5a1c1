"""Sample pg_stat_activity of one database: what its backends are doing and waiting on.

    .venv/bin/python bench/pg_waits.py DATABASE SECONDS [--hz 50]

Prints, per (state, wait event, first words of the query), the share of samples in which a
backend was found there: where PostgreSQL time goes under load, without pg_stat_statements.
bench/ingest.py --diagnose uses `sample` during an extra, unmeasured hub run.
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
import re
from collections import Counter

import asyncpg

from bench.common import dsn_for

QUERY = """
SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait, query
  FROM pg_stat_activity
 WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""


def _shape(query: str) -> str:
    text = re.sub(r"\s+", " ", query).strip()
    text = re.sub(r"'[^']*'", "'…'", text)
    return text[:90]


async def sample(database: str, seconds: float, hz: float = 50) -> dict[str, object]:
    conn = await asyncpg.connect(dsn_for(database))
    counts: Counter[tuple[str, str, str]] = Counter()
    samples = 0
    busy_backends = 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    n = 0
    try:
        while loop.time() - start < seconds:
            rows = await conn.fetch(QUERY, database)
            samples += 1
            for r in rows:
                if r["state"] in ("idle",):
                    continue
                busy_backends += 1
                counts[(r["state"] or "?", r["wait"], _shape(r["query"] or ""))] += 1
            n += 1
            # paced by schedule: sample k is due at start + k / hz
            await asyncio.sleep(max(0.0, start + n / hz - loop.time()))
    finally:
        await conn.close()
    return {
        "samples": samples,
        "mean_busy_backends": round(busy_backends / max(samples, 1), 2),
        "top": [
            {"share_of_samples": round(c / max(samples, 1), 3), "state": s, "wait": w, "query": q}
            for (s, w, q), c in counts.most_common(25)
        ],
    }


def print_report(report: dict[str, object]) -> None:
    print(
        f"pg_stat_activity: {report['samples']} samples,"
        f" {report['mean_busy_backends']} non-idle backends on average"
    )
    for row in report["top"]:  # type: ignore[attr-defined]
        print(
            f"  {row['share_of_samples']:6.2f}  {row['state'][:19]:19s} {row['wait'][:32]:32s}"
            f" {row['query']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database")
    parser.add_argument("seconds", type=float)
    parser.add_argument("--hz", type=float, default=50)
    args = parser.parse_args()
    print_report(asyncio.run(sample(args.database, args.seconds, args.hz)))


if __name__ == "__main__":
    main()
