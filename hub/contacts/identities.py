"""Contacts and their identities: addresses are normalised before anything is looked up."""

from __future__ import annotations

import re
from typing import Any

from hub.channels.contract import Identity, IdentityKind
from hub.db.engine import connection_pool

_PHONE_PREFIXES = ("whatsapp:", "tel:", "sms:")


class InvalidIdentity(ValueError):
    pass


def normalise_address(kind: str, address: str) -> str:
    """Lower-cased email, E.164 phone (`+` and digits), other ids trimmed."""
    value = address.strip()
    if kind == IdentityKind.EMAIL:
        value = value.removeprefix("mailto:").strip().strip("<>").lower()
        if "@" not in value or value.startswith("@") or value.endswith("@"):
            raise InvalidIdentity(f"{address!r} is not an email address")
        return value
    if kind == IdentityKind.PHONE:
        lowered = value.lower()
        for prefix in _PHONE_PREFIXES:
            if lowered.startswith(prefix):
                value = value[len(prefix) :]
        digits = re.sub(r"\D", "", value)
        if value.startswith("00"):
            digits = digits[2:]
        if not 6 <= len(digits) <= 15:
            raise InvalidIdentity(f"{address!r} is not a phone number in international format")
        return "+" + digits
    if not value:
        raise InvalidIdentity(f"an identity of kind {kind!r} needs an address")
    if len(value) > 320:
        raise InvalidIdentity("an identity address is at most 320 characters")
    return value


def normalise(identity: Identity) -> Identity:
    kinds = {k.value for k in IdentityKind}
    if identity.kind not in kinds:
        raise InvalidIdentity(f"identity kind must be one of {', '.join(sorted(kinds))}")
    return Identity(
        identity.kind,
        normalise_address(identity.kind, identity.address),
        identity.name.strip()[:300],
    )


async def contact_detail(contact_id: int) -> dict[str, Any] | None:
    pool = connection_pool()
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, name, attributes, created_at FROM contact WHERE id = $1", contact_id
        )
        if row is None:
            return None
        identities = await conn.fetch(
            "SELECT kind, address, verified FROM contact_identity WHERE contact = $1 ORDER BY id",
            contact_id,
        )
    return {
        "id": row["id"],
        "name": row["name"],
        "created_at": row["created_at"],
        "identities": [dict(r) for r in identities],
    }
