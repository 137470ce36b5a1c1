"""Notification fan-out: one notification to 200 agents, from the call to the last socket.

    .venv/bin/python bench/notifications.py [--agents 200] [--rounds 50]

1. A fresh database hub_bench_notifications; `hub serve` in its default single-process mode (no
   REDIS_URL: PostgreSQL LISTEN/NOTIFY fan-out, in-process worker), HUB_LOG_LEVEL=warning.
2. N agents in one team, each with an API key (written straight to the tables: N argon2 logins
   would only measure argon2), and one /ws/agent socket each.
3. Each round, `hub.notifications.notify(team_id=…)` (what automation's "notify" and the
   subscriber's team fan-out both end in) writes N notification rows and N private
   `notification.created` events in one transaction, then the notice goes out on the fan-out;
   the hub's relay reads the events and hands each agent its own. Timed from just before the call
   to the arrival on every socket: p50/p99/max of "the last socket", and p99 of every socket.
   Every socket must get exactly its own notification (counted).
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
import secrets
import tempfile
import time
from typing import Any

import websockets

from bench.common import percentile, recreate_database, running, start_hub, wait_quiet

DATABASE = "hub_bench_notifications"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    dsn = await recreate_database(DATABASE)
    os.environ["HUB_RESOLVED_DSN"] = dsn
    with (
        tempfile.TemporaryDirectory() as tmp,
        running(start_hub(dsn, Path(tmp) / "data", Path(tmp))) as server,
    ):
        await run(server.url, dsn, args.agents, args.rounds)


async def _agents(pool: Any, count: int) -> tuple[int, list[tuple[int, str]]]:
    from hub.system.crypto import sha256_hex

    team = await pool.fetchval("INSERT INTO team (name) VALUES ('Bench') RETURNING id")
    agents: list[tuple[int, str]] = []
    for n in range(count):
        agent = await pool.fetchval(
            "INSERT INTO agent (email, name, password_hash, role, active, availability, created_at)"
            " VALUES ($1, $2, '', 'agent', true, 'available', now()) RETURNING id",
            f"bench-{n}@example.com",
            f"Agent {n}",
        )
        key = "hub_" + secrets.token_urlsafe(32)
        await pool.execute(
            "INSERT INTO api_key (agent, name, prefix, key_hash, created_at)"
            " VALUES ($1, 'bench', $2, $3, now())",
            agent,
            key[:10],
            sha256_hex(key),
        )
        await pool.execute("INSERT INTO team_member (team, agent) VALUES ($1, $2)", team, agent)
        agents.append((agent, key))
    return team, agents


async def run(url: str, dsn: str, count: int, rounds: int) -> None:
    from hub.db import engine as db_engine
    from hub.notifications import notify
    from hub.realtime import events

    db = await db_engine.start(dsn, min_size=1, max_size=4)
    pool = db.pool

    # This process has no fan-out of its own: the notice goes out as the PostgreSQL fan-out
    # sends it (pg_notify on the events channel), which the server's relay listens to.
    async def publish(emitted: list[events.Event]) -> None:
        if emitted:
            notice = json.dumps({"last_id": max(e.id for e in emitted)})
            await pool.execute("SELECT pg_notify($1, $2)", events.CHANNEL, notice)

    events.publish = publish  # type: ignore[assignment]
    try:
        team, agents = await _agents(pool, count)
        ws_url = url.replace("http://", "ws://") + "/ws/agent?token="
        sockets = [await websockets.connect(ws_url + key, max_queue=None) for _, key in agents]
        await asyncio.sleep(0.5)  # past the server's wait for an optional {"after": id}
        wait_quiet(20, 30.0)
        last_socket: list[float] = []
        every: list[float] = []
        wrong = 0
        for n in range(rounds + 3):
            title = f"bench round {n}"

            async def receive(socket: Any, agent_id: int, t0: float, title: str) -> float:
                while True:
                    event = json.loads(await socket.recv())
                    if event["type"] == "notification.created":
                        nonlocal wrong
                        if event["agent_id"] != agent_id or event["data"]["title"] != title:
                            wrong += 1
                        return time.perf_counter() - t0

            t0 = time.perf_counter()
            waiters = [
                asyncio.create_task(receive(s, a, t0, title))
                for s, (a, _) in zip(sockets, agents, strict=True)
            ]
            await notify(team_id=team, title=title)
            arrivals = await asyncio.wait_for(asyncio.gather(*waiters), timeout=30)
            if n >= 3:  # the first rounds warm connections and plans
                last_socket.append(max(arrivals) * 1000)
                every.extend(a * 1000 for a in arrivals)
            await asyncio.sleep(0.2)
        for socket in sockets:
            await socket.close()
    finally:
        await db_engine.stop()
    last_socket.sort()
    every.sort()
    figures = {
        "agents": count,
        "rounds": rounds,
        "last_socket_p50_ms": round(percentile(last_socket, 50), 1),
        "last_socket_p99_ms": round(percentile(last_socket, 99), 1),
        "last_socket_max_ms": round(last_socket[-1], 1),
        "every_socket_p99_ms": round(percentile(every, 99), 1),
        "wrong_recipient": wrong,
    }
    print(
        f"{count} agents, {rounds} rounds: all sockets p50 {figures['last_socket_p50_ms']} ms,"
        f" p99 {figures['last_socket_p99_ms']} ms, max {figures['last_socket_max_ms']} ms;"
        f" per socket p99 {figures['every_socket_p99_ms']} ms; wrong recipient: {wrong}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
