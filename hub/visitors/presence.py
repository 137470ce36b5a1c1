"""Which visitors are online, and the "you have a reply" email to a visitor who left."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import msgspec

from hub.db.engine import connection_pool
from hub.visitors.contacts import attributes_json, set_attributes
from hub.visitors.tokens import KIND

PRESENCE_SECONDS = 90  # a connected visitor counts as online this long after the last refresh


AWAY_EMAIL_INTERVAL = 300  # at most one "you have a reply" email per contact in this time


class AwayTarget(msgspec.Struct, frozen=True):
    contact_id: int
    email: str
    name: str
    visitor: str  # the visitor address the "continue" link resumes
    inbox_id: int


async def mark_online(contact_ids: Sequence[int], seconds: int = PRESENCE_SECONDS) -> None:
    """Refreshed by every web process for the visitors it holds sockets of (one statement)."""
    if contact_ids:
        await connection_pool().execute(
            "UPDATE contact SET attributes = coalesce(attributes, '{}'::jsonb)"
            " || jsonb_build_object('webchat_online_until', extract(epoch FROM now()) + $2)"
            " WHERE id = ANY($1::int[])",
            list(contact_ids),
            seconds,
        )


async def mark_offline(contact_ids: Sequence[int]) -> None:
    await mark_online(contact_ids, 0)


def should_email(
    *, online_until: float, emailed_at: float, email: str, now: float, interval: float
) -> bool:
    """The rule: email a reply only to a visitor who is away, has an email, and was not emailed
    moments ago (several quick replies make one email, not a burst)."""
    return bool(email) and online_until < now and emailed_at < now - interval


async def away_email_target(
    conversation_id: int, *, interval: float = AWAY_EMAIL_INTERVAL
) -> AwayTarget | None:
    """Whom to email about a new reply on this conversation, if anyone; records the email as sent
    (under a row lock, so two workers sending two replies email once)."""
    async with connection_pool().acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT c.id, c.name, c.attributes, v.inbox, extract(epoch FROM now())::float8 AS now"
            " FROM conversation v JOIN contact c ON c.id = v.contact WHERE v.id = $1 FOR UPDATE OF c",
            conversation_id,
        )
        if row is None:
            return None
        attributes = attributes_json(row["attributes"])
        email = await conn.fetchval(
            "SELECT address FROM contact_identity WHERE contact = $1 AND kind = 'email'"
            " ORDER BY verified DESC, id LIMIT 1",
            row["id"],
        ) or str(attributes.get("email") or "")
        if not should_email(
            online_until=float(attributes.get("webchat_online_until") or 0),
            emailed_at=float(attributes.get("webchat_away_emailed_at") or 0),
            email=email,
            now=float(row["now"]),
            interval=interval,
        ):
            return None
        visitor = await conn.fetchval(
            "SELECT address FROM contact_identity WHERE contact = $1 AND kind = $2"
            " AND address LIKE $3 ORDER BY id DESC LIMIT 1",
            row["id"],
            KIND,
            f"{row['inbox']}:%",
        )
        if visitor is None:
            return None
        await set_attributes(conn, row["id"], {"webchat_away_emailed_at": float(row["now"])})
    return AwayTarget(row["id"], email, row["name"] or "", str(visitor), int(row["inbox"]))


async def webchat_inbox(
    *, public_token: str | None = None, inbox_id: int | None = None
) -> asyncpg.Record | None:
    """An active web chat inbox by its public token or id."""
    return await connection_pool().fetchrow(
        "SELECT id, name, public_token, config_encrypted FROM inbox WHERE channel = $1 AND active"
        " AND (public_token = $2 OR id = $3)",
        KIND,
        public_token,
        inbox_id,
    )


async def webchat_inboxes() -> list[asyncpg.Record]:
    return await connection_pool().fetch(
        "SELECT id, name, public_token, config_encrypted FROM inbox WHERE channel = $1 AND active",
        KIND,
    )
