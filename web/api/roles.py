"""Roles: the permission catalogue, the system roles and admin-defined ones."""

from __future__ import annotations

from typing import Any

from litestar import delete, get, patch, post

from hub.auth import roles
from hub.auth.accounts import Principal, forget_cached_keys
from hub.auth.permissions import Permission
from hub.auth.roles import NewRole, RoleChanges
from web.realtime import relay


@get("/api/v1/roles", tags=["roles"], access="authenticated")
async def list_roles(principal: Principal) -> dict[str, Any]:
    """Every role with its permissions and how many active agents have it."""
    return {"items": await roles.list_roles()}


@get("/api/v1/roles/permissions", tags=["roles"], access="authenticated")
async def list_permissions(principal: Principal) -> dict[str, Any]:
    """The permission catalogue, grouped as the roles page shows it."""
    return {"groups": roles.catalogue()}


@get("/api/v1/roles/{key:str}", tags=["roles"], access="authenticated")
async def get_role(principal: Principal, key: str) -> dict[str, Any]:
    return await roles.get_role(key)


@post("/api/v1/roles", tags=["roles"], status_code=201, permission=Permission.MANAGE_ROLES)
async def create_role(principal: Principal, data: NewRole) -> dict[str, Any]:
    """A new role: a key (a-z, 0-9, '-', '_'), a name and its permissions."""
    return await roles.create_role(data, actor_id=principal.agent.id)


@patch("/api/v1/roles/{key:str}", tags=["roles"], permission=Permission.MANAGE_ROLES)
async def update_role(principal: Principal, key: str, data: RoleChanges) -> dict[str, Any]:
    """Rename or change the permissions of an admin-defined role (system roles are fixed).
    Takes effect for every agent with the role within a few seconds (docs/access.md)."""
    role = await roles.update_role(
        key, data, actor_id=principal.agent.id, actor_role=principal.agent.role
    )
    forget_cached_keys()
    relay.recheck_access()  # sockets of this role's agents see the change now
    return role


@delete(
    "/api/v1/roles/{key:str}", tags=["roles"], status_code=204, permission=Permission.MANAGE_ROLES
)
async def delete_role(principal: Principal, key: str) -> None:
    """Delete an admin-defined role that no agent has (409 while one does)."""
    await roles.delete_role(key, actor_id=principal.agent.id)


handlers = [list_roles, list_permissions, get_role, create_role, update_role, delete_role]
