"""A visitor's contact: found or created per verified identity, its email, its conversations in the inbox."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg
import msgspec

from hub.contacts.identities import normalise_address
from hub.db.engine import connection_pool
from hub.visitors.tokens import KIND


def visitor_address(inbox_id: int, identifier: str | None = None) -> str:
    if identifier is not None:
        return normalise_address(KIND, f"{inbox_id}:user:{identifier}")
    return f"{inbox_id}:anon:{secrets.token_urlsafe(18)}"


async def resolve_contact(
    address: str,
    *,
    name: str = "",
    email: str | None = None,
    verified: bool = False,
    email_verified: bool = False,
) -> int:
    """The visitor's contact, created on first sight.

    `verified`: the site vouched for the identifier (its name may replace the contact's).
    `email_verified`: the site's hash covers the email too. Only then may the visitor join the
    contact that owns that email: a hash over the identifier alone proves who the user is on the
    site, not that the email they send is theirs. Any other email is kept as an attribute, never as
    an identity; agents see it as unverified, with the contact that owns it as a possible match
    (`hub.contacts.identities.unverified_email_sql`) to decide whether it is the same person.
    """
    async with connection_pool().acquire() as conn, conn.transaction():
        # The same lock key as hub_ingest, so a first message and a session never race.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", f"{KIND}:{address}"
        )
        contact = await conn.fetchval(
            "SELECT contact FROM contact_identity WHERE kind = $1 AND address = $2", KIND, address
        )
        if contact is None:
            if email_verified and email:
                contact = await conn.fetchval(
                    "SELECT contact FROM contact_identity WHERE kind = 'email' AND address = $1",
                    email,
                )
            if contact is None:
                contact = await conn.fetchval(
                    "INSERT INTO contact (name, attributes, created_at, updated_at)"
                    " VALUES ($1, '{}'::jsonb, now(), now()) RETURNING id",
                    name[:300],
                )
            await conn.execute(
                "INSERT INTO contact_identity (contact, kind, address, verified, created_at)"
                " VALUES ($1, $2, $3, $4, now())",
                contact,
                KIND,
                address,
                verified,
            )
        if name:
            # A vouched-for name replaces the old one; a typed one only fills a blank.
            await conn.execute(
                "UPDATE contact SET name = $2, updated_at = now() WHERE id = $1 AND name <> $2"
                " AND (name = '' OR $3)",
                contact,
                name[:300],
                verified,
            )
        if email and email_verified:
            await conn.execute(
                "INSERT INTO contact_identity (contact, kind, address, verified, created_at)"
                " VALUES ($1, 'email', $2, true, now()) ON CONFLICT (kind, address) DO UPDATE"
                " SET verified = true WHERE contact_identity.contact = EXCLUDED.contact",
                contact,
                email,
            )
        elif email:
            await set_attributes(conn, contact, {"email": email})
    return int(contact)


async def set_email(contact_id: int, email: str) -> None:
    """An email typed by the visitor (offline form): kept for away replies, unverified."""
    async with connection_pool().acquire() as conn:
        await set_attributes(conn, contact_id, {"email": email})


async def set_attributes(conn: asyncpg.Connection, contact_id: int, values: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE contact SET attributes = coalesce(attributes, '{}'::jsonb) || $2::jsonb WHERE id = $1",
        contact_id,
        msgspec.json.encode(values).decode(),
    )


async def contact_for(address: str) -> int | None:
    found = await connection_pool().fetchval(
        "SELECT contact FROM contact_identity WHERE kind = $1 AND address = $2", KIND, address
    )
    return int(found) if found is not None else None


async def knows_email(contact_id: int) -> bool:
    return bool(
        await connection_pool().fetchval(
            "SELECT EXISTS (SELECT 1 FROM contact_identity WHERE contact = $1 AND kind = 'email')"
            " OR EXISTS (SELECT 1 FROM contact WHERE id = $1 AND attributes ? 'email')",
            contact_id,
        )
    )


async def conversation_ids(inbox_id: int, contact_id: int) -> list[int]:
    rows = await connection_pool().fetch(
        "SELECT id FROM conversation WHERE inbox = $1 AND contact = $2 ORDER BY id",
        inbox_id,
        contact_id,
    )
    return [int(r["id"]) for r in rows]


async def latest_conversation(
    inbox_id: int, contact_id: int, *, active_only: bool = False
) -> int | None:
    """The visitor's newest conversation (with `active_only`, one that is not resolved/closed)."""
    found = await connection_pool().fetchval(
        "SELECT id FROM conversation WHERE inbox = $1 AND contact = $2"
        " AND (NOT $3 OR status IN ('open', 'pending', 'snoozed')) ORDER BY id DESC LIMIT 1",
        inbox_id,
        contact_id,
        active_only,
    )
    return int(found) if found is not None else None


def attributes_json(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    result: dict[str, Any] = msgspec.json.decode(value) if isinstance(value, str) else dict(value)
    return result
