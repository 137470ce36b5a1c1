"""Inboxes: one per channel account, with encrypted settings and their adapter."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import asyncpg
import msgspec

from hub.auth.access import NotFound
from hub.channels import credentials
from hub.channels.contract import BaseAdapter, UnknownChannel, adapter_class
from hub.db.engine import connection_pool
from hub.system.crypto import decrypt_json, encrypt_json
from hub.system.ttlcache import TtlCache

log = logging.getLogger(__name__)


class InvalidInbox(ValueError):
    pass


def _adapter_class(channel: str) -> type[BaseAdapter]:
    try:
        return adapter_class(channel)
    except UnknownChannel as exc:
        raise InvalidInbox(str(exc)) from None


def public_view(
    row: asyncpg.Record | dict[str, Any], *, secret_key: str, public_url: str
) -> dict[str, Any]:
    """What the API shows of an inbox: secrets removed, plus what the outside world needs."""
    cls = _adapter_class(row["channel"])
    config = decrypt_json(secret_key, row["config_encrypted"])
    shown = {k: v for k, v in config.items() if k not in cls.secret_fields}
    view: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "channel": row["channel"],
        "config": shown,
        "secrets_set": sorted(k for k in cls.secret_fields if config.get(k)),
        "team_id": row["team"],
        "active": row["active"],
        "limits": cls.limits(),
        "created_at": row["created_at"],
    }
    if cls.webhook_path:
        view["webhook_url"] = public_url + cls.webhook_path.format(inbox_id=row["id"])
    if row["channel"] == "webchat":
        view["inbox_token"] = row["public_token"]
    return view


async def create_inbox(
    name: str,
    channel: str,
    config: dict[str, Any],
    *,
    secret_key: str,
    public_url: str,
    team_id: int | None = None,
    allow_custom_provider_urls: bool = False,
) -> tuple[asyncpg.Record, dict[str, str]]:
    """Create an inbox and let its adapter set it up (check credentials, register a webhook).

    Also returns the secrets the hub generated, which the admin sees once.
    """
    if not name.strip():
        raise InvalidInbox("name must not be empty")
    cls = _adapter_class(channel)
    try:
        cleaned = cls.validate_config(config)
        credentials.check_provider_urls(
            cls, cleaned, previous=None, allow_custom=allow_custom_provider_urls
        )
    except ValueError as exc:
        raise InvalidInbox(str(exc)) from None
    row = await connection_pool().fetchrow(
        "INSERT INTO inbox (name, channel, config_encrypted, public_token, team, active,"
        " reply_window_hours, created_at) VALUES ($1, $2, $3, $4, $5, true, $6, now()) RETURNING *",
        name.strip()[:200],
        channel,
        encrypt_json(secret_key, cleaned),
        secrets.token_urlsafe(18),
        team_id,
        cls.reply_window_hours,
    )

    assert row is not None
    adapter = cls(inbox_id=row["id"], config=cleaned, public_url=public_url)
    try:
        extra = await adapter.on_created()
    except ValueError as exc:
        # The channel refused the settings (e.g. a wrong bot token): no half-made inbox remains.
        await connection_pool().execute("DELETE FROM inbox WHERE id = $1", row["id"])
        raise InvalidInbox(str(exc)) from None
    if extra:
        cleaned = {**cleaned, **extra}
        row = await connection_pool().fetchrow(
            "UPDATE inbox SET config_encrypted = $2 WHERE id = $1 RETURNING *",
            row["id"],
            encrypt_json(secret_key, cleaned),
        )
        assert row is not None
    generated = {
        k: str(cleaned[k]) for k in cls.secret_fields if cleaned.get(k) and not config.get(k)
    }
    return row, generated


async def get_inbox(inbox_id: int, *, include_inactive: bool = False) -> asyncpg.Record:
    row = await connection_pool().fetchrow("SELECT * FROM inbox WHERE id = $1", inbox_id)
    if row is None or (not row["active"] and not include_inactive):
        raise NotFound(f"no inbox {inbox_id}")
    return row


# An integration posts every message to its inbox: reading the inbox row each time was a tenth of
# the API channel's request cost. The channel of an inbox never changes; deactivation reaches this
# process at once and other processes within CHANNEL_CACHE_SECONDS.
CHANNEL_CACHE_SECONDS = 10.0
_channel_cache: TtlCache[int, str] = TtlCache(CHANNEL_CACHE_SECONDS)


async def active_channel(inbox_id: int) -> str:
    """The channel kind of an active inbox (briefly cached); NotFound when unknown or inactive."""
    cached = _channel_cache.get(inbox_id)
    if cached is not None:
        return cached
    channel = await connection_pool().fetchval(
        "SELECT channel FROM inbox WHERE id = $1 AND active", inbox_id
    )
    if channel is None:
        _channel_cache.drop(inbox_id)
        raise NotFound(f"no inbox {inbox_id}")
    _channel_cache.put(inbox_id, str(channel))
    return str(channel)


async def list_inboxes(visible: list[int] | None) -> list[asyncpg.Record]:
    if visible is None:
        return await connection_pool().fetch("SELECT * FROM inbox WHERE active ORDER BY id")
    return await connection_pool().fetch(
        "SELECT * FROM inbox WHERE active AND id = ANY($1::int[]) ORDER BY id", visible
    )


async def update_inbox(
    inbox_id: int,
    *,
    secret_key: str,
    public_url: str,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    team_id: int | msgspec.UnsetType | None = msgspec.UNSET,
    allow_custom_provider_urls: bool = False,
) -> asyncpg.Record:
    """Rename, move to a team, or merge settings (a key set to null is removed).

    A settings change goes through the adapter's `on_updated` (e.g. Telegram switching between
    webhook and polling); if the channel refuses, nothing is stored. Moving a channel to another
    host needs its secrets again (`hub.channels.credentials`), before any call is made there.
    """
    row = await get_inbox(inbox_id)
    previous = decrypt_json(secret_key, row["config_encrypted"])
    merged = dict(previous)
    if config:
        for key, value in config.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        cls = _adapter_class(row["channel"])
        try:
            merged = cls.validate_config(merged)
            credentials.check_secrets_given_again(cls, previous, config, merged)
            credentials.check_provider_urls(
                cls, merged, previous=previous, allow_custom=allow_custom_provider_urls
            )
        except ValueError as exc:
            raise InvalidInbox(str(exc)) from None
        adapter = cls(inbox_id=inbox_id, config=merged, public_url=public_url)
        try:
            merged = {**merged, **await adapter.on_updated(previous)}
        except ValueError as exc:
            raise InvalidInbox(str(exc)) from None
    updated = await connection_pool().fetchrow(
        "UPDATE inbox SET name = $2, config_encrypted = $3, team = $4 WHERE id = $1 RETURNING *",
        inbox_id,
        (name.strip()[:200] if name and name.strip() else row["name"]),
        encrypt_json(secret_key, merged),
        row["team"] if team_id is msgspec.UNSET else team_id,
    )
    assert updated is not None
    return updated


async def deactivate_inbox(inbox_id: int, *, secret_key: str, public_url: str) -> None:
    """Inboxes are deactivated, not deleted: their conversations stay in the history."""
    adapter = await adapter_for(inbox_id, secret_key=secret_key, public_url=public_url)
    try:
        await adapter.on_deleted()
    except Exception:
        log.exception(
            "inbox %s: the channel could not be unregistered; deactivating anyway", inbox_id
        )
    _channel_cache.drop(inbox_id)
    done = await connection_pool().fetchval(
        "UPDATE inbox SET active = false WHERE id = $1 AND active RETURNING id", inbox_id
    )
    if done is None:
        raise NotFound(f"no inbox {inbox_id}")


async def set_members(inbox_id: int, agent_ids: list[int]) -> list[int]:
    await get_inbox(inbox_id)
    async with connection_pool().acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM inbox_member WHERE inbox = $1", inbox_id)
        rows = await conn.fetch(
            "INSERT INTO inbox_member (inbox, agent) SELECT $1, id FROM agent WHERE id = ANY($2::int[])"
            " RETURNING agent",
            inbox_id,
            agent_ids,
        )
    return sorted(r["agent"] for r in rows)


async def adapter_for(inbox_id: int, *, secret_key: str, public_url: str) -> BaseAdapter:
    row = await get_inbox(inbox_id, include_inactive=True)
    cls = _adapter_class(row["channel"])
    return cls(
        inbox_id=inbox_id,
        config=decrypt_json(secret_key, row["config_encrypted"]),
        public_url=public_url,
    )
