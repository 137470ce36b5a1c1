"""Event latency: from an inbound API-channel POST to its message.created on an agent WebSocket.

    .venv/bin/python bench/event_latency.py [--rate 200] [--duration 15] [--connections 16]

1. A fresh database hub_bench_events; `hub serve` in its default single-process mode (no
   REDIS_URL: PostgreSQL LISTEN/NOTIFY fan-out, in-process worker), HUB_LOG_LEVEL=warning.
2. Admin, API key and an `api` inbox through the public HTTP API.
3. One agent WebSocket on /ws/agent?token=<api key>.
4. Messages POSTed at a steady rate, each at its scheduled instant (start + i / rate, so lateness
   does not accumulate), over a few keep-alive HTTP/1.1 connections (raw asyncio sockets: light
   enough not to steal the server's CPU). Every text carries a unique marker.
5. For each message: time from just before its POST is written to the arrival of the
   message.created event whose data.text holds its marker. Prints p50/p99/max and the count of
   events that never arrived (must be 0), then one JSON line with every figure.
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
import contextlib
import datetime as dt
import json
import re
import tempfile
import time
from typing import Any

import websockets

from bench.common import (
    percentile,
    recreate_database,
    running,
    setup_hub,
    start_hub,
    wait_quiet,
)

DATABASE = "hub_bench_events"
MARKER = re.compile(r"evlat-(\d+)-end")


class HttpConnection:
    """One keep-alive HTTP/1.1 connection; requests are sent one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            elif name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
                raise RuntimeError("chunked responses are not supported by this client")
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def build_request(host: str, port: int, path: str, key: str, i: int, senders: int) -> bytes:
    n = i % senders
    body = json.dumps(
        {
            "external_id": f"evlat-{i}",
            "sender": {
                "kind": "email",
                "address": f"latency{n}@example.com",
                "name": f"Latency {n}",
            },
            "text": f"latency probe evlat-{i}-end: is anyone there?",
        }
    ).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def run(args: argparse.Namespace, base_url: str, key: str, inbox_id: int) -> dict[str, Any]:
    clock = time.perf_counter  # uvloop's loop.time() only has millisecond resolution
    host, port = "127.0.0.1", int(base_url.rsplit(":", 1)[1])
    path = f"/api/v1/inboxes/{inbox_id}/messages"
    total = int(args.rate * args.duration)
    requests = [build_request(host, port, path, key, i, args.senders) for i in range(total)]

    sent_at: dict[int, float] = {}
    answered_at: dict[int, float] = {}
    statuses: dict[int, int] = {}
    arrived_at: dict[int, float] = {}
    duplicates = 0
    other_events: dict[str, int] = {}
    schedule_lag: list[float] = []
    errors: list[str] = []

    ws = await websockets.connect(
        f"ws://{host}:{port}/ws/agent?token={key}", max_size=None, open_timeout=10
    )

    async def read_events() -> None:
        nonlocal duplicates
        async for raw in ws:
            now = clock()
            event = json.loads(raw)
            if event.get("type") != "message.created":
                other_events[event.get("type", "?")] = (
                    other_events.get(event.get("type", "?"), 0) + 1
                )
                continue
            match = MARKER.search((event.get("data") or {}).get("text") or "")
            if not match:
                continue
            i = int(match.group(1))
            if i in arrived_at:
                duplicates += 1
            else:
                arrived_at[i] = now

    reader = asyncio.create_task(read_events())
    # The socket starts live from the relay's position once its 0.3 s "after" window has passed.
    await asyncio.sleep(1.0)

    pool: asyncio.Queue[HttpConnection] = asyncio.Queue()
    for _ in range(args.connections):
        pool.put_nowait(await HttpConnection.open(host, port))

    async def send(i: int, due: float) -> None:
        conn = await pool.get()
        try:
            start = clock()
            schedule_lag.append(start - due)
            sent_at[i] = start
            status, _ = await conn.request(requests[i])
            answered_at[i] = clock()
            statuses[status] = statuses.get(status, 0) + 1
        except Exception as exc:  # a failed request is reported, not retried
            errors.append(f"{i}: {type(exc).__name__}: {exc}")
            await conn.close()
            conn = await HttpConnection.open(host, port)
        finally:
            pool.put_nowait(conn)

    tasks: list[asyncio.Task[None]] = []
    start = clock() + 0.05
    for i in range(total):
        due = start + i / args.rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)  # the loop wakes late by up to ~1 ms; lag is recorded
        tasks.append(asyncio.create_task(send(i, due)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)

    # Wait (bounded) for the last events.
    deadline = clock() + args.drain
    while len(arrived_at) < len(sent_at) and clock() < deadline:
        await asyncio.sleep(0.05)
    reader.cancel()
    await ws.close()
    while not pool.empty():
        await pool.get_nowait().close()

    latencies = sorted((arrived_at[i] - sent_at[i]) * 1000 for i in sent_at if i in arrived_at)
    post_latencies = sorted((answered_at[i] - sent_at[i]) * 1000 for i in answered_at)
    after_response = sorted(
        (arrived_at[i] - answered_at[i]) * 1000 for i in answered_at if i in arrived_at
    )
    late_arrivals = [i for i in arrived_at if i in sent_at and arrived_at[i] - sent_at[i] > 1.0]
    lag = sorted(x * 1000 for x in schedule_lag)
    return {
        "messages": total,
        "sent": len(sent_at),
        "acknowledged_2xx": sum(n for s, n in statuses.items() if 200 <= s < 300),
        "statuses": {str(k): v for k, v in statuses.items()},
        "request_errors": len(errors),
        "request_error_examples": errors[:3],
        # messages actually written per second, first to last (below --rate when the server lags)
        "achieved_rate": round(
            (len(sent_at) - 1) / (max(sent_at.values()) - min(sent_at.values())), 1
        )
        if len(sent_at) > 1
        else None,
        "events_received": len(arrived_at),
        "missing": len([i for i in sent_at if i not in arrived_at]),
        "duplicates": duplicates,
        "other_events": other_events,
        "event_latency_ms": _stats(latencies),
        "post_latency_ms": _stats(post_latencies),
        "event_after_response_ms": _stats(after_response),
        "schedule_lag_ms": {
            "p50": _r(percentile(lag, 50)),
            "p99": _r(percentile(lag, 99)),
            "max": _r(lag[-1] if lag else float("nan")),
        },
        "over_1s": len(late_arrivals),
    }


def _r(x: float) -> float:
    return round(x, 2)


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": _r(percentile(values, 50)),
        "p90": _r(percentile(values, 90)),
        "p99": _r(percentile(values, 99)),
        "max": _r(values[-1]),
        "mean": _r(sum(values) / len(values)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200, help="messages per second")
    parser.add_argument("--duration", type=float, default=15, help="seconds of sending")
    parser.add_argument("--connections", type=int, default=16, help="HTTP connections")
    parser.add_argument("--senders", type=int, default=500, help="distinct sender addresses")
    parser.add_argument("--drain", type=float, default=10, help="seconds to wait for late events")
    parser.add_argument("--wait-quiet", type=float, default=180, help="wait up to S s for idle")
    parser.add_argument("--quiet-pct", type=float, default=12, help="idle means below this busy %%")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hub-bench-events-"))
    print(f"work dir {work}", flush=True)
    dsn = asyncio.run(recreate_database(DATABASE))
    server = start_hub(dsn, work / "hub-data", work)
    with running(server):
        setup = setup_hub(server.url)
        background = wait_quiet(args.wait_quiet, args.quiet_pct)
        try:
            import uvloop

            result = uvloop.run(run(args, server.url, setup.api_key, setup.inbox_id))
        except ImportError:
            result = asyncio.run(run(args, server.url, setup.api_key, setup.inbox_id))
    result.update(
        bench="event_latency",
        background_busy_pct_before=background,
        date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        rate=args.rate,
        duration_s=args.duration,
        connections=args.connections,
        server_log=server.log_summary(),
        server_log_kinds=server.log_kinds(),
    )
    lat = result["event_latency_ms"]
    post = result["post_latency_ms"]
    print(
        f"sent {result['sent']} at {result['achieved_rate']}/s; 2xx {result['acknowledged_2xx']};"
        f" request errors {result['request_errors']}; statuses {result['statuses']}"
    )
    print(
        f"event latency  p50 {lat.get('p50')} ms  p90 {lat.get('p90')} ms  p99 {lat.get('p99')} ms"
        f"  max {lat.get('max')} ms"
    )
    print(
        f"POST latency   p50 {post.get('p50')} ms  p99 {post.get('p99')} ms  max {post.get('max')} ms"
    )
    print(
        f"events received {result['events_received']}, missing {result['missing']},"
        f" duplicates {result['duplicates']}, over 1 s {result['over_1s']};"
        f" schedule lag {result['schedule_lag_ms']}"
    )
    for kind, count in result["server_log_kinds"].items():
        print(f"  hub log: {count} x {kind}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
