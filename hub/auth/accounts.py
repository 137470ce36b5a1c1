"""Agents, passwords, sessions and API keys.

Passwords are argon2id hashes; session tokens and API keys are random and stored only as
sha256 hashes, so a leaked database does not hand out live credentials.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from dataclasses import dataclass

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.auth import passwords
from hub.auth.permissions import Role
from hub.db.tables import Agent, AgentSession, ApiKey, LoginFailure
from hub.system.crypto import sha256_hex
from hub.system.ttlcache import TtlCache

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the email is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")

API_KEY_PREFIX = "hub_"
MIN_PASSWORD_LENGTH = passwords.MIN_PASSWORD_LENGTH  # the policy itself: hub.auth.passwords


class AuthError(Exception):
    """Credentials are missing or wrong."""


class LoginThrottled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


class AgentInfo(msgspec.Struct, frozen=True):
    id: int
    name: str
    email: str
    role: str


@dataclass(frozen=True)
class Principal:
    """Who is making a request, and how they proved it."""

    agent: AgentInfo
    via: str  # "session" | "api_key"
    csrf_token: str = ""
    session_token_hash: str = ""
    session_id: int = 0
    two_factor: bool = False  # the agent has a confirmed TOTP enrolment


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(stored: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _info(row: dict[str, object]) -> AgentInfo:
    return AgentInfo(
        id=int(row["id"]),  # type: ignore[call-overload]
        name=str(row["name"]),
        email=str(row["email"]),
        role=str(row["role"]),
    )


async def agent_info(agent_id: int) -> AgentInfo | None:
    """An active agent."""
    row = (
        await Agent.select(Agent.id, Agent.name, Agent.email, Agent.role)
        .where((Agent.id == agent_id) & (Agent.active == True))  # noqa: E712
        .first()
    )
    return _info(row) if row else None


async def create_agent(
    email: str, password: str, *, name: str = "", role: str = Role.AGENT
) -> AgentInfo:
    """Create an agent, or set the password and role of the one with this email."""
    email = email.strip().lower()
    passwords.check(password)  # WeakPassword is a ValueError
    hashed = await hash_password(password)
    display = name or email.split("@")[0].replace(".", " ").title()
    rows = await Agent.raw(
        "INSERT INTO agent (email, name, password_hash, role, active, availability, created_at)"
        " VALUES ({}, {}, {}, {}, true, 'available', now())"
        " ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
        " role = EXCLUDED.role, active = true"
        " RETURNING id, name, email, role",
        email,
        display,
        hashed,
        str(role),
    )
    # A password set by an operator (`hub createadmin`) is a way back in: the throttle of the old
    # one must not keep the only admin out.
    await clear_login_failures(email)
    # A new password ends every session made with the old one: whoever knew it is logged out.
    await end_all_sessions(int(rows[0]["id"]))
    return _info(rows[0])


async def has_admin() -> bool:
    return await Agent.exists().where((Agent.role == Role.ADMIN) & (Agent.active == True))  # noqa: E712


# Failures allowed within the window, as multiples of HUB_LOGIN_MAX_ATTEMPTS. The tight bound is
# per (email, address): guessing one agent's password from one place. An address gets more, as
# an office shares one (it still stops one address spraying many emails). An email gets far more
# from everywhere together, so a stranger cannot lock an agent out with a few wrong passwords,
# while a guessing botnet is still bounded.
PER_ADDRESS_FACTOR = 4
PER_EMAIL_FACTOR = 20


def _throttle_keys(email: str, client: str, max_attempts: int) -> dict[str, int]:
    return {
        f"pair:{email}|{client}": max_attempts,
        f"ip:{client}": max_attempts * PER_ADDRESS_FACTOR,
        f"email:{email}": max_attempts * PER_EMAIL_FACTOR,
    }


async def throttled(limits: dict[str, int], window: int) -> bool:
    """Whether any key has reached its bound of failures within the window (LoginThrottled)."""
    since = now() - dt.timedelta(seconds=window)
    rows = await LoginFailure.raw(
        "SELECT key, count(*) AS n FROM login_failure WHERE key = ANY({}) AND created_at > {}"
        " GROUP BY key",
        list(limits),
        since,
    )
    return any(int(r["n"]) >= limits[str(r["key"])] for r in rows)


async def record_failure(keys: list[str]) -> None:
    await LoginFailure.insert(*[LoginFailure(key=k) for k in keys])


async def authenticate(
    email: str, password: str, *, client: str, max_attempts: int, window: int
) -> AgentInfo:
    """Check a login. Repeated failures for an email from one address, from one address, or for
    one email from everywhere are throttled (each with its own bound, `_throttle_keys`)."""
    email = email.strip().lower()
    limits = _throttle_keys(email, client, max_attempts)
    if await throttled(limits, window):
        raise LoginThrottled(window)
    row = await Agent.select().where(Agent.email == email).first()
    ok = await _verify(str(row["password_hash"]) if row else _DUMMY_HASH, password)
    if not row or not ok or not row["active"]:
        await record_failure(list(limits))
        raise AuthError("wrong email or password")
    # Only this place's failures: a success here says nothing about guesses from elsewhere.
    await LoginFailure.delete().where(LoginFailure.key == next(iter(limits)))
    return _info(row)


async def verify_password(agent_id: int, password: str) -> bool:
    """The agent's current password (for changes that ask for it again)."""
    stored = await Agent.select(Agent.password_hash).where(Agent.id == agent_id).first()
    return await _verify(str(stored["password_hash"]) if stored else _DUMMY_HASH, password)


