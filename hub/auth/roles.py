"""Roles: the three system roles and the ones admins define, and the cache of their permissions.

Admin-defined roles live in the `role` table (key, name, permissions text[]); the system roles have
rows there too, so `agent.role` can reference `role.key` and a role in use cannot be deleted, but
their permissions come from the code (hub.auth.permissions.GRANTS) and are not editable.

Every request reads permissions from an in-process snapshot (hub.auth.permissions.install). The
process that changes a role reloads it at once; other processes reload it when their copy is
older than CACHE_SECONDS, checked at the start of each request and socket recheck, so a change
reaches every process within that bound.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import msgspec

from hub.auth import audit
from hub.auth.access import NotFound
from hub.auth.permissions import Permission, Role, describe, install, permissions_of
from hub.db.engine import connection_pool
from hub.system.ttlcache import TtlCache

CACHE_SECONDS = 5.0
_loaded: TtlCache[str, bool] = TtlCache(CACHE_SECONDS)
_KEY = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
SYSTEM_NAMES = {Role.ADMIN: "Admin", Role.SUPERVISOR: "Supervisor", Role.AGENT: "Agent"}


class InvalidRole(ValueError):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class RoleInUse(InvalidRole):
    pass


class NewRole(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    key: str
    name: str
    description: str = ""
    permissions: list[str] = []


class RoleChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str | None = None
    description: str | None = None
    permissions: list[str] | None = None


def catalogue() -> list[dict[str, Any]]:
    """Every permission with its group and label, grouped in display order."""
    groups: dict[str, list[dict[str, str]]] = {}
    for permission in Permission:
        group, label = describe(permission)
        groups.setdefault(group, []).append({"key": permission.value, "label": label})
    return [{"group": g, "permissions": items} for g, items in groups.items()]


async def refresh(*, force: bool = False) -> None:
    """Load the admin-defined roles into the permission snapshot when it is older than
    CACHE_SECONDS (or now, when forced)."""
    if not force and _loaded.get("roles"):
        return
    rows = await connection_pool().fetch("SELECT key, permissions FROM role WHERE NOT system")
    install({r["key"]: list(r["permissions"]) for r in rows})
    _loaded.put("roles", True)


async def ensure_system_roles() -> None:
    """The system roles' rows (agents reference them); idempotent."""
    await connection_pool().executemany(
        "INSERT INTO role (key, name, system) VALUES ($1, $2, true) ON CONFLICT (key) DO NOTHING",
        [(role.value, name) for role, name in SYSTEM_NAMES.items()],
    )


def _view(row: asyncpg.Record) -> dict[str, Any]:
    perms = sorted(permissions_of(row["key"])) if row["system"] else sorted(row["permissions"])
    return {
        "key": row["key"],
        "name": row["name"],
        "description": row["description"],
        "system": row["system"],
        "permissions": [str(p) for p in perms],
        "agents": row["agents"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


_ROLE = (
    "SELECT r.*, (SELECT count(*) FROM agent a WHERE a.role = r.key AND a.active)::int AS agents"
    " FROM role r"
)


async def list_roles() -> list[dict[str, Any]]:
    rows = await connection_pool().fetch(_ROLE + " ORDER BY NOT r.system, r.name")
    return [_view(r) for r in rows]


async def get_role(key: str) -> dict[str, Any]:
    row = await connection_pool().fetchrow(_ROLE + " WHERE r.key = $1", key)
    if row is None:
        raise NotFound(f"no role {key!r}")
    return _view(row)


async def exists(key: str) -> bool:
    return bool(await connection_pool().fetchval("SELECT 1 FROM role WHERE key = $1", key))


def _permissions(values: list[str]) -> list[str]:
    known = {p.value for p in Permission}
    for i, value in enumerate(values):
        if value not in known:
            raise InvalidRole(f"unknown permission {value!r}", f"permissions[{i}]")
    return sorted(set(values))


def _name(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 100:
        raise InvalidRole("a role name is 1 to 100 characters", "name")
    return value


async def create_role(data: NewRole, *, actor_id: int | None) -> dict[str, Any]:
    if not _KEY.match(data.key):
        raise InvalidRole("2 to 40 of a-z, 0-9, '-' and '_', starting with a letter", "key")
    perms = _permissions(data.permissions)
    try:
        await connection_pool().execute(
            "INSERT INTO role (key, name, description, permissions) VALUES ($1, $2, $3, $4)",
            data.key,
            _name(data.name),
            data.description.strip()[:500],
            perms,
        )
    except asyncpg.UniqueViolationError:
        raise InvalidRole(f"a role {data.key!r} or named {data.name!r} exists", "key") from None
    await refresh(force=True)
    await audit.record(
        "role.create", actor_id=actor_id, target_type="role",
        data={"key": data.key, "name": data.name, "permissions": perms},
    )  # fmt: skip
    return await get_role(data.key)


async def update_role(
    key: str, changes: RoleChanges, *, actor_id: int | None, actor_role: str = ""
) -> dict[str, Any]:
    perms = None if changes.permissions is None else _permissions(changes.permissions)
    name = None if changes.name is None else _name(changes.name)
    async with connection_pool().acquire() as conn, conn.transaction():
        row = await conn.fetchrow("SELECT * FROM role WHERE key = $1 FOR UPDATE", key)
        if row is None:
            raise NotFound(f"no role {key!r}")
        if row["system"]:
            raise InvalidRole(f"{row['name']} is a system role: its permissions are fixed")
        if key == actor_role and perms is not None and Permission.MANAGE_ROLES.value not in perms:
            # Taking roles.manage from your own role would leave you unable to give it back.
            raise InvalidRole("you may not remove roles.manage from your own role", "permissions")
        try:
            await conn.execute(
                "UPDATE role SET name = coalesce($2, name), description = coalesce($3,"
                " description), permissions = coalesce($4, permissions), updated_at = now()"
                " WHERE key = $1",
                key,
                name,
                None if changes.description is None else changes.description.strip()[:500],
                perms,
            )
        except asyncpg.UniqueViolationError:
            raise InvalidRole(f"a role named {name!r} exists", "name") from None
    await refresh(force=True)
    before = set(row["permissions"])
    after = before if perms is None else set(perms)
    await audit.record(
        "role.update", actor_id=actor_id, target_type="role",
        data={"key": key, "granted": sorted(after - before), "revoked": sorted(before - after)}
        | ({"name": name} if name is not None else {}),
    )  # fmt: skip
    return await get_role(key)


async def delete_role(key: str, *, actor_id: int | None) -> None:
    async with connection_pool().acquire() as conn, conn.transaction():
        row = await conn.fetchrow("SELECT * FROM role WHERE key = $1 FOR UPDATE", key)
        if row is None:
            raise NotFound(f"no role {key!r}")
        if row["system"]:
            raise InvalidRole(f"{row['name']} is a system role and cannot be deleted")
        # Counts deactivated agents too: they keep their role and may be reactivated.
        users = await conn.fetchval("SELECT count(*) FROM agent WHERE role = $1", key)
        if users:
            raise RoleInUse(f"{users} agent(s) have the role {row['name']}: give them another")
        await conn.execute("DELETE FROM role WHERE key = $1", key)
    await refresh(force=True)
    await audit.record(
        "role.delete", actor_id=actor_id, target_type="role",
        data={"key": key, "name": row["name"], "permissions": list(row["permissions"])},
    )  # fmt: skip
