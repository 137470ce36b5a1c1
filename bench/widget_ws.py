"""Widget WebSockets held by one web process: how many, memory per connection, message latency.

    .venv/bin/python bench/widget_ws.py [--max 10000] [--step 1000] [--latency-visitors 1000]
                                        [--rate 50]

1. A fresh database hub_bench_widget; `hub serve` in its default single-process mode (no
   REDIS_URL: PostgreSQL LISTEN/NOTIFY fan-out, in-process worker), HUB_LOG_LEVEL=warning. The
   file-descriptor limit is raised to the hard limit first (the server inherits it).
2. Admin, API key and a `webchat` inbox through the public HTTP API; then one visitor session per
   connection through POST /api/v1/widget/sessions. Clients use many loopback source addresses
   (127.1.x.y), as many visitors would, so the per-address rate limits see a realistic spread.
3. Ramp: visitor sockets on /ws/widget are opened and kept open in steps; after each step the
   server's resident memory (VmRSS) is read once it has settled. Memory per connection is
   (RSS now - RSS with no sockets after a warm-up) / connections.
4. At `--latency-visitors` connections (1,000 by default), with one agent socket on /ws/agent:
   each visitor sends one message over its socket at a steady rate; the figure is the time from
   the visitor's send to the agent socket receiving its message.created (p50/p99/max).
5. The ramp then continues to `--max`. Prints a table and one JSON line with every figure.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where a bench named like a standard module
# (bench/email.py) would shadow it: the repository root takes its place.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import websockets  # noqa: E402
from websockets.asyncio.client import ClientConnection  # noqa: E402

from bench.common import (  # noqa: E402
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    percentile,
    recreate_database,
    running,
    start_hub,
    wait_quiet,
)

DATABASE = "hub_bench_widget"
MARKER = re.compile(r"wsl-(\d+)-end")
SOURCE_ADDRESSES = [f"127.1.{n // 250}.{n % 250 + 1}" for n in range(500)]


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def settled_rss(pid: int, seconds: float = 3.0) -> float:
    """RSS after the server has had a moment to finish what the last step started."""
    await asyncio.sleep(seconds)
    return rss_mb(pid)


def setup(base_url: str) -> tuple[str, str]:
    """An API key and a webchat inbox; returns (key, public inbox token)."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        r = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        r.raise_for_status()
        headers = {"X-CSRF-Token": r.json()["csrf_token"]}
        r = http.post("/api/v1/api-keys", json={"name": "bench"}, headers=headers)
        r.raise_for_status()
        key = r.json()["key"]
        r = http.post(
            "/api/v1/inboxes",
            json={"name": "Bench chat", "channel": "webchat", "config": {}},
            headers=headers,
        )
        r.raise_for_status()
        return key, r.json()["inbox_token"]


async def make_sessions(base_url: str, inbox_token: str, count: int) -> list[str]:
    clients = [
        httpx.AsyncClient(
            base_url=base_url,
            timeout=60,
            transport=httpx.AsyncHTTPTransport(local_address=address),
        )
        for address in SOURCE_ADDRESSES
    ]
    gate = asyncio.Semaphore(32)

    async def one(n: int) -> str:
        async with gate:
            r = await clients[n % len(clients)].post(
                "/api/v1/widget/sessions", json={"inbox_token": inbox_token}
            )
            r.raise_for_status()
            return str(r.json()["visitor_token"])

    try:
        return list(await asyncio.gather(*(one(n) for n in range(count))))
    finally:
        for client in clients:
            await client.aclose()


async def open_sockets(
    ws_base: str, tokens: list[str], first: int, count: int
) -> tuple[list[ClientConnection], int]:
    gate = asyncio.Semaphore(100)
    failures = 0

    async def one(n: int) -> ClientConnection | None:
        nonlocal failures
        async with gate:
            try:
                return await websockets.connect(
                    f"{ws_base}/ws/widget?token={tokens[n]}&after=0",
                    local_addr=(SOURCE_ADDRESSES[n % len(SOURCE_ADDRESSES)], 0),
                    ping_interval=None,  # the server pings; the client answers
                    max_queue=None,
                    open_timeout=60,
                )
            except Exception as exc:
                failures += 1
                if failures <= 3:
                    print(f"  connection {n} failed: {type(exc).__name__}: {exc}", flush=True)
                return None

    opened = await asyncio.gather(*(one(n) for n in range(first, first + count)))
    return [c for c in opened if c is not None], failures


