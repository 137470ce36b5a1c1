"""Revoking widget visitor tokens: a generation per visitor address.

Tokens are stateless, so they are revoked by number rather than one by one: a token names the
generation it was issued under, revoking increments the visitor's generation, and only tokens of
the current generation are accepted. No row means generation 0.
"""

from __future__ import annotations

from hub.db.engine import connection_pool


async def generation(address: str) -> int:
    found = await connection_pool().fetchval(
        "SELECT generation FROM visitor_revocation WHERE address = $1", address
    )
    return int(found or 0)


async def contact_if_current(address: str, token_generation: int) -> int | None:
    """The visitor's contact, or None when it is unknown or this token's generation is revoked."""
    found = await connection_pool().fetchval(
        "SELECT i.contact FROM contact_identity i LEFT JOIN visitor_revocation r"
        " ON r.address = i.address WHERE i.kind = 'webchat' AND i.address = $1"
        " AND coalesce(r.generation, 0) = $2",
        address,
        token_generation,
    )
    return int(found) if found is not None else None


async def revoke(address: str) -> int:
    """Make every token issued so far for this visitor invalid; returns the new generation."""
    return int(
        await connection_pool().fetchval(
            "INSERT INTO visitor_revocation (address, generation, revoked_at) VALUES ($1, 1, now())"
            " ON CONFLICT (address) DO UPDATE SET generation = visitor_revocation.generation + 1,"
            " revoked_at = now() RETURNING generation",
            address,
        )
    )


async def revoke_contact(contact_id: int) -> int:
    """Revoke the tokens of every widget visitor that is this contact; returns how many."""
    rows = await connection_pool().fetch(
        "SELECT address FROM contact_identity WHERE contact = $1 AND kind = 'webchat'", contact_id
    )
    for row in rows:
        await revoke(str(row["address"]))
    return len(rows)
