"""Password reset by email, and the self-service password change.

A reset request answers the same (202) whether the address is an agent's or not: the lookup,
the token and the mail happen in a job (`send_password_reset`), so not even the time taken
differs. Requests are limited per address and per client address whatever the address is.
The link's token is random, single use, expires after HUB_PASSWORD_RESET_SECONDS and is stored
only as its sha256. Setting a new password, either way, ends every session and pending login.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from hub.auth import accounts, audit, passwords
from hub.db.engine import connection_pool
from hub.system.crypto import sha256_hex

log = logging.getLogger(__name__)

# Requests per hour: an address gets a few links (a mail can be slow or filtered), a client
# address more (an office shares one), neither enough to flood someone's mailbox.
PER_EMAIL_PER_HOUR = 3
PER_CLIENT_PER_HOUR = 20


class InvalidReset(ValueError):
    """An unknown, used or expired link, or a wrong current password."""


class ResetThrottled(Exception):
    def __init__(self) -> None:
        super().__init__("too many password reset requests; try again in an hour")


def _limits(email: str, client: str) -> dict[str, int]:
    return {f"reset-email:{email}": PER_EMAIL_PER_HOUR, f"reset-ip:{client}": PER_CLIENT_PER_HOUR}


async def request_reset(email: str, *, client: str) -> str:
    """Count the request (ResetThrottled past the limits) and audit it; the caller enqueues the
    mail job. Returns the normalised address."""
    email = email.strip().lower()[:320]
    limits = _limits(email, client)
    if await accounts.throttled(limits, 3600):
        await audit.record(
            "password.reset_throttled", actor_id=None, actor_type="anonymous",
            data={"email": email}, ip=client,
        )  # fmt: skip
        raise ResetThrottled
    await accounts.record_failure(list(limits))  # the login_failure table counts attempts
    await audit.record(
        "password.reset_request", actor_id=None, actor_type="anonymous", data={"email": email},
        ip=client,
    )  # fmt: skip
    return email


async def create_link_token(email: str, *, lifetime: int, ip: str = "") -> tuple[str, str] | None:
    """For an active agent with this address: a new reset token and their name, else None."""
    pool = connection_pool()
    row = await pool.fetchrow("SELECT id, name FROM agent WHERE email = $1 AND active", email)
    if row is None:
        return None
    token = secrets.token_urlsafe(32)
    await pool.execute(
        "INSERT INTO password_reset (agent, token_sha256, ip, expires_at) VALUES ($1, $2, $3, $4)",
        row["id"],
        sha256_hex(token),
        ip[:64],
        accounts.now() + dt.timedelta(seconds=lifetime),
    )
    return token, str(row["name"])


async def set_password(agent_id: int, password: str) -> None:
    """The new password; every session and pending login of the agent ends."""
    passwords.check(password)
    hashed = await accounts.hash_password(password)
    email = await connection_pool().fetchval(
        "UPDATE agent SET password_hash = $2 WHERE id = $1 RETURNING email", agent_id, hashed
    )
    await accounts.end_all_sessions(agent_id)
    if email:
        await accounts.clear_login_failures(str(email))


async def use_link(token: str, password: str, *, ip: str) -> int:
    """Set the password with a reset link (once). Returns the agent id."""
    passwords.check(password)  # before the token is spent: a weak try does not void the link
    async with connection_pool().acquire() as conn, conn.transaction():
        agent_id = await conn.fetchval(
            "UPDATE password_reset r SET used_at = now() FROM agent a WHERE r.token_sha256 = $1"
            " AND r.used_at IS NULL AND r.expires_at > now() AND a.id = r.agent AND a.active"
            " RETURNING r.agent",
            sha256_hex(token),
        )
        if agent_id is not None:
            # The other links of the agent are void too: the newest password wins.
            await conn.execute(
                "UPDATE password_reset SET used_at = now() WHERE agent = $1 AND used_at IS NULL",
                agent_id,
            )
    if agent_id is None:
        await audit.record(
            "password.reset_refused", actor_id=None, actor_type="anonymous", ip=ip,
            data={"reason": "unknown, used or expired link"},
        )  # fmt: skip
        raise InvalidReset(
            "this reset link is not valid any more (used or expired): ask for a new one"
        )
    await set_password(agent_id, password)
    await audit.record(
        "password.reset", actor_id=agent_id, target_type="agent", target_id=agent_id, ip=ip
    )
    return int(agent_id)


async def change_password(agent_id: int, current: str, new: str, *, ip: str) -> None:
    """Self-service change: the current password again, then the new one (all sessions end)."""
    if not await accounts.verify_password(agent_id, current):
        await audit.record(
            "password.change_refused", actor_id=agent_id, target_type="agent",
            target_id=agent_id, ip=ip,
        )  # fmt: skip
        raise InvalidReset("the current password is not right")
    if current == new:
        raise passwords.WeakPassword("the new password must differ from the current one")
    await set_password(agent_id, new)
    await audit.record(
        "password.change", actor_id=agent_id, target_type="agent", target_id=agent_id, ip=ip
    )