async def clear_login_failures(email: str) -> None:
    """Forget every failed login for an email (a new password set by an operator)."""
    email = email.strip().lower()
    await LoginFailure.raw(
        "DELETE FROM login_failure WHERE key = {} OR starts_with(key, {})",
        f"email:{email}",
        f"pair:{email}|",
    )


async def create_session(
    agent_id: int, *, max_age: int, ip: str = "", user_agent: str = "", method: str = "password"
) -> tuple[str, str]:
    """Start a server-side session; returns (cookie token, CSRF token). `max_age` is the
    absolute lifetime; idle expiry is checked against last_seen_at (session_principal)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    await AgentSession.insert(
        AgentSession(
            token_hash=sha256_hex(token),
            agent=agent_id,
            csrf_token=csrf,
            expires_at=now() + dt.timedelta(seconds=max_age),
            ip=ip[:64],
            user_agent=user_agent[:500],
            method=method,
        )
    )
    return token, csrf


# last_seen_at is written at most this often per session: every request would serialise an
# agent's parallel requests on one row. Idle expiry is therefore exact to within this.
TOUCH_SECONDS = 60


async def session_principal(
    token: str, *, idle_seconds: int, touch: bool = True
) -> Principal | None:
    """The session's agent, if the session is neither past its absolute expiry nor idle for
    longer than `idle_seconds`. `touch` (requests, not sockets) counts as activity."""
    token_hash = sha256_hex(token)
    rows = await AgentSession.raw(
        "SELECT a.id, a.name, a.email, a.role, s.id AS session_id, s.csrf_token,"
        " s.last_seen_at < now() - make_interval(secs => {}) AS stale,"
        " EXISTS (SELECT 1 FROM agent_totp t WHERE t.agent = a.id AND t.confirmed_at IS NOT NULL)"
        " AS two_factor FROM agent_session s JOIN agent a ON a.id = s.agent"
        " WHERE s.token_hash = {} AND s.expires_at > now() AND a.active"
        " AND s.last_seen_at > now() - make_interval(secs => {})",
        TOUCH_SECONDS,
        token_hash,
        idle_seconds,
    )
    if not rows:
        return None
    row = rows[0]
    if touch and row["stale"]:
        await AgentSession.update({AgentSession.last_seen_at: now()}).where(
            AgentSession.token_hash == token_hash
        )
    return Principal(
        _info(row),
        "session",
        str(row["csrf_token"]),
        token_hash,
        session_id=int(row["session_id"]),
        two_factor=bool(row["two_factor"]),
    )


async def end_session(token_hash: str) -> None:
    await AgentSession.delete().where(AgentSession.token_hash == token_hash)


async def end_all_sessions(agent_id: int) -> None:
    """Every session and every half-done (second factor pending) login of the agent."""
    await AgentSession.delete().where(AgentSession.agent == agent_id)
    await AgentSession.raw("DELETE FROM pending_login WHERE agent = {}", agent_id)


async def create_api_key(agent_id: int, name: str) -> tuple[dict[str, object], str]:
    """Create an API key; the plain key is returned here once and never stored."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    rows = await ApiKey.insert(
        ApiKey(agent=agent_id, name=name, prefix=key[:10], key_hash=sha256_hex(key))
    ).returning(ApiKey.id, ApiKey.name, ApiKey.prefix, ApiKey.created_at)
    return rows[0], key


