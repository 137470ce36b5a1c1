"""A login between its first factor (password or OIDC) and its second (TOTP): not a session.

It lives 5 minutes, in its own table, behind its own cookie; it grants nothing but the right to
send a code. Wrong codes count against the login throttle like wrong passwords (per agent and
client address), so the 10^6 codes cannot be walked through.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from hub.auth import accounts, audit
from hub.db.engine import connection_pool
from hub.system.crypto import sha256_hex

PENDING_SECONDS = 300


@dataclass(frozen=True)
class Pending:
    agent_id: int
    method: str
    ip: str
    user_agent: str


async def needs_second_factor(agent_id: int) -> bool:
    return bool(
        await connection_pool().fetchval(
            "SELECT EXISTS (SELECT 1 FROM agent_totp WHERE agent = $1"
            " AND confirmed_at IS NOT NULL)",
            agent_id,
        )
    )


async def start(agent_id: int, *, method: str, ip: str, user_agent: str) -> str:
    token = secrets.token_urlsafe(32)
    await connection_pool().execute(
        "INSERT INTO pending_login (token_sha256, agent, method, ip, user_agent, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        sha256_hex(token),
        agent_id,
        method,
        ip[:64],
        user_agent[:500],
        accounts.now() + dt.timedelta(seconds=PENDING_SECONDS),
    )
    return token


async def find(token: str) -> Pending | None:
    row = await connection_pool().fetchrow(
        "SELECT p.agent, p.method, p.ip, p.user_agent FROM pending_login p JOIN agent a"
        " ON a.id = p.agent WHERE p.token_sha256 = $1 AND p.expires_at > now() AND a.active",
        sha256_hex(token),
    )
    if row is None:
        return None
    return Pending(row["agent"], row["method"], row["ip"], row["user_agent"])


async def finish(token: str) -> bool:
    """Use the pending login up (once): False when another request did already."""
    gone = await connection_pool().fetchval(
        "DELETE FROM pending_login WHERE token_sha256 = $1 RETURNING agent", sha256_hex(token)
    )
    return gone is not None


def throttle_keys(agent_id: int, client: str, max_attempts: int) -> dict[str, int]:
    return {
        f"totp:{agent_id}|{client}": max_attempts,
        f"totp:{agent_id}": max_attempts * accounts.PER_ADDRESS_FACTOR,
    }


async def audit_login(agent_id: int, method: str, ip: str, **data: object) -> None:
    await audit.record(
        "login", actor_id=agent_id, target_type="agent", target_id=agent_id,
        data={"method": method, **data}, ip=ip,
    )  # fmt: skip


async def audit_failure(reason: str, ip: str, agent_id: int | None = None, **data: object) -> None:
    await audit.record(
        "login.failed", actor_id=agent_id, actor_type="agent" if agent_id else "anonymous",
        target_type="agent" if agent_id else "", target_id=agent_id,
        data={"reason": reason, **data}, ip=ip,
    )  # fmt: skip
