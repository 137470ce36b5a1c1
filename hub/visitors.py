"""Visitors of an embedded chat: signed tokens, identity proof, their contact, what they may see.

A visitor is a `webchat` identity (`<inbox>:anon:<random>` for anonymous visitors,
`<inbox>:user:<identifier>` for users an embedding site vouched for). The token the browser keeps
is stateless: the instance secret signs (inbox, visitor), so no session table is needed and any
web process can check it. Everything a visitor sees is filtered here, in one place: only the
messages of their own conversations in that inbox, never notes or activity lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from hub.contacts import normalise_address
from hub.crypto import constant_time_equal, sign
from hub.db.engine import connection_pool
from hub.events import Event, decode_events

KIND = "webchat"
RESUME_TTL_SECONDS = 30 * 24 * 3600  # the "continue the chat" link in an email
PRESENCE_SECONDS = 90  # a connected visitor counts as online this long after the last refresh
AWAY_EMAIL_INTERVAL = 300  # at most one "you have a reply" email per contact in this time


class Visitor(msgspec.Struct, frozen=True, array_like=True):
    inbox_id: int
    address: str  # the `webchat` identity's address
    verified: bool = False  # the embedding site proved who this is (identifier_hash)
    issued_at: int = 0


class AwayTarget(msgspec.Struct, frozen=True):
    contact_id: int
    email: str
    name: str
    visitor: str  # the visitor address the "continue" link resumes
    inbox_id: int


def _json(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    result: dict[str, Any] = msgspec.json.decode(value) if isinstance(value, str) else dict(value)
    return result


# --- Tokens -------------------------------------------------------------------------------------


def _pack(secret_key: str, purpose: str, prefix: str, payload: Any) -> str:
    body = base64.urlsafe_b64encode(msgspec.json.encode(payload)).decode().rstrip("=")
    return f"{prefix}.{body}.{sign(secret_key, purpose, body.encode())}"


def _unpack(secret_key: str, purpose: str, prefix: str, token: str) -> bytes | None:
    head, _, rest = token.strip().partition(".")
    body, _, mac = rest.partition(".")
    if head != prefix or not mac or len(token) > 2000:
        return None
    if not constant_time_equal(mac, sign(secret_key, purpose, body.encode())):
        return None
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None


def issue_token(secret_key: str, visitor: Visitor) -> str:
    """The visitor token the browser keeps (localStorage) and sends with every call."""
    stamped = msgspec.structs.replace(visitor, issued_at=visitor.issued_at or int(time.time()))
    return _pack(secret_key, "widget-visitor", "v1", stamped)


def read_token(secret_key: str, token: str) -> Visitor | None:
    raw = _unpack(secret_key, "widget-visitor", "v1", token)
    if raw is None:
        return None
    try:
        return msgspec.json.decode(raw, type=Visitor)
    except msgspec.ValidationError:
        return None


def issue_resume_token(secret_key: str, inbox_id: int, address: str) -> str:
    """A link token that lets the visitor continue the chat from an email, for a limited time."""
    return _pack(
        secret_key,
        "widget-resume",
        "r1",
        [inbox_id, address, int(time.time()) + RESUME_TTL_SECONDS],
    )


def read_resume_token(secret_key: str, token: str) -> tuple[int, str] | None:
    raw = _unpack(secret_key, "widget-resume", "r1", token)
    if raw is None:
        return None
    try:
        inbox_id, address, expires = msgspec.json.decode(raw, type=tuple[int, str, int])
    except msgspec.ValidationError:
        return None
    return (inbox_id, address) if expires > time.time() else None


def identity_hash(identity_secret: str, identifier: str) -> str:
    """hex HMAC-SHA256(inbox identity secret, identifier): what the embedding site computes."""
    return hmac.new(identity_secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()


def identity_valid(identity_secret: str, identifier: str, given: str) -> bool:
    if not identity_secret or not given:
        return False
    return constant_time_equal(given.strip().lower(), identity_hash(identity_secret, identifier))


def visitor_address(inbox_id: int, identifier: str | None = None) -> str:
    if identifier is not None:
        return normalise_address(KIND, f"{inbox_id}:user:{identifier}")
    return f"{inbox_id}:anon:{secrets.token_urlsafe(18)}"


# --- Contacts -----------------------------------------------------------------------------------


async def resolve_contact(
    address: str, *, name: str = "", email: str | None = None, verified: bool = False
) -> int:
    """The visitor's contact, created on first sight.

    Only a verified visitor (identifier_hash checked) may join an existing contact, through that
    email address; an address typed into a form is kept as an attribute, never as an identity, so
    no one can attach themselves to someone else's history by typing their email.
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
            if verified and email:
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
        if email and verified:
            await conn.execute(
                "INSERT INTO contact_identity (contact, kind, address, verified, created_at)"
                " VALUES ($1, 'email', $2, true, now()) ON CONFLICT (kind, address) DO UPDATE"
                " SET verified = true WHERE contact_identity.contact = EXCLUDED.contact",
                contact,
                email,
            )
        elif email:
            await _set_attributes(conn, contact, {"email": email})
    return int(contact)


async def set_email(contact_id: int, email: str) -> None:
    """An email typed by the visitor (offline form): kept for away replies, unverified."""
    async with connection_pool().acquire() as conn:
        await _set_attributes(conn, contact_id, {"email": email})


async def _set_attributes(
    conn: asyncpg.Connection, contact_id: int, values: dict[str, Any]
) -> None:
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


# --- What a visitor sees ------------------------------------------------------------------------


def attachment_url(attachment_id: int) -> str:
    return f"/api/v1/widget/attachments/{attachment_id}"


