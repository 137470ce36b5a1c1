"""The issue's set-up: `hub serve` and two `hub worker` processes on PostgreSQL and Redis (the
scale-out mode), 500 conversations arriving concurrently for a team of 5 agents with capacity 20.

Everything goes through the public API and the workers' jobs (events → the routing subscriber
and the `route_waiting` sweep, in whichever worker takes them); the assertions read the database
and the assignment history. tests/routing/test_assignment.py runs the same case in-process.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import asyncpg
import httpx
import pytest

from tests import test_cli as cli
from tests.conftest import free_port, unique

PASSWORD = "scale-out routing pw"


@pytest.fixture
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hub-routing-") as path:
        yield Path(path)


@pytest.fixture
async def hub(clean_db: str, redis_url: str, folder: Path) -> AsyncIterator[str]:
    """The web process and two workers; yields the base URL."""
    port = free_port()
    env = cli._env(
        HUB_DATA_DIR=str(folder),
        DATABASE_URL=clean_db,
        REDIS_URL=redis_url,
        HUB_ADMIN_EMAIL="root@example.com",
        HUB_ADMIN_PASSWORD=PASSWORD,
        HUB_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    web = cli.Proc(["serve", "--port", str(port)], env, folder / "web.log")
    workers = [cli.Proc(["worker"], env, folder / f"worker-{n}.log") for n in (1, 2)]
    try:
        url = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(cli._wait_healthy, url, web)
        yield url
        for proc in workers:
            assert proc.process.poll() is None, f"a worker died:\n{proc.output()}"
    finally:
        stopped = [proc.stop() for proc in (web, *workers)]
    assert all(stopped), "\n".join(p.output()[-3000:] for p in (web, *workers))


async def _session(url: str, email: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=url, timeout=60)
    login = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    http.headers["x-csrf-token"] = login.json()["csrf_token"]
    return http


async def _agent(admin: httpx.AsyncClient, url: str) -> int:
    """Invited, password set from the link, logged in and switched to available."""
    email = unique("agent") + "@example.com"
    invited = await admin.post("/api/v1/agents", json={"email": email})
    assert invited.status_code == 201, invited.text
    token = parse_qs(urlparse(invited.json()["invite_url"]).query)["token"][0]
    async with httpx.AsyncClient(base_url=url, timeout=60) as anonymous:
        done = await anonymous.post(
            "/api/v1/auth/set-password", json={"token": token, "password": PASSWORD}
        )
    assert done.status_code == 200, done.text
    agent = await _session(url, email)
    try:
        available = await agent.put("/api/v1/agents/me/availability", json={"status": "available"})
    finally:
        await agent.aclose()
    assert available.status_code == 200, available.text
    return int(invited.json()["agent"]["id"])


async def _wait(predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not settled within {timeout} s")
        await asyncio.sleep(0.2)


async def _state(db: asyncpg.Connection, folder: Path) -> str:
    """What a failure needs to be understood: agents, the queue, and the processes' last words."""
    agents = await db.fetch("SELECT id, availability, active, skills FROM agent ORDER BY id")
    queue = await db.fetch(
        "SELECT team, assignee, status, count(*) FROM conversation GROUP BY 1, 2, 3 ORDER BY 1, 2"
    )
    logs = await asyncio.to_thread(
        lambda: [f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(folder.glob("*.log"))]
    )
    return "\n".join([repr([dict(r) for r in agents]), repr([dict(r) for r in queue]), *logs])


async def test_500_arrivals_two_worker_processes(hub: str, clean_db: str, folder: Path) -> None:
    admin = await _session(hub, "root@example.com")
    db = await asyncpg.connect(clean_db)
    try:
        agents = [await _agent(admin, hub) for _ in range(5)]
        team = (await admin.post("/api/v1/teams", json={"name": unique("team")})).json()["id"]
        members = await admin.put(f"/api/v1/teams/{team}/members", json={"agent_ids": agents})
        assert members.status_code == 200, members.text
        routing = await admin.patch(
            f"/api/v1/teams/{team}/routing", json={"assignment": "round_robin", "max_open": 20}
        )
        assert routing.status_code == 200, routing.text
        inbox = await admin.post(
            "/api/v1/inboxes",
            json={"name": unique("api"), "channel": "api", "config": {}, "team_id": team},
        )
        assert inbox.status_code == 201, inbox.text
        inbox_id = inbox.json()["id"]

        async def arrive(n: int) -> None:
            response = await admin.post(
                f"/api/v1/inboxes/{inbox_id}/messages",
                json={
                    "external_id": f"m-{n}",
                    "sender": {"kind": "phone", "address": f"+4540{n:06d}", "name": "Customer"},
                    "text": f"message {n}",
                },
            )
            assert response.status_code == 201, response.text

        # 50 at a time: each group has committed before the next starts, so the queue order of
        # the 100 first is known, while the workers route as the events come.
        for start in range(0, 500, 50):
            await asyncio.gather(*(arrive(n) for n in range(start, start + 50)))

        async def loads() -> Counter[int]:
            rows = await db.fetch(
                "SELECT assignee FROM conversation WHERE inbox = $1 AND status = 'open'"
                " AND assignee IS NOT NULL",
                inbox_id,
            )
            return Counter(r["assignee"] for r in rows)

        async def full() -> bool:
            return sum((await loads()).values()) >= 100

        try:
            await _wait(full)
        except AssertionError:
            raise AssertionError(await _state(db, folder)) from None
        # Let a few more sweeps (every 5 s, in either worker) run: nothing more may move.
        await asyncio.sleep(6)
        assert await loads() == Counter({a: 20 for a in agents})
        assert (
            await db.fetchval("SELECT count(*) FROM conversation WHERE inbox = $1", inbox_id) == 500
        )
        history = await db.fetch(
            "SELECT conversation, agent, by_type FROM conversation_assignment ORDER BY id"
        )
        assert len(history) == 100
        assert {r["by_type"] for r in history} == {"policy"}
        assert len({r["conversation"] for r in history}) == 100  # none assigned twice
        assert Counter(r["agent"] for r in history) == Counter({a: 20 for a in agents})
        ordered = await db.fetch(
            "SELECT id, assignee FROM conversation WHERE inbox = $1"
            " ORDER BY coalesce(waiting_since, created_at), id",
            inbox_id,
        )
        assert all(r["assignee"] is not None for r in ordered[:100])
        assert all(r["assignee"] is None for r in ordered[100:])
        # The 400 wait in order: an agent resolving 5 gets the next 5 of the queue, no others.
        mine = [r["id"] for r in ordered[:100] if r["assignee"] == agents[0]][:5]
        for cid in mine:
            resolved = await admin.patch(
                f"/api/v1/conversations/{cid}", json={"status": "resolved"}
            )
            assert resolved.status_code == 200, resolved.text
        nxt = [r["id"] for r in ordered[100:105]]

        async def refilled() -> bool:
            return (await loads())[agents[0]] >= 20

        try:
            await _wait(refilled)
        except AssertionError:
            raise AssertionError(await _state(db, folder)) from None
        await asyncio.sleep(6)
        assert await loads() == Counter({a: 20 for a in agents})
        taken = await db.fetch(
            "SELECT id, assignee FROM conversation WHERE id = ANY($1::int[])", nxt
        )
        assert {r["assignee"] for r in taken} == {agents[0]}
        assert await db.fetchval("SELECT count(*) FROM conversation_assignment") == 105
    finally:
        await db.close()
        await admin.aclose()
