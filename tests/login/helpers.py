"""Shared steps for the login tests: agents, logging in through the API, the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import httpx
import pyotp

from hub.system import clock
from tests.conftest import make_agent, unique

PASSWORD = "correct horse battery"


async def new_agent(role: str = "agent") -> tuple[int, str]:
    email = unique(role) + "@example.com"
    return await make_agent(email, PASSWORD, role=role), email


async def password_login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def session(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """Log in (no two-factor); the CSRF header for state changes."""
    response = await password_login(client, email)
    assert response.status_code == 200, response.text
    assert response.json()["two_factor_required"] is False
    return {"x-csrf-token": response.json()["csrf_token"]}


def code(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (on the hub's clock), or `steps_ahead` later."""
    at = clock.now() + dt.timedelta(seconds=30 * steps_ahead)
    return pyotp.TOTP(secret).at(at)


async def enrol(client: httpx.AsyncClient, csrf: dict[str, str]) -> tuple[str, list[str]]:
    """Turn two-factor on for the logged-in agent: (secret, recovery codes)."""
    started = await client.post("/api/v1/auth/totp/enrol", headers=csrf)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    confirmed = await client.post(
        "/api/v1/auth/totp/confirm", json={"code": code(secret)}, headers=csrf
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


async def audit_rows(dsn: str, *actions: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT action, actor_id, target_id, data, ip FROM audit_log WHERE action = ANY($1)"
            " ORDER BY id",
            list(actions),
        )
    finally:
        await conn.close()
    import json

    return [dict(r) | {"data": json.loads(r["data"])} for r in rows]
