"""API keys: created by an agent for itself, shown once, stored hashed, revocable."""

from __future__ import annotations

import datetime as dt

import msgspec
from litestar import delete, get, post

from hub.auth import accounts, audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from web.errors import ApiError
from web.realtime import relay


class NewKey(msgspec.Struct):
    name: str


class CreatedKey(msgspec.Struct):
    id: int
    name: str
    key: str
    prefix: str


class KeyInfo(msgspec.Struct):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class KeyList(msgspec.Struct):
    items: list[KeyInfo]


@post("/api/v1/api-keys", tags=["api keys"], status_code=201, permission=Permission.USE_API_KEYS)
async def create_key(principal: Principal, data: NewKey) -> CreatedKey:
    """Create an API key for yourself. The key is in this response only; store it now."""
    name = data.name.strip()
    if not name:
        raise ApiError(400, "name must not be empty")
    row, key = await accounts.create_api_key(principal.agent.id, name[:200])
    key_id = int(str(row["id"]))
    await audit.record(
        "api_key.created", actor_id=principal.agent.id, target_type="api_key", target_id=key_id
    )
    return CreatedKey(id=key_id, name=str(row["name"]), key=key, prefix=str(row["prefix"]))


@get("/api/v1/api-keys", tags=["api keys"], permission=Permission.USE_API_KEYS)
async def list_keys(principal: Principal) -> KeyList:
    """Your active API keys (never the keys themselves)."""
    rows = await accounts.list_api_keys(principal.agent.id)
    return KeyList(items=[msgspec.convert(r, KeyInfo) for r in rows])


@delete("/api/v1/api-keys/{key_id:int}", tags=["api keys"], status_code=204, access="authenticated")
async def revoke_key(principal: Principal, key_id: int) -> None:
    """Revoke one of your API keys; requests with it get 401 from now on."""
    if not await accounts.revoke_api_key(principal.agent.id, key_id):
        raise ApiError(404, f"no active API key {key_id} of yours")
    relay.recheck_access()  # sockets opened with this key close now
    await audit.record(
        "api_key.revoked", actor_id=principal.agent.id, target_type="api_key", target_id=key_id
    )
