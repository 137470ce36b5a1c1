"""CRM sources: one per CRM installation, with its settings encrypted at rest (as inboxes are)."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg

from hub.auth.access import NotFound
from hub.crm.contract import CrmConnector, UnknownCrm, connector_class
from hub.crm.phones import valid_region
from hub.db.engine import connection_pool
from hub.system.crypto import decrypt_json, encrypt_json

DEFAULT_REGION = "DK"


class InvalidSource(ValueError):
    pass


def _class(kind: str) -> type[CrmConnector]:
    try:
        return connector_class(kind)
    except UnknownCrm as exc:
        raise InvalidSource(str(exc)) from None


def _region(value: Any) -> str:
    region = str(value or DEFAULT_REGION).strip().upper()
    if not valid_region(region):
        raise InvalidSource(f"phone_region must be a two-letter country code, not {value!r}")
    return region


def public_view(row: asyncpg.Record, *, secret_key: str, public_url: str) -> dict[str, Any]:
    """What the API shows of a source: secrets removed, plus the hooks URL for the CRM."""
    view: dict[str, Any] = {
        "id": row["id"],
        "kind": row["kind"],
        "name": row["name"],
        "phone_region": row["phone_region"],
        "demo": row["demo"],
        "active": row["active"],
        "created_at": row["created_at"],
        "last_synced_at": row["last_synced_at"],
        "last_error": row["last_error"],
        "hooks_url": f"{public_url}/webhooks/{row['kind']}/{row['id']}",
    }
    try:
        cls: type[CrmConnector] | None = connector_class(row["kind"])
    except UnknownCrm:
        cls = None
    config = decrypt_json(secret_key, row["config_encrypted"])
    hidden = cls.secret_fields if cls else frozenset(config)
    view["config"] = {k: v for k, v in config.items() if k not in hidden}
    view["secrets_set"] = sorted(k for k in hidden if config.get(k))
    return view


async def create_source(
    kind: str, name: str, config: dict[str, Any], *, secret_key: str, phone_region: str | None
) -> tuple[asyncpg.Record, dict[str, str]]:
    """Create a source; also returns the secrets the hub generated (the hook secret), shown once."""
    if not name.strip():
        raise InvalidSource("name must not be empty")
    cls = _class(kind)
    generated: dict[str, str] = {}
    if "hook_secret" in cls.secret_fields and not config.get("hook_secret"):
        generated["hook_secret"] = secrets.token_hex(20)
    try:
        cleaned = cls.validate_config({**config, **generated})
    except ValueError as exc:
        raise InvalidSource(str(exc)) from None
    row = await connection_pool().fetchrow(
        "INSERT INTO crm_source (kind, name, config_encrypted, customer_url, phone_region)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING *",
        kind,
        name.strip()[:200],
        encrypt_json(secret_key, cleaned),
        cls.customer_url(cleaned),
        _region(phone_region),
    )
    assert row is not None
    return row, generated


async def get_source(source_id: int, *, include_inactive: bool = False) -> asyncpg.Record:
    row = await connection_pool().fetchrow("SELECT * FROM crm_source WHERE id = $1", source_id)
    if row is None or (not row["active"] and not include_inactive):
        raise NotFound(f"no CRM source {source_id}")
    return row


async def list_sources(*, kind: str | None = None) -> list[asyncpg.Record]:
    return await connection_pool().fetch(
        "SELECT * FROM crm_source WHERE active AND ($1::text IS NULL OR kind = $1) ORDER BY id",
        kind,
    )


async def update_source(
    source_id: int,
    *,
    secret_key: str,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    phone_region: str | None = None,
) -> asyncpg.Record:
    """Rename, change the region, or merge settings (a key set to null is removed)."""
    row = await get_source(source_id)
    merged = decrypt_json(secret_key, row["config_encrypted"])
    cls = _class(row["kind"])
    for key, value in (config or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    try:
        merged = cls.validate_config(merged)
    except ValueError as exc:
        raise InvalidSource(str(exc)) from None
    updated = await connection_pool().fetchrow(
        "UPDATE crm_source SET name = $2, config_encrypted = $3, customer_url = $4,"
        " phone_region = $5, updated_at = now() WHERE id = $1 RETURNING *",
        source_id,
        name.strip()[:200] if name and name.strip() else row["name"],
        encrypt_json(secret_key, merged),
        cls.customer_url(merged),
        row["phone_region"] if phone_region is None else _region(phone_region),
    )
    assert updated is not None
    return updated


async def deactivate_source(source_id: int) -> None:
    """Deactivated, not deleted: its records stay, but no longer link or show on cards."""
    done = await connection_pool().fetchval(
        "UPDATE crm_source SET active = false, updated_at = now() WHERE id = $1 AND active"
        " RETURNING id",
        source_id,
    )
    if done is None:
        raise NotFound(f"no CRM source {source_id}")


def connector_for(row: asyncpg.Record, *, secret_key: str) -> CrmConnector:
    cls = _class(row["kind"])
    return cls(decrypt_json(secret_key, row["config_encrypted"]))
