"""Password reset by email through a real SMTP server (aiosmtpd) and the hub's worker: the same
202 whether the address is an agent's or not, rate limits, a single-use expiring link whose
token is stored hashed, every session ended; the password policy; the self-service change."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from litestar import Litestar

from hub.system.config import Settings
from tests.conftest import run_job, serving, unique, with_smtp
from tests.email.servers import SmtpSink
from tests.login.helpers import PASSWORD, audit_rows, new_agent, password_login, session

NEW_PASSWORD = "plum kettle orbit sand"


@pytest.fixture
async def mail_client(
    settings: Settings, sink: tuple[SmtpSink, int]
) -> AsyncIterator[httpx.AsyncClient]:
    from web.app import create_app

    configured = with_smtp(
        settings,
        sink[1],
        public_url="https://hub.example.com",
    )
    app: Litestar = create_app(configured, run_worker=True)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


def token_in(text: str) -> str:
    found = re.search(r"https://hub\.example\.com/reset-password\?token=([\w-]+)", text)
    assert found, text
    return found.group(1)


async def test_reset_by_email(
    mail_client: httpx.AsyncClient, sink: tuple[SmtpSink, int], settings: Settings
) -> None:
    client = mail_client
    received, _ = sink
    agent_id, email = await new_agent()
    other_browser = httpx.AsyncClient(base_url=str(client.base_url))
    await session(other_browser, email)  # a session that must end with the reset

    known = await client.post("/api/v1/auth/password-reset", json={"email": email.upper()})
    unknown = await client.post(
        "/api/v1/auth/password-reset", json={"email": unique("nobody") + "@example.com"}
    )
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    [mail] = await received.wait(1)
    assert mail.rcpt_tos == [email]
    assert mail.message["Subject"] == "[Hub] Reset your password"
    token = token_in(mail.message.get_content())
    # Only the hash is stored.
    conn = await asyncpg.connect(settings.database_url)
    try:
        stored = await conn.fetchval("SELECT token_sha256 FROM password_reset")
    finally:
        await conn.close()
    assert stored != token and len(stored) == 64
    page = await client.get("/reset-password", params={"token": token})
    assert page.status_code == 200 and f'data-token="{token}"' in page.text

    weak = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "password12345"}
    )
    assert weak.status_code == 422 and "common" in weak.json()["error"]["message"]
    done = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 200, done.text
    assert (await other_browser.get("/api/v1/auth/me")).status_code == 401  # logged out
    await other_browser.aclose()
    assert (await password_login(client, email)).status_code == 401
    assert (await password_login(client, email, NEW_PASSWORD)).status_code == 200
    again = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "x" + NEW_PASSWORD}
    )
    assert again.status_code == 400 and "not valid any more" in again.json()["error"]["message"]
    actions = [
        (r["action"], r["actor_id"])
        for r in await audit_rows(
            settings.database_url or "",
            "password.reset_request",
            "password.reset",
            "password.reset_refused",
        )
    ]
    assert actions == [
        ("password.reset_request", None),
        ("password.reset_request", None),
        ("password.reset", agent_id),
        ("password.reset_refused", None),
    ]


async def test_links_expire(
    mail_client: httpx.AsyncClient, sink: tuple[SmtpSink, int], settings: Settings
) -> None:
    received, _ = sink
    _, email = await new_agent()
    await mail_client.post("/api/v1/auth/password-reset", json={"email": email})
    [mail] = await received.wait(1)
    token = token_in(mail.message.get_content())
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("UPDATE password_reset SET expires_at = now() - interval '1 second'")
    finally:
        await conn.close()
    late = await mail_client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert late.status_code == 400 and late.json()["error"]["code"] == "invalid_reset_link"


async def test_requests_are_rate_limited(client: httpx.AsyncClient) -> None:
    email = unique("limited") + "@example.com"  # not an agent: limited all the same
    answers = [
        (await client.post("/api/v1/auth/password-reset", json={"email": email})).status_code
        for _ in range(4)
    ]
    assert answers == [202, 202, 202, 429]
    # Other addresses from this client still go, up to the per-client bound.
    statuses = [
        (
            await client.post(
                "/api/v1/auth/password-reset", json={"email": unique("x") + "@example.com"}
            )
        ).status_code
        for _ in range(20)
    ]
    assert statuses.count(202) == 17 and statuses[-1] == 429


async def test_without_smtp_nothing_is_sent_and_nothing_told(client: httpx.AsyncClient) -> None:
    _, email = await new_agent()
    answer = await client.post("/api/v1/auth/password-reset", json={"email": email})
    assert answer.status_code == 202
    assert await run_job("send_password_reset", email=email) is False


async def test_self_service_change(client: httpx.AsyncClient, settings: Settings) -> None:
    agent_id, email = await new_agent()
    csrf = await session(client, email)
    elsewhere = httpx.AsyncClient(base_url=str(client.base_url))
    await session(elsewhere, email)
    wrong = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=csrf,
    )
    assert wrong.status_code == 400 and "current password" in wrong.json()["error"]["message"]
    short = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=csrf,
    )
    assert short.status_code == 422 and "at least 12" in short.json()["error"]["message"]
    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=csrf,
    )
    assert changed.status_code == 200
    # Every session ended, this one and the other browser's.
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    assert (await elsewhere.get("/api/v1/auth/me")).status_code == 401
    await elsewhere.aclose()
    assert (await password_login(client, email, NEW_PASSWORD)).status_code == 200
    [row] = await audit_rows(settings.database_url or "", "password.change")
    assert row["actor_id"] == agent_id


async def test_the_policy_applies_to_invitations_too(client: httpx.AsyncClient) -> None:
    from tests.conftest import admin_key

    admin = await admin_key(client)
    invited = await client.post(
        "/api/v1/agents", json={"email": unique("inv") + "@example.com"}, headers=admin
    )
    token = invited.json()["invite_url"].split("token=")[1]
    weak = await client.post(
        "/api/v1/auth/set-password", json={"token": token, "password": "qwertyuiop123"}
    )
    assert weak.status_code == 422 and "common" in weak.json()["error"]["message"]
