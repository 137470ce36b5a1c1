"""Outgoing webhook subscriptions: where to POST which events, signed with whose secret.

The URL is checked like an API inbox's callback (hub.system.netguard): an address literal or
localhost in the hub's own network is refused when saved unless the operator allows private
callback URLs (HUB_ALLOW_PRIVATE_CALLBACK_URLS); names are checked again at every connection.
The signing secret is encrypted at rest and shown once, when it is created or rotated.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlparse

import asyncpg
import msgspec

from hub.auth.access import NotFound
from hub.db.engine import connection_pool
from hub.system import netguard
from hub.system.crypto import decrypt_json, encrypt_json

# Events a subscription may ask for (the event log's types outside one agent's notifications).
EVENT_TYPES = (
    "conversation.created",
    "conversation.updated",
    "message.created",
    "message.updated",
    "sla.warning",
    "sla.breached",
    "contact.merged",
    "crm.updated",
)
TEST_EVENT = "webhook.test"


class InvalidSubscription(ValueError):
    pass


class SubscriptionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    url: str
    event_types: list[str]
    enabled: bool = True
    secret: str | None = None  # None: keep the current one (or generate one for a new subscription)


def allow_private() -> bool:
    from hub.system.services import current

    try:
        return current().settings.allow_private_callback_urls
    except RuntimeError:
        return False


def check_url(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidSubscription("url: must be an http:// or https:// URL")
    refusal = netguard.literal_refusal(url)
    if refusal and not allow_private():
        raise InvalidSubscription(
            f"url: must be a public address ({refusal}); an operator can allow private"
            " addresses with HUB_ALLOW_PRIVATE_CALLBACK_URLS"
        )


def validate(data: SubscriptionIn) -> None:
    if not data.name.strip() or len(data.name) > 200:
        raise InvalidSubscription("name: 1 to 200 characters")
    check_url(data.url)
    if not data.event_types:
        raise InvalidSubscription("event_types: subscribe to at least one event type")
    for n, kind in enumerate(data.event_types):
        if kind not in EVENT_TYPES:
            raise InvalidSubscription(
                f"event_types[{n}]: unknown event type {kind!r}; known: {', '.join(EVENT_TYPES)}"
            )
    if data.secret is not None and len(data.secret) < 16:
        raise InvalidSubscription(
            "secret: at least 16 characters (or leave it out to generate one)"
        )


_COLUMNS = (
    "id, name, url, event_types, enabled, consecutive_failures, disabled_reason, created_at,"
    " updated_at"
)


def view(row: asyncpg.Record, *, secret: str | None = None) -> dict[str, Any]:
    """The subscription as the API shows it; the secret only when just created or rotated."""
    data = dict(row)
    data["event_types"] = list(data["event_types"])
    data.pop("secret_encrypted", None)
    if secret is not None:
        data["secret"] = secret
    return data


def secret_of(row: asyncpg.Record, secret_key: str) -> str:
    return str(decrypt_json(secret_key, row["secret_encrypted"])["secret"])


async def create(data: SubscriptionIn, *, secret_key: str, agent_id: int | None) -> dict[str, Any]:
    validate(data)
    secret = data.secret or "whsec_" + secrets.token_urlsafe(32)
    row = await connection_pool().fetchrow(
        "INSERT INTO webhook_subscription (name, url, secret_encrypted, event_types, enabled,"
        f" created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}",
        data.name.strip(),
        data.url,
        encrypt_json(secret_key, {"secret": secret}),
        sorted(set(data.event_types)),
        data.enabled,
        agent_id,
    )
    assert row is not None
    return view(row, secret=secret)


async def get(subscription_id: int) -> asyncpg.Record:
    row = await connection_pool().fetchrow(
        f"SELECT {_COLUMNS}, secret_encrypted FROM webhook_subscription WHERE id = $1",
        subscription_id,
    )
    if row is None:
        raise NotFound(f"no webhook subscription {subscription_id}")
    return row


async def list_all() -> list[asyncpg.Record]:
    return list(
        await connection_pool().fetch(
            f"SELECT {_COLUMNS} FROM webhook_subscription ORDER BY lower(name), id"
        )
    )


async def update(subscription_id: int, data: SubscriptionIn, *, secret_key: str) -> dict[str, Any]:
    """Replace the settings; enabling a disabled subscription clears its failure count."""
    validate(data)
    row = await connection_pool().fetchrow(
        "UPDATE webhook_subscription SET name = $2, url = $3, event_types = $4, enabled = $5,"
        " secret_encrypted = coalesce($6, secret_encrypted),"
        " consecutive_failures = CASE WHEN $5 AND NOT enabled THEN 0 ELSE consecutive_failures END,"
        " disabled_reason = CASE WHEN $5 THEN '' ELSE disabled_reason END, updated_at = now()"
        f" WHERE id = $1 RETURNING {_COLUMNS}",
        subscription_id,
        data.name.strip(),
        data.url,
        sorted(set(data.event_types)),
        data.enabled,
        encrypt_json(secret_key, {"secret": data.secret}) if data.secret else None,
    )
    if row is None:
        raise NotFound(f"no webhook subscription {subscription_id}")
    return view(row, secret=data.secret)


async def delete(subscription_id: int) -> None:
    done = await connection_pool().fetchval(
        "DELETE FROM webhook_subscription WHERE id = $1 RETURNING id", subscription_id
    )
    if done is None:
        raise NotFound(f"no webhook subscription {subscription_id}")