async def measure_latency(
    ws_base: str, key: str, sockets: list[ClientConnection], rate: float
) -> dict[str, Any]:
    received: dict[int, float] = {}
    agent = await websockets.connect(f"{ws_base}/ws/agent?token={key}", max_queue=None)
    await asyncio.sleep(0.5)  # the agent socket waits briefly for an optional {"after": id}

    async def read_agent() -> None:
        async for raw in agent:
            event = json.loads(raw)
            if event.get("type") == "message.created":
                found = MARKER.search(event["data"].get("text", ""))
                if found:
                    received.setdefault(int(found.group(1)), time.perf_counter())

    reader = asyncio.create_task(read_agent())
    sent: dict[int, float] = {}
    start = time.perf_counter() + 0.2
    for n, socket in enumerate(sockets):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[n] = time.perf_counter()
        await socket.send(
            json.dumps({"type": "message", "client_id": f"bench-{n}", "text": f"wsl-{n}-end"})
        )
    deadline = time.perf_counter() + 30
    while len(received) < len(sent) and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await reader
    await agent.close()
    latencies = sorted((received[n] - sent[n]) * 1000 for n in sent if n in received)
    return {
        "messages": len(sent),
        "lost": len(sent) - len(latencies),
        "rate_per_s": rate,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else None,
    }


async def run(args: argparse.Namespace, base_url: str, pid: int) -> dict[str, Any]:
    ws_base = base_url.replace("http://", "ws://")
    key, inbox_token = await asyncio.to_thread(setup, base_url)
    t0 = time.perf_counter()
    tokens = await make_sessions(base_url, inbox_token, args.max)
    print(f"{len(tokens)} visitor sessions in {time.perf_counter() - t0:.1f} s", flush=True)

    # Warm-up: the first sockets start the fan-in and import what the socket path uses.
    warm, _ = await open_sockets(ws_base, tokens, 0, 50)
    for socket in warm:
        await socket.close()
    gc.collect()
    baseline = await settled_rss(pid, 5)
    print(f"server RSS with no sockets: {baseline:.0f} MB", flush=True)

    held: list[ClientConnection] = []
    steps: list[dict[str, Any]] = []
    latency: dict[str, Any] | None = None
    failures = 0
    targets = sorted({*range(args.step, args.max + 1, args.step), args.latency_visitors, args.max})
    t0 = time.perf_counter()
    for target in targets:
        if target <= len(held):
            continue
        opened, failed = await open_sockets(ws_base, tokens, len(held), target - len(held))
        held += opened
        failures += failed
        rss = await settled_rss(pid)
        step = {
            "connections": len(held),
            "rss_mb": round(rss, 1),
            "kb_per_connection": round((rss - baseline) * 1024 / max(len(held), 1), 1),
            "failures": failures,
            "elapsed_s": round(time.perf_counter() - t0, 1),
        }
        steps.append(step)
        print(
            f"  {step['connections']:>6} sockets  RSS {step['rss_mb']:>7.1f} MB"
            f"  {step['kb_per_connection']:>6.1f} KB/socket  failures {failures}",
            flush=True,
        )
        if target == args.latency_visitors and latency is None:
            latency = await measure_latency(ws_base, key, held[: args.latency_visitors], args.rate)
            print(f"  latency with {len(held)} sockets: {latency}", flush=True)
        if failed > max(10, (target - len(held) + failed) // 100):
            print("  too many failed connections; stopping the ramp", flush=True)
            break
    alive = sum(1 for s in held if s.state.name == "OPEN")
    for socket in held:
        with contextlib.suppress(Exception):
            await socket.close()
    return {
        "baseline_rss_mb": round(baseline, 1),
        "steps": steps,
        "max_connections": steps[-1]["connections"] if steps else 0,
        "still_open_at_end": alive,
        "latency": latency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max", type=int, default=10_000)
    parser.add_argument("--step", type=int, default=2_000)
    parser.add_argument("--latency-visitors", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second")
    args = parser.parse_args()
    limit = raise_fd_limit()
    if limit < args.max + 1000:
        print(f"WARNING: the file-descriptor limit is {limit}; --max may not fit", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-widget-"))
    print(f"work dir {work}", flush=True)
    dsn = asyncio.run(recreate_database(DATABASE))
    busy = wait_quiet(60, 25)
    server = start_hub(dsn, work / "data", work)
    with running(server):
        result = asyncio.run(run(args, server.url, server.pid))
        result["log"] = server.log_summary()
        kinds = server.log_kinds()
    result["machine_busy_before_pct"] = busy
    print()
    print(
        f"held {result['max_connections']} widget sockets in one web process;"
        f" baseline {result['baseline_rss_mb']} MB"
    )
    if result["steps"]:
        last = result["steps"][-1]
        print(
            f"RSS {last['rss_mb']} MB at {last['connections']} sockets:"
            f" {last['kb_per_connection']} KB per connection"
        )
    if result["latency"]:
        lat = result["latency"]
        print(
            f"visitor send -> agent socket with {args.latency_visitors} visitors connected:"
            f" p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms,"
            f" lost {lat['lost']}"
        )
    for kind, count in kinds.items():
        print(f"  hub log: {count} x {kind}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
