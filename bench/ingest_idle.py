"""What `hub serve` costs with no requests at all: CPU of its processes and of its PostgreSQL.

    .venv/bin/python bench/ingest_idle.py [--processes 1] [--seconds 20]

A fresh database hub_bench_ingest_idle, a hub set up as bench/ingest.py does (admin, API key, an
`api` inbox), 15 s to settle, then the CPU seconds of the server's process tree and of the
database's backends over `--seconds`. On a busy machine this fixed cost (crons, queue polling,
relays) is charged to every request the hub gets to answer.
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
import json
import os
import tempfile
import time

from bench.common import (
    cpu_delta,
    postgres_cpu_by_pid,
    process_cpu,
    recreate_database,
    setup_hub,
    start_hub,
    stop_server,
)

DATABASE = "hub_bench_ingest_idle"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    dsn = asyncio.run(recreate_database(DATABASE))
    work = Path(tempfile.mkdtemp(prefix="hub-bench-idle-"))
    server = start_hub(
        dsn,
        work / "data",
        work,
        processes=args.processes,
        pool_size=max(2, 10 // args.processes),
    )
    try:
        setup_hub(server.url)
        time.sleep(15)
        hub0, pg0 = process_cpu(server.pid), postgres_cpu_by_pid(DATABASE)
        time.sleep(args.seconds)
        hub1, pg1 = process_cpu(server.pid), postgres_cpu_by_pid(DATABASE)
    finally:
        stop_server(server)
    print(
        json.dumps(
            {
                "bench": "ingest_idle",
                "processes": args.processes,
                "seconds": args.seconds,
                "hub_cpu_s": round(hub1 - hub0, 2),
                "postgres_cpu_s": round(cpu_delta(pg0, pg1), 2),
                "loadavg": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
