"""TOTP two-factor (RFC 6238, pyotp): enrolment with a QR code, confirmation, recovery codes.

The seed is stored encrypted with the instance secret (the hub must read it back to check a
code); recovery codes only as sha256 (they are long random strings, shown once). A code is
accepted for the step before, the current and the next one (clock drift), and never for a
step at or before the last one used: a code seen over someone's shoulder is spent.
"""

from __future__ import annotations

import secrets
from typing import Any

import pyotp
import qrcode
import qrcode.image.svg

from hub.auth import audit
from hub.auth.accounts import verify_password
from hub.db.engine import connection_pool
from hub.system import clock
from hub.system.crypto import constant_time_equal, decrypt_json, encrypt_json, sha256_hex

ISSUER = "Hub"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


class InvalidTotp(ValueError):
    """A wrong, replayed or missing code, or an enrolment step out of order."""


def _normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG (no image request, no CDN)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    text: str = image.to_string(encoding="unicode")
    return text[text.index("<svg") :]


async def status(agent_id: int) -> dict[str, Any]:
    row = await connection_pool().fetchrow(
        "SELECT confirmed_at, (SELECT count(*) FROM agent_recovery_code c WHERE c.agent = $1"
        " AND c.used_at IS NULL) AS left FROM agent_totp WHERE agent = $1",
        agent_id,
    )
    confirmed = row is not None and row["confirmed_at"] is not None
    return {
        "enabled": confirmed,
        "enabled_at": row["confirmed_at"] if row else None,
        "recovery_codes_left": int(row["left"]) if confirmed and row else 0,
    }


async def start_enrolment(
    agent_id: int, email: str, *, secret_key: str, secret: str | None = None
) -> dict[str, str]:
    """A new seed for the agent (replacing an unconfirmed one); the QR code and the seed."""
    secret = secret or pyotp.random_base32()
    done = await connection_pool().fetchval(
        "INSERT INTO agent_totp (agent, secret_encrypted) VALUES ($1, $2) ON CONFLICT (agent)"
        " DO UPDATE SET secret_encrypted = EXCLUDED.secret_encrypted, last_step = 0,"
        " created_at = now() WHERE agent_totp.confirmed_at IS NULL RETURNING agent",
        agent_id,
        encrypt_json(secret_key, {"secret": secret}),
    )
    if done is None:
        raise InvalidTotp("two-factor is already on: turn it off first to enrol a new device")
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": qr_svg(uri)}


def _matching_step(secret: str, code: str) -> int | None:
    totp = pyotp.TOTP(secret)
    at = clock.now()
    step = totp.timecode(at)
    code = _normal(code)
    for offset in (-1, 0, 1):
        if constant_time_equal(totp.generate_otp(step + offset), code):
            return step + offset
    return None


async def _spend_step(agent_id: int, secret_key: str, code: str, *, confirmed: bool) -> bool:
    """The code is right and its step later than the last one used (then it becomes that)."""
    pool = connection_pool()
    row = await pool.fetchrow(
        "SELECT secret_encrypted FROM agent_totp WHERE agent = $1 AND (confirmed_at IS NOT NULL)"
        " = $2",
        agent_id,
        confirmed,
    )
    if row is None:
        return False
    step = _matching_step(decrypt_json(secret_key, row["secret_encrypted"])["secret"], code)
    if step is None:
        return False
    # One statement: two requests with the same code cannot both pass.
    spent = await pool.fetchval(
        "UPDATE agent_totp SET last_step = $2 WHERE agent = $1 AND last_step < $2 RETURNING agent",
        agent_id,
        step,
    )
    return spent is not None


async def confirm(agent_id: int, code: str, *, secret_key: str, ip: str = "") -> list[str]:
    """The first right code turns two-factor on; returns the recovery codes (shown once)."""
    if not await _spend_step(agent_id, secret_key, code, confirmed=False):
        raise InvalidTotp("that code is not right: check the device's time and try the next one")
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    async with connection_pool().acquire() as conn, conn.transaction():
        await conn.execute("UPDATE agent_totp SET confirmed_at = now() WHERE agent = $1", agent_id)
        await conn.execute("DELETE FROM agent_recovery_code WHERE agent = $1", agent_id)
        await conn.executemany(
            "INSERT INTO agent_recovery_code (agent, code_sha256) VALUES ($1, $2)",
            [(agent_id, sha256_hex(_normal(c))) for c in codes],
        )
    await audit.record(
        "totp.enrol", actor_id=agent_id, target_type="agent", target_id=agent_id, ip=ip
    )
    return codes


async def check(agent_id: int, code: str, *, secret_key: str) -> str | None:
    """A login's second factor: 'totp' or 'recovery_code' when accepted, else None."""
    if len(_normal(code)) == 6 and _normal(code).isdigit():
        return "totp" if await _spend_step(agent_id, secret_key, code, confirmed=True) else None
    used = await connection_pool().fetchval(
        "UPDATE agent_recovery_code SET used_at = now() WHERE agent = $1 AND code_sha256 = $2"
        " AND used_at IS NULL RETURNING id",
        agent_id,
        sha256_hex(_normal(code)),
    )
    return "recovery_code" if used is not None else None


async def disable(
    agent_id: int, *, password: str, code: str, secret_key: str, ip: str = ""
) -> None:
    """Turn two-factor off: the password and a current code (or a recovery code) again."""
    if not (await status(agent_id))["enabled"]:
        raise InvalidTotp("two-factor is not on")
    if not await verify_password(agent_id, password):
        raise InvalidTotp("the password is not right")
    if await check(agent_id, code, secret_key=secret_key) is None:
        raise InvalidTotp("that code is not right")
    pool = connection_pool()
    await pool.execute("DELETE FROM agent_totp WHERE agent = $1", agent_id)
    await pool.execute("DELETE FROM agent_recovery_code WHERE agent = $1", agent_id)
    await audit.record(
        "totp.disable", actor_id=agent_id, target_type="agent", target_id=agent_id, ip=ip
    )
