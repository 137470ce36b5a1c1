"""Real processes for the fault tests: `hub serve`, `hub worker` and a Redis of the test's own.

The machine's Redis is shared with other test runs, so a test that takes Redis away starts its
own `redis-server` on a free port (no persistence: a restart also loses every queued job, the
worst case the sweeps must cover). Processes are killed with SIGKILL where the test says so,
never by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.conftest import free_port

HUB = str(Path(sys.executable).with_name("hub"))
ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "fault-tests-admin"


def hub_env(database_url: str, redis_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The scale-out deployment: PostgreSQL and Redis by URL, the fakes on 127.0.0.1 allowed."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUB_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        HUB_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        HUB_SECRET_KEY="fault-tests-secret-" + "x" * 40,
        HUB_ADMIN_EMAIL=ADMIN_EMAIL,
        HUB_ADMIN_PASSWORD=ADMIN_PASSWORD,
        HUB_ALLOW_PRIVATE_CALLBACK_URLS="true",
        HUB_ALLOW_CUSTOM_PROVIDER_URLS="true",
        HUB_LOG_FORMAT="text",
    )
    env.update(extra)
    return env


def temp_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class Proc:
    """One child process with its output in a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("a")
        self.process = subprocess.Popen(argv, env=env, stdout=self.handle, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine loses the process."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.handle.close()

    def stop(self, timeout: float = 30) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.handle.close()
        return int(self.process.returncode)


class RedisServer:
    """A private redis-server on a fixed free port, so it can be stopped and started again."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        argv = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.proc = Proc(argv, dict(os.environ), self.workdir / "redis.log")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise AssertionError(f"redis-server did not start:\n{self.proc.output()}")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc = None


def serve(env: dict[str, str], data_dir: Path, name: str = "web") -> tuple[Proc, str]:
    port = free_port()
    proc = Proc([HUB, "serve", "--port", str(port)], env, data_dir / f"{name}.log")
    return proc, f"http://127.0.0.1:{port}"


def worker(env: dict[str, str], data_dir: Path, name: str = "worker") -> Proc:
    return Proc([HUB, "worker"], env, data_dir / f"{name}.log")


async def wait_healthy(url: str, proc: Proc, timeout: float = 90) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while loop.time() < deadline:
            if not proc.alive():
                raise AssertionError(f"hub exited early:\n{proc.output()}")
            try:
                if (await http.get(f"{url}/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"hub did not become ready:\n{proc.output()}")


async def wait_worker(proc: Proc, timeout: float = 60) -> None:
    """Until the worker says it consumes the queue (its jobs are importable, Redis reached)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if not proc.alive():
            raise AssertionError(f"worker exited early:\n{proc.output()}")
        if "consuming" in proc.output():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"worker did not start:\n{proc.output()}")


async def admin_headers(http: httpx.AsyncClient) -> dict[str, str]:
    """An API key of the admin that `hub serve` created from HUB_ADMIN_EMAIL."""
    login = await http.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert login.status_code == 200, login.text
    made = await http.post(
        "/api/v1/api-keys",
        json={"name": "fault tests"},
        headers={"x-csrf-token": login.json()["csrf_token"]},
    )
    assert made.status_code == 201, made.text
    http.cookies.clear()
    return {"authorization": f"Bearer {made.json()['key']}"}


async def api_inbox(
    http: httpx.AsyncClient, headers: dict[str, str], name: str, **config: Any
) -> dict[str, Any]:
    made = await http.post(
        "/api/v1/inboxes", json={"name": name, "channel": "api", "config": config}, headers=headers
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def conversation_of(http: httpx.AsyncClient, headers: dict[str, str], inbox_id: int) -> int:
    listing = await http.get(
        "/api/v1/conversations", params={"inbox_id": inbox_id}, headers=headers
    )
    assert listing.status_code == 200, listing.text
    items = listing.json()["items"]
    assert len(items) == 1, items
    return int(items[0]["id"])


class Cluster:
    """A private Redis, one `hub serve` and the `hub worker`s a test starts and kills."""

    def __init__(self, database_url: str, prefix: str, **env: str) -> None:
        self.workdir = temp_dir(prefix)
        self.redis = RedisServer(self.workdir)
        self.database_url = database_url
        self.extra_env = env
        self.web: Proc | None = None
        self.url = ""
        self.workers: list[Proc] = []

    @property
    def env(self) -> dict[str, str]:
        return hub_env(self.database_url, self.redis.url, self.workdir, **self.extra_env)

    async def start(self, workers: int = 1) -> None:
        await self.redis.start()
        self.web, self.url = serve(self.env, self.workdir)
        await wait_healthy(self.url, self.web)
        for _ in range(workers):
            await self.add_worker()

    async def add_worker(self) -> Proc:
        proc = worker(self.env, self.workdir, f"worker-{len(self.workers)}")
        self.workers.append(proc)
        await wait_worker(proc)
        return proc

    def logs(self, tail: int = 4000) -> str:
        procs = ([self.web] if self.web else []) + self.workers
        return "\n".join(f"--- {p.log.name}\n{p.output()[-tail:]}" for p in procs)

    def close(self) -> None:
        for proc in [*self.workers, *([self.web] if self.web else [])]:
            if proc.alive():
                proc.stop()
        self.redis.kill()
        remove_dir(self.workdir)


async def reply(
    http: httpx.AsyncClient, headers: dict[str, str], conversation: int, text: str
) -> int:
    made = await http.post(
        f"/api/v1/conversations/{conversation}/messages", json={"text": text}, headers=headers
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def customer_writes(
    http: httpx.AsyncClient, headers: dict[str, str], inbox_id: int, external_id: str
) -> int:
    """An inbound message on an API inbox; its conversation."""
    sent = await http.post(
        f"/api/v1/inboxes/{inbox_id}/messages",
        json={
            "external_id": external_id,
            "sender": {"kind": "phone", "address": "+4520123456", "name": "Customer"},
            "text": external_id,
        },
        headers=headers,
    )
    assert sent.status_code == 201, sent.text
    return await conversation_of(http, headers, inbox_id)


@contextlib.asynccontextmanager
async def database(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection for a test's checks: the machine's PostgreSQL is shared and its
    connections are few, so checks must not open one per poll."""
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def imap_unseen(port: int, user: str, password: str) -> int:
    """How many messages of INBOX are not yet \\Seen (the hub marks them after the commit)."""
    import aioimaplib

    client = aioimaplib.IMAP4(host="127.0.0.1", port=port, timeout=60)
    await client.wait_hello_from_server()
    assert (await client.login(user, password)).result == "OK"
    await client.select("INBOX")
    response = await client.search("UNSEEN")
    await client.logout()
    assert response.result == "OK", response
    # The untagged answer is the bare list of numbers; the last line is the tagged completion.
    return sum(len(bytes(line).split()) for line in response.lines[:-1])
