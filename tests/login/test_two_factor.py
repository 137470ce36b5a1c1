"""TOTP two-factor through the API: enrolment with a QR code, the code asked after the password
(a pending login, not a session), replay and throttling refused, recovery codes once each,
turning it off, and roles that must use it."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from litestar import Litestar

from hub.system import clock
from hub.system.config import Settings
from tests.conftest import serving, with_settings
from tests.login.helpers import (
    PASSWORD,
    audit_rows,
    code,
    enrol,
    new_agent,
    password_login,
    session,
)


async def test_enrol_then_login_asks_for_the_code(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    agent_id, email = await new_agent()
    csrf = await session(client, email)
    started = await client.post("/api/v1/auth/totp/enrol", headers=csrf)
    body = started.json()
    assert body["qr_svg"].startswith("<svg") and "otpauth://totp/" in body["otpauth_uri"]
    # Not on until a code confirms the device: a wrong one is refused.
    wrong = await client.post("/api/v1/auth/totp/confirm", json={"code": "000000"}, headers=csrf)
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "invalid_code"
    assert (await client.get("/api/v1/auth/totp")).json()["enabled"] is False
    first_code = code(body["secret"])
    confirmed = await client.post(
        "/api/v1/auth/totp/confirm", json={"code": first_code}, headers=csrf
    )
    recovery = confirmed.json()["recovery_codes"]
    assert len(recovery) == 10 and len(set(recovery)) == 10
    assert (await client.get("/api/v1/auth/totp")).json()["recovery_codes_left"] == 10
    await client.post("/api/v1/auth/logout", headers=csrf)
    client.cookies.clear()

    first = await password_login(client, email)
    assert first.status_code == 200
    assert first.json() == {"agent": None, "csrf_token": "", "two_factor_required": True}
    # The password alone is no session.
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    # The code that confirmed the enrolment is spent: the same code again is a replay (the
    # exact string, not "the code of now": a slow machine may have crossed into the next step).
    replay = await client.post("/api/v1/auth/totp/verify", json={"code": first_code})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "bad_code"
    clock.advance(dt.timedelta(seconds=30))
    done = await client.post("/api/v1/auth/totp/verify", json={"code": code(body["secret"])})
    assert done.status_code == 200, done.text
    assert done.json()["agent"]["id"] == agent_id
    me = (await client.get("/api/v1/auth/me")).json()
    assert me["two_factor"] is True
    # The pending login is used up: the same cookie cannot make a second session.
    again = await client.post(
        "/api/v1/auth/totp/verify",
        json={"code": code(body["secret"], 1)},
        cookies={"hub_pending": first.cookies["hub_pending"]},
    )
    assert again.status_code == 401 and again.json()["error"]["code"] == "no_pending_login"

    logins = await audit_rows(settings.database_url or "", "login", "login.failed", "totp.enrol")
    assert [r["action"] for r in logins] == ["login", "totp.enrol", "login.failed", "login"]
    assert logins[0]["data"]["method"] == "password"
    assert logins[2]["data"]["reason"] == "totp" and logins[2]["actor_id"] == agent_id
    assert logins[3]["data"]["method"] == "password+totp"
    sessions = (await client.get("/api/v1/auth/sessions")).json()
    assert [s["method"] for s in sessions if s["current"]] == ["password+totp"]


async def test_recovery_codes_work_once(client: httpx.AsyncClient) -> None:
    _, email = await new_agent()
    csrf = await session(client, email)
    _, recovery = await enrol(client, csrf)
    client.cookies.clear()
    await password_login(client, email)
    used = await client.post("/api/v1/auth/totp/verify", json={"code": recovery[0].upper()})
    assert used.status_code == 200, used.text
    assert (await client.get("/api/v1/auth/totp")).json()["recovery_codes_left"] == 9
    client.cookies.clear()
    await password_login(client, email)
    twice = await client.post("/api/v1/auth/totp/verify", json={"code": recovery[0]})
    assert twice.status_code == 401


async def test_wrong_codes_are_throttled(client: httpx.AsyncClient, settings: Settings) -> None:
    _, email = await new_agent()
    csrf = await session(client, email)
    secret, _ = await enrol(client, csrf)
    client.cookies.clear()
    await password_login(client, email)
    for _ in range(settings.login_max_attempts):
        wrong = await client.post("/api/v1/auth/totp/verify", json={"code": "123456"})
        assert wrong.status_code == 401
    # Now even the right code is refused for a while: the 10^6 codes cannot be walked through.
    blocked = await client.post("/api/v1/auth/totp/verify", json={"code": code(secret, 1)})
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers


async def test_turning_it_off_takes_the_password_and_a_code(client: httpx.AsyncClient) -> None:
    _, email = await new_agent()
    csrf = await session(client, email)
    secret, _ = await enrol(client, csrf)
    wrong = await client.post(
        "/api/v1/auth/totp/disable",
        json={"password": "not the password", "code": code(secret, 1)},
        headers=csrf,
    )
    assert wrong.status_code == 422 and "password" in wrong.json()["error"]["message"]
    off = await client.post(
        "/api/v1/auth/totp/disable",
        json={"password": PASSWORD, "code": code(secret, 1)},
        headers=csrf,
    )
    assert off.status_code == 200 and off.json() == {"enabled": False}
    client.cookies.clear()
    assert await session(client, email)  # no code asked any more
    # Enrolling again while it is on is refused; after turning off it starts fresh.
    again = await client.post("/api/v1/auth/totp/enrol", headers=await session(client, email))
    assert again.status_code == 200


@pytest.fixture
async def strict_client(settings: Settings) -> httpx.AsyncClient:
    from web.app import create_app

    app: Litestar = create_app(
        with_settings(settings, require_2fa_roles=("supervisor",)), run_worker=False
    )
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


async def test_a_role_can_be_made_to_use_two_factor(strict_client: httpx.AsyncClient) -> None:
    client = strict_client
    _, email = await new_agent("supervisor")
    csrf = await session(client, email)
    blocked = await client.get("/api/v1/conversations")
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "two_factor_required"
    assert (await client.get("/api/v1/auth/me")).json()["two_factor_required"] is True
    page = await client.get("/inbox", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/profile"
    assert (await client.get("/profile")).status_code == 200
    await enrol(client, csrf)
    assert (await client.get("/api/v1/conversations")).status_code == 200
    # Other roles are not asked.
    client.cookies.clear()
    _, agent_email = await new_agent("agent")
    await session(client, agent_email)
    assert (await client.get("/api/v1/conversations")).status_code == 200


async def test_a_password_change_voids_logins_waiting_for_a_code(
    client: httpx.AsyncClient, base_url: str
) -> None:
    _, email = await new_agent()
    csrf = await session(client, email)
    secret, _ = await enrol(client, csrf)
    async with httpx.AsyncClient(base_url=base_url) as other:
        assert (await password_login(other, email)).json()["two_factor_required"] is True
        changed = await client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "plum kettle orbit sand"},
            headers=csrf,
        )
        assert changed.status_code == 200, changed.text
        late = await other.post("/api/v1/auth/totp/verify", json={"code": code(secret, 1)})
        assert late.status_code == 401 and late.json()["error"]["code"] == "no_pending_login"