def message_view(message: dict[str, Any]) -> dict[str, Any] | None:
    """A message as the visitor sees it; None for notes and activity lines (kind `event`).

    Internal fields (meta, errors, agent ids, html) are left out; an agent is shown by name.
    """
    if message.get("kind") != "message":
        return None
    author = message.get("author") or {}
    inbound = message.get("direction") == "in"
    meta = message.get("meta") or {}
    return {
        "id": message["id"],
        "conversation_id": message.get("conversation_id"),
        "client_id": meta.get("client_id") if inbound else None,
        "direction": message.get("direction"),
        "author": {"type": author.get("type"), "name": author.get("name") or ""},
        "text": message.get("text") or "",
        "attachments": [
            {
                "id": a["id"],
                "filename": a.get("filename", ""),
                "content_type": a.get("content_type", ""),
                "size": a.get("size", 0),
                "url": attachment_url(a["id"]),
            }
            for a in message.get("attachments") or []
        ],
        # The visitor's own message is stored: "sent". An agent's reply shows its delivery state.
        "status": "sent" if inbound else message.get("status"),
        "created_at": message.get("created_at"),
    }


def event_view(event: Event) -> dict[str, Any] | None:
    """An event as the visitor's socket carries it, or None if visitors do not see it."""
    if event.type in ("message.created", "message.updated"):
        view = message_view(event.data)
        if view is None:
            return None
        return {
            "id": event.id,
            "type": event.type,
            "conversation_id": event.conversation_id,
            "data": view,
        }
    if event.type in ("conversation.created", "conversation.updated"):
        # Only the state a visitor can act on: tags, assignees and priorities stay internal.
        return {
            "id": event.id,
            "type": event.type,
            "conversation_id": event.conversation_id,
            "data": {
                "id": event.conversation_id,
                "status": event.data.get("status"),
                "seen": event.data.get("unread_count") == 0,
            },
        }
    return None


async def list_messages(
    inbox_id: int,
    contact_id: int,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The visitor's messages in this inbox (every conversation of theirs), oldest first."""
    limit = max(1, min(limit, 200))
    # Newest page first (before=), or catching up in order (after=); shown oldest first either way.
    order, bound = ("ASC", "m.id > $3") if after is not None else ("DESC", "m.id < $3")
    rows = await connection_pool().fetch(
        "SELECT hub_message_json(id) AS m FROM (SELECT m.id FROM message m"
        " JOIN conversation c ON c.id = m.conversation"
        f" WHERE c.inbox = $1 AND c.contact = $2 AND m.kind = 'message' AND {bound}"
        f" ORDER BY m.id {order} LIMIT $4) x ORDER BY id",
        inbox_id,
        contact_id,
        after if after is not None else (before or 2**62),
        limit,
    )
    views = (message_view(msgspec.json.decode(r["m"])) for r in rows)
    return [v for v in views if v is not None]


async def last_event_id() -> int:
    """A safe resume point: ids are assigned in commit order, so nothing later can be lower."""
    return int(await connection_pool().fetchval("SELECT coalesce(max(id), 0) FROM event"))


async def events_for(
    after: int, inbox_id: int, contact_id: int, *, limit: int = 500
) -> list[Event]:
    """Committed events of the visitor's conversations with id > after, oldest first (unfiltered:
    pass each through `event_view`)."""
    raw = await connection_pool().fetchval(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'type', type, 'conversation_id',"
        " conversation, 'inbox_id', inbox, 'data', data, 'created_at', created_at) ORDER BY id),"
        " '[]'::jsonb) FROM (SELECT * FROM event WHERE id > $1 AND inbox = $2 AND conversation IN"
        " (SELECT id FROM conversation WHERE inbox = $2 AND contact = $3) ORDER BY id LIMIT $4) e",
        after,
        inbox_id,
        contact_id,
        limit,
    )
    return decode_events(raw)


async def attachment_for(
    attachment_id: int, inbox_id: int, contact_id: int
) -> dict[str, Any] | None:
    """A file of one of the visitor's visible messages (never of a note), else None."""
    row = await connection_pool().fetchrow(
        "SELECT a.sha256, a.filename, a.content_type FROM attachment a"
        " JOIN message m ON m.id = a.message JOIN conversation c ON c.id = m.conversation"
        " WHERE a.id = $1 AND m.kind = 'message' AND c.inbox = $2 AND c.contact = $3",
        attachment_id,
        inbox_id,
        contact_id,
    )
    return dict(row) if row is not None else None


async def unread_replies(
    inbox_id: int, contact_id: int, up_to: int, *, limit: int = 100
) -> list[str]:
    """Provider ids of the agent replies up to a message id that the visitor has not read yet."""
    rows = await connection_pool().fetch(
        "SELECT m.provider_message_id FROM message m JOIN conversation c ON c.id = m.conversation"
        " WHERE c.inbox = $1 AND c.contact = $2 AND m.id <= $3 AND m.kind = 'message'"
        " AND m.direction = 'out' AND m.status IN ('sent', 'delivered')"
        " AND m.provider_message_id IS NOT NULL ORDER BY m.id DESC LIMIT $4",
        inbox_id,
        contact_id,
        up_to,
        limit,
    )
    return [str(r["provider_message_id"]) for r in rows]


# --- Presence and replies to visitors who left --------------------------------------------------


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
        attributes = _json(row["attributes"])
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
        await _set_attributes(conn, row["id"], {"webchat_away_emailed_at": float(row["now"])})
    return AwayTarget(row["id"], email, row["name"] or "", str(visitor), int(row["inbox"]))


# --- Inboxes ------------------------------------------------------------------------------------


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
