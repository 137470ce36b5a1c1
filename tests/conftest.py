"""Test fixtures: a fresh PostgreSQL database per run on the local server, real Redis, the real app.

Nothing of our own is mocked: the app, the SAQ queue and the fan-out run against the services on
127.0.0.1 (`.ci/run` starts them). Each test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
import uvicorn
from litestar import Litestar
from redis.asyncio import Redis

from hub.system.config import Settings

PG_ADMIN_URL = os.environ.get("HUB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# A Redis database per test run (1-15), so concurrent runs on one machine do not flush each other;
# the parallel workers of one run (pytest-xdist: gw0, gw1, ...) get neighbouring ones.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_REDIS_DB = (
    1 + (os.getppid() + int(_WORKER[2:])) % 15 if _WORKER.startswith("gw") else 1 + os.getpid() % 15
)
REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{_REDIS_DB}")

TEST_DB = f"hub_test_{os.getpid()}"
TEST_DSN = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + TEST_DB
os.environ["HUB_RESOLVED_DSN"] = TEST_DSN


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[str]:
    admin = await asyncpg.connect(PG_ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}"')
    await admin.execute(f'CREATE DATABASE "{TEST_DB}"')
    from hub.db.migrate import migrate

    await migrate(TEST_DSN)
    try:
        yield TEST_DSN
    finally:
        from hub.db import engine

        await engine.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        await admin.close()


async def _truncate(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migration'"
        )
        if tables:
            names = ", ".join(f'"{t["tablename"]}"' for t in tables)
            # The audit log refuses TRUNCATE (a trigger); tests start empty all the same.
            await conn.execute("SET session_replication_role = replica")
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            await conn.execute("SET session_replication_role = DEFAULT")
            await conn.execute("SELECT setval(pg_get_serial_sequence('conversation', 'ref'), 999)")
            # The system roles are rows that agents reference (hub.auth.roles).
            await conn.execute(
                "INSERT INTO role (key, name, system) VALUES ('admin', 'Admin', true),"
                " ('supervisor', 'Supervisor', true), ('agent', 'Agent', true)"
            )
    finally:
        await conn.close()


@pytest.fixture
async def clean_db(database: str) -> str:
    await _truncate(database)
    return database


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()
    yield REDIS_URL


@pytest.fixture
def settings(clean_db: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=clean_db,
        data_dir=tmp_path / "data",
        secret_key="test-secret-" + "x" * 40,
        log_format="text",
        login_max_attempts=3,
        attachment_max_bytes=256 * 1024,
        # The fake Bot API, Graph and Twilio run on 127.0.0.1; security tests turn this off.
        allow_custom_provider_urls=True,
        allow_private_callback_urls=True,  # the callback receivers too
        allow_private_oidc_urls=True,  # the fake OIDC provider
    )


def with_settings(settings: Settings, **changes: object) -> Settings:
    return msgspec.structs.replace(settings, **changes)


@pytest.fixture
async def app(settings: Settings) -> Litestar:
    from web.app import create_app

    return create_app(settings, run_worker=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serving(app: Litestar) -> AsyncIterator[str]:
    """Run the app under uvicorn in this event loop on a free loopback port; yields its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
            ws="websockets-sansio",
            # As `hub serve`: the app alone decides which proxies to believe (web/proxies.py).
            proxy_headers=False,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped during start-up")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def base_url(app: Litestar) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        yield http


@pytest.fixture
async def quiet_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app without its in-process worker, for tests that drive polls and jobs themselves."""
    from web.app import create_app

    app = create_app(settings, run_worker=False)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


async def make_agent(
    email: str, password: str = "correct horse battery", role: str = "agent"
) -> int:
    from hub.auth import accounts

    agent = await accounts.create_agent(email, password, role=role)
    return agent.id


async def login(
    client: httpx.AsyncClient, email: str, password: str = "correct horse battery"
) -> str:
    """Log in through the API; returns the CSRF token (the cookie stays in the client)."""
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


async def api_key_for(client: httpx.AsyncClient, email: str, role: str = "agent") -> str:
    """An API key for a new agent, made through the public endpoints."""
    await make_agent(email, role=role)
    csrf = await login(client, email)
    response = await client.post(
        "/api/v1/api-keys", json={"name": "tests"}, headers={"x-csrf-token": csrf}
    )
    assert response.status_code == 201, response.text
    await client.post("/api/v1/auth/logout", headers={"x-csrf-token": csrf})
    client.cookies.clear()
    return str(response.json()["key"])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def eventually(predicate, timeout: float = 10.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll an async predicate until it returns a truthy value (for cross-process effects)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


@pytest.fixture
def sink() -> Iterator[tuple[Any, int]]:
    """A real SMTP server (aiosmtpd) on a free port; yields (the messages it received, port)."""
    from aiosmtpd.controller import Controller

    from tests.email.servers import SmtpSink

    received = SmtpSink()
    port = free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield received, port
    finally:
        controller.stop()


def with_smtp(settings: Settings, port: int, **changes: object) -> Settings:
    """Settings whose own SMTP server (mail to agents) is the `sink` on `port`."""
    return with_settings(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_from="hub@example.com",
        **changes,
    )


@pytest.fixture
async def callback_receiver() -> AsyncIterator[tuple[Any, str]]:
    """A running fake integration; yields (receiver, callback URL)."""
    from tests.fakes.callback import CallbackReceiver

    receiver = CallbackReceiver()
    async with serving(receiver.app()) as url:
        yield receiver, f"{url}/callback"


async def admin_key(client: httpx.AsyncClient) -> dict[str, str]:
    key = await api_key_for(client, unique("admin") + "@example.com", role="admin")
    return {"authorization": f"Bearer {key}"}


async def make_api_inbox(
    client: httpx.AsyncClient, headers: dict[str, str], **config: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/inboxes",
        json={"name": unique("api"), "channel": "api", "config": config},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def inbound(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    inbox_id: int,
    external_id: str,
    text: str = "hello",
    sender: str = "+4520123456",
    kind: str = "phone",
) -> httpx.Response:
    return await client.post(
        f"/api/v1/inboxes/{inbox_id}/messages",
        json={
            "external_id": external_id,
            "sender": {"kind": kind, "address": sender, "name": "Customer"},
            "text": text,
        },
        headers=headers,
    )


async def quiet(socket: Any, seconds: float = 0.7) -> list[dict[str, Any]]:
    """Whatever else arrives within `seconds` (expected: nothing)."""
    extra: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                extra.append(json.loads(await socket.recv()))
    except TimeoutError:
        return extra


@pytest.fixture(autouse=True)
def real_clock() -> Iterator[None]:
    """Every test starts and ends on the real time; tests move hub.system.clock, never sleep."""
    from hub.system import clock

    clock.reset()
    yield
    clock.reset()


async def run_job(name: str, **kwargs: Any) -> Any:
    """Run a registered job through the queue and the app's worker; its result."""
    from hub.jobs.registry import enqueue, wait_for
    from hub.system.services import current

    job = await enqueue(current().queue, name, **kwargs)
    assert job is not None
    done = await wait_for(job, 20)
    assert done.status == "complete", done.error
    return done.result
