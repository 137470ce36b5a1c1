"""Soak under faults: the scale-out deployment at a steady load while its parts are killed.

    .venv/bin/python bench/soak.py [--duration 600] [--rate 300] [--reply-rate 50]
                                   [--kill-every 60] [--redis-restart-at 0.5]

1. A fresh database hub_bench_faults_soak, a private `redis-server` on a free port (no
   persistence: its restart loses every queued job), two `hub serve` and two `hub worker`
   processes on them (HUB_LOG_LEVEL=warning), a callback receiver in this process (the API
   channel's contract fake: checks signatures, keeps each Idempotency-Key once, counts every
   request that reached it).
2. Four API inboxes replying to the receiver. Inbound messages are POSTed at `--rate` per second,
   each at its scheduled instant, spread over both web processes and 2,000 senders, over
   keep-alive connections (raw sockets: light enough not to steal the server's CPU). A request
   that fails (connection refused, 5xx) is sent again with the same external id until it is
   acknowledged (201, or 200 when the first try had been stored), as a provider retries.
3. Replies at `--reply-rate` per second on the conversations seen so far, each with a unique
   marker; a refused reply is not retried (a retry could be a second reply), only counted.
4. Chaos: every `--kill-every` seconds the second worker gets SIGKILL and a new one starts; at
   `--redis-restart-at` of the run Redis is killed and started again, empty.
5. After the load, a drain (at most `--drain` seconds) until every acknowledged message is
   stored and every reply is sent; then the reconciliation and the figures: throughput achieved,
   ingest latency (send to acknowledgement, p50/p99/max, and the generator's own lateness),
   RSS per long-lived process (after warm-up and at the end, growth per minute by least
   squares), acknowledged vs stored vs delivered, lost and duplicated.

Prints a summary and one JSON line with every figure.
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
import datetime as dt
import faulthandler
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import uvicorn

from adapters.telegram.parse import message_id as telegram_id
from bench.common import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BIN,
    ROOT,
    Server,
    free_port,
    hub_env,
    percentile,
    recreate_database,
    start_server,
    stop_server,
)
from bench.event_latency import HttpConnection
from tests.fakes.callback import CallbackReceiver
from tests.telegram.fake_bot_api import FakeBotApi

DATABASE = "hub_bench_faults_soak"
SECRET = "soak-callback-secret"
INBOXES = 4
SENDERS = 2000
CONNECTIONS_PER_WEB = 24
WARM_UP = 60.0
TELEGRAM_EVERY = 4  # one inbound message in four arrives through the Telegram webhook


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RedisProc:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind",
             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                __import__("socket").create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path


def start_worker(env: dict[str, str], log_dir: Path, name: str) -> Worker:
    log = log_dir / f"{name}.log"
    handle = open(log, "wb")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(
        [str(BIN / "hub"), "worker"],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    handle.close()
    return Worker(name, proc, log)


def kill_worker(worker: Worker) -> None:
    if worker.proc.poll() is None:
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait(timeout=10)


def stop_worker(worker: Worker) -> None:
    if worker.proc.poll() is None:
        worker.proc.send_signal(signal.SIGTERM)
        try:
            worker.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            kill_worker(worker)


@dataclass
class Tally:
    acked: dict[tuple[int, str], int] = field(default_factory=dict)  # (inbox, ext id) → conv
    latencies: list[float] = field(default_factory=list)  # ms, acknowledged tries only
    lateness: list[float] = field(default_factory=list)  # ms the generator sent after schedule
    retries: int = 0
    not_sent: int = 0
    refused_statuses: dict[str, int] = field(default_factory=dict)
    replies_acked: dict[str, int] = field(default_factory=dict)  # marker → message id
    replies_refused: int = 0
    reply_latencies: list[float] = field(default_factory=list)
    conversations: list[int] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Telegram:
    inbox: int
    secret: str


def telegram_request(host: str, port: int, tg: Telegram, n: int, sender: int) -> bytes:
    """An update as the Bot API POSTs it to the inbox's webhook, with its secret header."""
    person = {"id": 700_000 + sender, "is_bot": False, "first_name": f"Soak {sender}"}
    body = json.dumps(
        {
            "update_id": 1_000_000 + n,
            "message": {
                "message_id": n,
                "from": person,
                "chat": {**person, "type": "private"},
                "date": int(time.time()),
                "text": f"soak telegram {n}: no signal",
            },
        }
    ).encode()
    head = (
        f"POST /webhooks/telegram/{tg.inbox} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {tg.secret}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


def inbound_request(host: str, port: int, key: str, inbox: int, ext: str, sender: int) -> bytes:
    body = json.dumps(
        {
            "external_id": ext,
            "sender": {"kind": "phone", "address": f"+4530{sender:06d}", "name": f"Soak {sender}"},
            "text": f"soak message {ext}: the line is down again",
        }
    ).encode()
    head = (
        f"POST /api/v1/inboxes/{inbox}/messages HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


Item = tuple[float, int, str, int]  # scheduled, inbox, external id, sender


async def inbound_consumer(
    queue: asyncio.Queue[Item | None],
    web_port: int,
    key: str,
    tally: Tally,
    tg: Telegram,
    end: float,
) -> None:
    conn: HttpConnection | None = None
    while (item := await queue.get()) is not None:
        scheduled, inbox, ext, sender = item
        if time.monotonic() > end:
            # The hub fell behind the asked rate: what was not sent by the end is not sent (and
            # not acknowledged), so the run ends on time and the achieved rate is what it was.
            tally.not_sent += 1
            continue
        if inbox == tg.inbox:
            raw = telegram_request("127.0.0.1", web_port, tg, int(ext.split(":")[1]), sender)
        else:
            raw = inbound_request("127.0.0.1", web_port, key, inbox, ext, sender)
        first = True
        while True:
            started = time.perf_counter()
            if first:
                tally.lateness.append((time.monotonic() - scheduled) * 1000)
                first = False
            try:
                if conn is None:
                    conn = await asyncio.wait_for(
                        HttpConnection.open("127.0.0.1", web_port), timeout=10
                    )
                status, body = await asyncio.wait_for(conn.request(raw), timeout=60)
            except Exception as exc:  # a consumer that died would silently lower the rate
                name = type(exc).__name__
                tally.refused_statuses[name] = tally.refused_statuses.get(name, 0) + 1
                if conn is not None:
                    await conn.close()
                conn = None
                tally.retries += 1
                await asyncio.sleep(0.5)
                continue
            if status in (200, 201):
                tally.latencies.append((time.perf_counter() - started) * 1000)
                if inbox == tg.inbox:  # the webhook answers an empty 200
                    tally.acked[(inbox, ext)] = 0
                    break
                conversation = int(json.loads(body)["conversation_id"])
                if (inbox, ext) not in tally.acked:
                    tally.conversations.append(conversation)
                tally.acked[(inbox, ext)] = conversation
                break
            tally.refused_statuses[str(status)] = tally.refused_statuses.get(str(status), 0) + 1
            tally.retries += 1
            await asyncio.sleep(0.5)
    if conn is not None:
        await conn.close()


async def inbound_load(
    args: argparse.Namespace,
    web_ports: list[int],
    key: str,
    inboxes: list[int],
    tg: Telegram,
    tally: Tally,
) -> None:
    queues = {port: asyncio.Queue[Item | None]() for port in web_ports}
    end = time.monotonic() + args.duration
    consumers = [
        asyncio.create_task(inbound_consumer(queues[port], port, key, tally, tg, end))
        for port in web_ports
        for _ in range(CONNECTIONS_PER_WEB)
    ]
    total = int(args.duration * args.rate)
    start = time.monotonic()
    rng = random.Random(7)
    for i in range(total):
        due = start + i / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sender = rng.randrange(SENDERS)
        if i % TELEGRAM_EVERY == TELEGRAM_EVERY - 1:
            item = (due, tg.inbox, telegram_id(700_000 + sender, i), sender)
        else:
            item = (due, inboxes[sender % len(inboxes)], f"soak-{i}", sender)
        queues[web_ports[i % len(web_ports)]].put_nowait(item)
    for port in web_ports:
        for _ in range(CONNECTIONS_PER_WEB):
            queues[port].put_nowait(None)
    await asyncio.gather(*consumers)


async def reply_load(
    args: argparse.Namespace, urls: list[str], key: str, tally: Tally, stop_at: float
) -> None:
    headers = {"authorization": f"Bearer {key}"}
    clients = [httpx.AsyncClient(base_url=u, headers=headers, timeout=30) for u in urls]
    pending: set[asyncio.Task[None]] = set()
    rng = random.Random(11)

    async def one(n: int) -> None:
        marker = f"soak-reply-{n}"
        conversation = rng.choice(tally.conversations)
        started = time.perf_counter()
        try:
            made = await clients[n % len(clients)].post(
                f"/api/v1/conversations/{conversation}/messages",
                json={"text": f"we are on it ({marker}) "},
            )
        except httpx.HTTPError:
            tally.replies_refused += 1
            return
        if made.status_code == 201:
            tally.replies_acked[marker] = int(made.json()["id"])
            tally.reply_latencies.append((time.perf_counter() - started) * 1000)
        else:
            tally.replies_refused += 1

    start = time.monotonic()
    n = 0
    while time.monotonic() < stop_at:
        due = start + n / args.reply_rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if tally.conversations:
            task = asyncio.create_task(one(n))
            pending.add(task)
            task.add_done_callback(pending.discard)
        n += 1
    await asyncio.gather(*pending)
    for client in clients:
        await client.aclose()


async def chaos(
    args: argparse.Namespace,
    workers: list[Worker],
    env: dict[str, str],
    log_dir: Path,
    redis: RedisProc,
    tally: Tally,
    t0: float,
) -> None:
    redis_at = t0 + args.duration * args.redis_restart_at
    next_kill = t0 + args.kill_every
    redis_done = args.redis_restart_at <= 0
    generation = 1
    end = t0 + args.duration
    while time.monotonic() < end:
        now = time.monotonic()
        if not redis_done and now >= redis_at:
            redis.kill()
            tally.events.append(f"{now - t0:.0f}s redis killed")
            await asyncio.sleep(3)
            await asyncio.to_thread(redis.start)
            tally.events.append(f"{time.monotonic() - t0:.0f}s redis started (empty)")
            redis_done = True
        if now >= next_kill:
            kill_worker(workers[1])
            generation += 1
            workers[1] = start_worker(env, log_dir, f"worker-b{generation}")
            tally.events.append(f"{now - t0:.0f}s worker-b killed (SIGKILL), restarted")
            next_kill += args.kill_every
        await asyncio.sleep(0.5)


async def sample_rss(
    procs: dict[str, int], samples: dict[str, list[tuple[float, float]]], t0: float, end: float
) -> None:
    while time.monotonic() < end:
        for name, pid in procs.items():
            value = rss_mb(pid)
            if value is not None:
                samples.setdefault(name, []).append((time.monotonic() - t0, value))
        await asyncio.sleep(5)


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return 60 * sum((t - mx) * (v - my) for t, v in points) / var


async def setup(url: str, callback_url: str, bot: FakeBotApi) -> tuple[str, list[int], Telegram]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        login.raise_for_status()
        csrf = {"x-csrf-token": login.json()["csrf_token"]}
        made = await http.post("/api/v1/api-keys", json={"name": "soak"}, headers=csrf)
        made.raise_for_status()
        key = made.json()["key"]
        inboxes = []
        for n in range(INBOXES):
            inbox = await http.post(
                "/api/v1/inboxes",
                json={
                    "name": f"Soak API {n}",
                    "channel": "api",
                    "config": {"callback_url": callback_url, "callback_secret": SECRET},
                },
                headers=csrf,
            )
            inbox.raise_for_status()
            inboxes.append(int(inbox.json()["id"]))
        made = await http.post(
            "/api/v1/inboxes",
            json={
                "name": "Soak Telegram",
                "channel": "telegram",
                "config": {"bot_token": bot.token, "api_base_url": bot.base_url},
            },
            headers=csrf,
        )
        made.raise_for_status()
    # The inbox registered its webhook with the fake, secret and all, as with Telegram.
    return key, inboxes, Telegram(int(made.json()["id"]), str(bot.webhook["secret_token"]))


async def connect(dsn: str) -> asyncpg.Connection:
    """The machine's PostgreSQL is shared and can be out of connections for a moment: a soak
    must not lose its figures to that (an earlier run did), so connecting is retried."""
    for _ in range(120):
        try:
            return await asyncpg.connect(dsn)
        except (asyncpg.TooManyConnectionsError, OSError):
            await asyncio.sleep(1)
    return await asyncpg.connect(dsn)


async def reconcile(dsn: str, tally: Tally, fake: CallbackReceiver) -> dict[str, Any]:
    conn = await connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT inbox, provider_message_id FROM message WHERE direction = 'in'"
        )
        out = await conn.fetch(
            "SELECT id, status, text FROM message WHERE direction = 'out' AND kind = 'message'"
        )
    finally:
        await conn.close()
    stored = [(r["inbox"], r["provider_message_id"]) for r in rows]
    stored_set = set(stored)
    acked = set(tally.acked)
    marker_rows: dict[str, list[int]] = {}
    for r in out:
        text = r["text"]
        if "(soak-reply-" in text:
            marker = text.split("(", 1)[1].split(")", 1)[0]
            marker_rows.setdefault(marker, []).append(r["id"])
    statuses: dict[str, int] = {}
    for r in out:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    wire_ids = [p["message"]["id"] for p in fake.received]
    out_ids = [r["id"] for r in out]
    return {
        "inbound_acknowledged": len(acked),
        "inbound_stored": len(stored),
        "inbound_lost": len(acked - stored_set),
        "inbound_duplicated": len(stored) - len(stored_set),
        "inbound_stored_not_acknowledged": len(stored_set - acked),
        "replies_acknowledged": len(tally.replies_acked),
        "replies_refused": tally.replies_refused,
        "replies_stored": len(out),
        "replies_stored_twice": sum(1 for ids in marker_rows.values() if len(ids) > 1),
        "replies_acked_missing": sum(1 for m in tally.replies_acked if m not in marker_rows),
        "reply_statuses": statuses,
        "replies_delivered": sum(1 for i in out_ids if fake.deliveries(i) == 1),
        "replies_delivered_twice": sum(1 for i in out_ids if fake.deliveries(i) > 1),
        "replies_not_delivered": sum(1 for i in out_ids if fake.deliveries(i) == 0),
        "callback_requests": len(wire_ids),
        "callback_repeats_dropped_by_key": len(wire_ids) - len(set(wire_ids)),
        "bad_signatures": fake.bad_signatures,
    }


async def drain(dsn: str, tally: Tally, fake: CallbackReceiver, limit: float) -> float:
    started = time.monotonic()
    conn = await connect(dsn)  # one connection for the whole drain
    try:
        while time.monotonic() - started < limit:
            open_rows = await conn.fetchval(
                "SELECT count(*) FROM message WHERE direction = 'out' AND kind = 'message'"
                " AND status IN ('pending', 'sending')"
            )
            if open_rows == 0:
                break
            await asyncio.sleep(2)
    finally:
        await conn.close()
    return time.monotonic() - started


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": round(percentile(ordered, 50), 1),
        "p99": round(percentile(ordered, 99), 1),
        "max": round(ordered[-1], 1) if ordered else float("nan"),
    }


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    dsn = await recreate_database(DATABASE)
    redis = RedisProc(work)
    redis.start()
    fake = CallbackReceiver(secret=SECRET)
    cb_port = free_port()
    cb_server = uvicorn.Server(
        uvicorn.Config(fake.app(), host="127.0.0.1", port=cb_port, log_config=None)
    )
    cb_task = asyncio.create_task(cb_server.serve())
    bot = FakeBotApi()
    bot_port = free_port()
    bot.base_url = f"http://127.0.0.1:{bot_port}"
    bot_server = uvicorn.Server(
        uvicorn.Config(bot.app(), host="127.0.0.1", port=bot_port, log_config=None)
    )
    bot_task = asyncio.create_task(bot_server.serve())
    webs: list[Server] = []
    workers: list[Worker] = []
    all_workers: list[Worker] = []
    tally = Tally()
    try:
        ports = [free_port(), free_port()]
        envs = []
        for port in ports:
            env = hub_env(dsn, work / "data", port)
            env.update(
                REDIS_URL=redis.url,
                HUB_ALLOW_PRIVATE_CALLBACK_URLS="true",
                HUB_ALLOW_CUSTOM_PROVIDER_URLS="true",  # the fake Bot API
                # Every request comes from 127.0.0.1: the per-address webhook limit would
                # answer most of them 429 (retried, but then it measures the limiter).
                HUB_WEBHOOK_RATE_BURST="100000",
                HUB_WEBHOOK_RATE_PER_SECOND="100000",
            )
            envs.append(env)
        for n, port in enumerate(ports):
            argv = [str(BIN / "hub"), "serve", "--host", "127.0.0.1", "--port", str(port)]
            webs.append(
                await asyncio.to_thread(
                    start_server, f"web-{n + 1}", argv, envs[n], port, work, "/ready", 120
                )
            )
        workers = [
            start_worker(envs[0], work, "worker-a"),
            start_worker(envs[0], work, "worker-b1"),
        ]
        while not (cb_server.started and bot_server.started):
            await asyncio.sleep(0.05)
        key, inboxes, tg = await setup(webs[0].url, f"http://127.0.0.1:{cb_port}/callback", bot)
        await asyncio.sleep(3)  # the workers connect
        print(
            f"soak: {args.duration:.0f} s at {args.rate:g} inbound/s + {args.reply_rate:g} replies/s;"
            f" work dir {work}",
            flush=True,
        )
        t0 = time.monotonic()
        end = t0 + args.duration
        rss: dict[str, list[tuple[float, float]]] = {}
        long_lived = {"web-1": webs[0].pid, "web-2": webs[1].pid, "worker-a": workers[0].proc.pid}
        sampler = asyncio.create_task(sample_rss(long_lived, rss, t0, end + args.drain))
        chaos_task = asyncio.create_task(chaos(args, workers, envs[0], work, redis, tally, t0))
        replies = asyncio.create_task(reply_load(args, [w.url for w in webs], key, tally, end))
        await inbound_load(args, ports, key, inboxes, tg, tally)
        load_seconds = time.monotonic() - t0
        await replies
        await chaos_task
        all_workers = list(workers)
        drained = await drain(dsn, tally, fake, args.drain)
        sampler.cancel()
        figures = await reconcile(dsn, tally, fake)
        memory = {}
        for name, points in rss.items():
            after = [p for p in points if p[0] >= min(WARM_UP, args.duration / 4)]
            memory[name] = {
                "rss_after_warmup_mb": round(after[0][1], 1) if after else None,
                "rss_end_mb": round(points[-1][1], 1),
                "growth_mb_per_min": round(slope_per_minute(after), 2),
            }
        result = {
            "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "asked": {
                "duration_s": args.duration,
                "rate": args.rate,
                "reply_rate": args.reply_rate,
            },
            "load_seconds": round(load_seconds, 1),
            "inbound_offered": int(args.duration * args.rate),
            "inbound_per_s_achieved": round(len(tally.acked) / load_seconds, 1),
            "replies_per_s_achieved": round(len(tally.replies_acked) / load_seconds, 1),
            "ingest_latency_ms": stats(tally.latencies),
            "generator_lateness_ms": stats(tally.lateness),
            "reply_latency_ms": stats(tally.reply_latencies),
            "inbound_retries": tally.retries,
            "inbound_not_sent_behind_schedule": tally.not_sent,
            "inbound_refusals": tally.refused_statuses,
            "drain_seconds": round(drained, 1),
            "reconciliation": figures,
            "memory": memory,
            "chaos": tally.events,
            # What the long-lived processes logged, by kind (numbers folded): the faults show
            # here, and anything else that went wrong.
            "logs": {
                **{s.name: s.log_kinds() for s in webs},
                "worker-a": Server("worker-a", workers[0].proc, "", workers[0].log).log_kinds(),
            },
        }
        return result
    finally:
        for w in workers + all_workers:
            stop_worker(w)
        for s in webs:
            stop_server(s)
        redis.kill()
        cb_server.should_exit = bot_server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(cb_task, bot_task), 10)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    # `kill -USR1 <pid>` prints every thread's stack: a starved or stuck generator shows where.
    faulthandler.register(signal.SIGUSR1)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--rate", type=float, default=300.0, help="inbound messages per second")
    parser.add_argument("--reply-rate", type=float, default=50.0, help="replies per second")
    parser.add_argument("--kill-every", type=float, default=60.0, help="seconds between kills")
    parser.add_argument(
        "--redis-restart-at", type=float, default=0.5, help="fraction of the run (0: never)"
    )
    parser.add_argument("--drain", type=float, default=300.0, help="at most this long after")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="hub-soak-"))
    work.chmod(0o755)
    result = asyncio.run(run(args, work))
    result["load_before"] = [round(x, 2) for x in load]
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    r = result["reconciliation"]
    print(
        f"inbound: {result['inbound_per_s_achieved']}/s achieved of {args.rate:g} asked;"
        f" ingest p50 {result['ingest_latency_ms']['p50']} ms, p99"
        f" {result['ingest_latency_ms']['p99']} ms; acknowledged {r['inbound_acknowledged']},"
        f" stored {r['inbound_stored']}, lost {r['inbound_lost']}, duplicated"
        f" {r['inbound_duplicated']}"
    )
    print(
        f"replies: {result['replies_per_s_achieved']}/s; acknowledged {r['replies_acknowledged']},"
        f" delivered once {r['replies_delivered']}, twice {r['replies_delivered_twice']}, not"
        f" delivered {r['replies_not_delivered']}; callback repeats dropped by key"
        f" {r['callback_repeats_dropped_by_key']}"
    )
    for name, m in result["memory"].items():
        print(
            f"{name}: RSS {m['rss_after_warmup_mb']} → {m['rss_end_mb']} MB ({m['growth_mb_per_min']} MB/min)"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
