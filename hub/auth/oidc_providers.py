"""OIDC providers an admin configured: a key (in the URLs), a discovery URL, client id and
secret (encrypted with the instance secret like channel settings), and whether a first sign-in
of an unknown, verified email creates an agent (with which role)."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from hub.auth import audit
from hub.auth.access import NotFound
from hub.db.engine import connection_pool
from hub.system.crypto import decrypt_json, encrypt_json

_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# A role's key string (system roles and admin-defined ones alike); an unknown key grants nothing.
_ROLE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class InvalidProvider(ValueError):
    pass


class NewProvider(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    key: str
    name: str
    discovery_url: str
    client_id: str
    client_secret: str
    scopes: str = "openid email profile"
    enabled: bool = True
    auto_provision: bool = False
    default_role: str = "agent"


class ProviderChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str | None = None
    discovery_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scopes: str | None = None
    enabled: bool | None = None
    auto_provision: bool | None = None
    default_role: str | None = None


_COLUMNS = (
    "id, key, name, discovery_url, client_id, scopes, enabled, auto_provision, default_role,"
    " created_at, updated_at"
)


def check_fields(
    *,
    key: str | None,
    name: str | None,
    discovery_url: str | None,
    scopes: str | None,
    default_role: str | None = None,
) -> None:
    if key is not None and not _KEY.match(key):
        raise InvalidProvider("key: 1 to 40 lower-case letters, digits or '-' (e.g. 'google')")
    if name is not None and not 0 < len(name.strip()) <= 100:
        raise InvalidProvider("name: 1 to 100 characters")
    if discovery_url is not None and not discovery_url.startswith(("https://", "http://")):
        raise InvalidProvider("discovery_url: the provider's https:// discovery URL")
    if scopes is not None and "openid" not in scopes.split():
        raise InvalidProvider("scopes: must include 'openid'")
    if default_role is not None and not _ROLE.match(default_role):
        raise InvalidProvider("default_role: a role key such as 'agent' or 'supervisor'")


async def list_providers(*, enabled_only: bool = False) -> list[dict[str, Any]]:
    where = " WHERE enabled" if enabled_only else ""
    rows = await connection_pool().fetch(
        f"SELECT {_COLUMNS} FROM oidc_provider{where} ORDER BY name"
    )
    return [dict(r) for r in rows]


async def get_provider(key: str, *, secret_key: str | None = None) -> dict[str, Any]:
    """The provider's settings; with `secret_key`, its client secret too."""
    row = await connection_pool().fetchrow(
        f"SELECT {_COLUMNS}, secret_encrypted FROM oidc_provider WHERE key = $1", key
    )
    if row is None:
        raise NotFound(f"no OIDC provider {key!r}")
    found = {k: v for k, v in dict(row).items() if k != "secret_encrypted"}
    if secret_key is not None:
        found["client_secret"] = decrypt_json(secret_key, row["secret_encrypted"])["secret"]
    return found


async def create_provider(data: NewProvider, *, secret_key: str, actor_id: int) -> dict[str, Any]:
    check_fields(
        key=data.key,
        name=data.name,
        discovery_url=data.discovery_url,
        scopes=data.scopes,
        default_role=data.default_role,
    )
    exists = await connection_pool().fetchval(
        "SELECT 1 FROM oidc_provider WHERE key = $1", data.key
    )
    if exists:
        raise InvalidProvider(f"key: a provider {data.key!r} exists already")
    await connection_pool().execute(
        "INSERT INTO oidc_provider (key, name, discovery_url, client_id, secret_encrypted, scopes,"
        " enabled, auto_provision, default_role) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        data.key,
        data.name.strip(),
        data.discovery_url,
        data.client_id,
        encrypt_json(secret_key, {"secret": data.client_secret}),
        data.scopes,
        data.enabled,
        data.auto_provision,
        data.default_role,
    )
    await audit.record(
        "oidc_provider.create", actor_id=actor_id, target_type="oidc_provider",
        data={"key": data.key, "discovery_url": data.discovery_url},
    )  # fmt: skip
    return await get_provider(data.key)


async def update_provider(
    key: str, changes: ProviderChanges, *, secret_key: str, actor_id: int
) -> dict[str, Any]:
    check_fields(
        key=None,
        name=changes.name,
        discovery_url=changes.discovery_url,
        scopes=changes.scopes,
        default_role=changes.default_role,
    )
    secret = (
        encrypt_json(secret_key, {"secret": changes.client_secret})
        if changes.client_secret is not None
        else None
    )
    done = await connection_pool().fetchval(
        "UPDATE oidc_provider SET name = coalesce($2, name),"
        " discovery_url = coalesce($3, discovery_url), client_id = coalesce($4, client_id),"
        " secret_encrypted = coalesce($5, secret_encrypted), scopes = coalesce($6, scopes),"
        " enabled = coalesce($7, enabled), auto_provision = coalesce($8, auto_provision),"
        " default_role = coalesce($9, default_role), updated_at = now() WHERE key = $1"
        " RETURNING id",
        key,
        changes.name.strip() if changes.name else None,
        changes.discovery_url,
        changes.client_id,
        secret,
        changes.scopes,
        changes.enabled,
        changes.auto_provision,
        changes.default_role,
    )
    if done is None:
        raise NotFound(f"no OIDC provider {key!r}")
    shown = {
        k: v
        for k, v in msgspec.structs.asdict(changes).items()
        if v is not None and k != "client_secret"
    }
    await audit.record(
        "oidc_provider.update", actor_id=actor_id, target_type="oidc_provider", target_id=done,
        data=shown | {"client_secret_changed": secret is not None},
    )  # fmt: skip
    return await get_provider(key)


async def delete_provider(key: str, *, actor_id: int) -> None:
    done = await connection_pool().fetchval(
        "DELETE FROM oidc_provider WHERE key = $1 RETURNING id", key
    )
    if done is None:
        raise NotFound(f"no OIDC provider {key!r}")
    await audit.record(
        "oidc_provider.delete", actor_id=actor_id, target_type="oidc_provider", target_id=done,
        data={"key": key},
    )  # fmt: skip