# Integrations send a request per message: looking the key up (and writing last_used_at) on each
# one serialised them on that row. Keys are cached briefly per process; a revocation clears this
# process's cache at once and reaches other processes within KEY_CACHE_SECONDS.
KEY_CACHE_SECONDS = 10.0
_key_cache: TtlCache[str, Principal] = TtlCache(KEY_CACHE_SECONDS)


def forget_cached_keys() -> None:
    """An agent's role or access changed: this process looks every key up again."""
    _key_cache.clear()


async def api_key_principal(key: str) -> Principal | None:
    if not key.startswith(API_KEY_PREFIX):
        return None
    key_hash = sha256_hex(key)
    cached = _key_cache.get(key_hash)
    if cached is not None:
        return cached
    rows = await ApiKey.raw(
        "SELECT a.id, a.name, a.email, a.role, k.last_used_at < now() - interval '1 minute'"
        " OR k.last_used_at IS NULL AS stale FROM api_key k JOIN agent a ON a.id = k.agent"
        " WHERE k.key_hash = {} AND k.revoked_at IS NULL AND a.active",
        key_hash,
    )
    if not rows:
        _key_cache.drop(key_hash)
        return None
    if rows[0]["stale"]:
        await ApiKey.update({ApiKey.last_used_at: now()}).where(ApiKey.key_hash == key_hash)
    principal = Principal(_info(rows[0]), "api_key")
    _key_cache.put(key_hash, principal)
    return principal


async def list_api_keys(agent_id: int) -> list[dict[str, object]]:
    return (
        await ApiKey.select(
            ApiKey.id, ApiKey.name, ApiKey.prefix, ApiKey.created_at, ApiKey.last_used_at
        )
        .where((ApiKey.agent == agent_id) & ApiKey.revoked_at.is_null())
        .order_by(ApiKey.id)
    )


async def revoke_api_key(agent_id: int, key_id: int) -> bool:
    _key_cache.clear()

    rows = (
        await ApiKey.update({ApiKey.revoked_at: now()})
        .where((ApiKey.id == key_id) & (ApiKey.agent == agent_id) & ApiKey.revoked_at.is_null())
        .returning(ApiKey.id)
    )
    return bool(rows)


async def purge_expired(*, idle_seconds: int) -> int:
    """Delete expired sessions and old login failures (a cron job)."""
    gone = (
        await AgentSession.delete()
        .where(AgentSession.expires_at < now())
        .returning(AgentSession.id)
    )
    await LoginFailure.delete().where(LoginFailure.created_at < now() - dt.timedelta(days=1))
    # Idle sessions are refused when used; deleting them too keeps the sessions list honest.
    await AgentSession.raw(
        "DELETE FROM agent_session WHERE last_seen_at < now() - make_interval(secs => {})",
        idle_seconds,
    )
    await AgentSession.raw("DELETE FROM pending_login WHERE expires_at < now()")
    await AgentSession.raw("DELETE FROM oidc_flow WHERE expires_at < now() - interval '1 day'")
    await AgentSession.raw(
        "DELETE FROM password_reset WHERE expires_at < now() - interval '7 days'"
    )
    return len(gone)
