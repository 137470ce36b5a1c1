"""Contacts and their identities: addresses are normalised before anything is looked up."""

from __future__ import annotations

import json
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


def unverified_email_sql(contact: str) -> str:
    """A JSON expression for the contact (a table alias): the email it typed but never proved,
    with the contact that owns that email as a possible match (for an agent to merge), or null.

    Read when shown rather than stored, so the match is current after merges and new identities.
    """
    typed = f"({contact}.attributes ->> 'email')"
    return (
        f"(SELECT jsonb_build_object('address', {typed}, 'possible_match',"
        f" (SELECT o.contact FROM contact_identity o WHERE o.kind = 'email' AND o.address = {typed}"
        f" AND o.contact <> {contact}.id)) WHERE {typed} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
        f" contact_identity s WHERE s.contact = {contact}.id AND s.kind = 'email'"
        f" AND s.address = {typed}))"
    )


async def contact_detail(contact_id: int) -> dict[str, Any] | None:
    pool = connection_pool()
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, name, attributes, created_at,"
            f" {unverified_email_sql('contact')} AS unverified_email FROM contact WHERE id = $1",
            contact_id,
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
        "unverified_email": (
            None if row["unverified_email"] is None else json.loads(row["unverified_email"])
        ),
    }
