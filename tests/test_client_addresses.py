"""Issue 22.2: a client cannot pick its own address, nor lock an agent out with wrong passwords."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest

from hub.auth import accounts
from hub.db.tables import LoginFailure
from hub.system.config import Settings
from tests.conftest import free_port, make_agent, serving, with_settings
from tests.test_cli import Proc, _env, _wait_healthy, data_dir  # noqa: F401  (fixture)

SPOOFED = "203.0.113.9"


async def _session_ips(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [str(r["ip"]) for r in await conn.fetch("SELECT ip FROM agent_session ORDER BY id")]
    finally:
        await conn.close()


async def test_hub_serve_ignores_a_clients_own_forwarded_for(
    clean_db: str,
    data_dir: Path,  # noqa: F811  (the fixture of tests.test_cli)
) -> None:
    # The real `hub serve`, as deployed: nobody is a trusted proxy unless configured.
    port = free_port()
    env = _env(
        HUB_DATA_DIR=str(data_dir),
        DATABASE_URL=clean_db,
        HUB_ADMIN_EMAIL="root@example.com",
        HUB_ADMIN_PASSWORD="serve-admin-pw",
    )
    web = Proc(["serve", "--port", str(port)], env, data_dir / "web.log")
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, web)
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            login = await http.post(
                "/api/v1/auth/login",
                json={"email": "root@example.com", "password": "serve-admin-pw"},
                headers={"x-forwarded-for": SPOOFED},
            )
            assert login.status_code == 200, login.text
    finally:
        assert web.stop()
    assert await _session_ips(clean_db) == ["127.0.0.1"]


async def test_forwarded_for_is_believed_from_a_configured_proxy(settings: Settings) -> None:
    from web.app import create_app

    await make_agent("ann@example.com")
    app = create_app(with_settings(settings, trusted_proxies=("127.0.0.1",)), run_worker=False)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        login = await http.post(
            "/api/v1/auth/login",
            json={"email": "ann@example.com", "password": "correct horse battery"},
            headers={"x-forwarded-for": f"198.51.100.7, {SPOOFED}"},
        )
        assert login.status_code == 200, login.text
    # The right-most address the trusted proxy saw is the client; what it was told is not.
    assert await _session_ips(settings.database_url or "") == [SPOOFED]


async def _try(email: str, password: str, client: str) -> str:
    try:
        await accounts.authenticate(email, password, client=client, max_attempts=3, window=900)
    except accounts.LoginThrottled:
        return "throttled"
    except accounts.AuthError:
        return "wrong"
    return "ok"


async def test_wrong_passwords_from_elsewhere_do_not_lock_an_agent_out(
    client: httpx.AsyncClient,
) -> None:
    await make_agent("bob@example.com")
    for _ in range(3):
        assert await _try("bob@example.com", "guess", "198.51.100.1") == "wrong"
    assert await _try("bob@example.com", "guess", "198.51.100.1") == "throttled"
    assert await _try("bob@example.com", "correct horse battery", "198.51.100.1") == "throttled"
    # Bob, from his own address, is not bothered by the stranger's guesses.
    assert await _try("bob@example.com", "correct horse battery", "203.0.113.5") == "ok"


async def test_an_email_has_a_much_higher_global_bound(client: httpx.AsyncClient) -> None:
    await make_agent("cy@example.com")
    bound = 3 * accounts.PER_EMAIL_FACTOR
    await LoginFailure.insert(*[LoginFailure(key="email:cy@example.com") for _ in range(bound - 1)])
    assert await _try("cy@example.com", "correct horse battery", "203.0.113.6") == "ok"
    await LoginFailure.insert(LoginFailure(key="email:cy@example.com"))
    assert await _try("cy@example.com", "correct horse battery", "203.0.113.6") == "throttled"


async def test_an_address_has_its_own_bound_across_emails(client: httpx.AsyncClient) -> None:
    for n in range(3 * accounts.PER_ADDRESS_FACTOR):
        assert await _try(f"nobody{n}@example.com", "x", "198.51.100.2") == "wrong"
    assert await _try("someone@example.com", "x", "198.51.100.2") == "throttled"


async def test_a_password_set_by_the_cli_lets_the_only_admin_back_in(
    client: httpx.AsyncClient,
) -> None:
    await make_agent("root@example.com", role="admin")
    for _ in range(3):
        await _try("root@example.com", "forgotten", "127.0.0.1")
    assert await _try("root@example.com", "correct horse battery", "127.0.0.1") == "throttled"
    # `hub createadmin --email root@example.com --password …` goes through create_agent.
    await make_agent("root@example.com", "a brand new password", role="admin")
    assert await _try("root@example.com", "a brand new password", "127.0.0.1") == "ok"


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
