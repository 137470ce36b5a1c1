"""Macros: CRUD, the variable catalogue, a preview against a conversation, applying one."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import delete, get, post, put

from hub.auth import access, audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.db.engine import connection_pool
from hub.macros import render, store
from hub.macros.store import MacroIn


class PreviewBody(msgspec.Struct):
    conversation_id: int


class ApplyBody(msgspec.Struct, forbid_unknown_fields=True):
    """The text to send instead of the macro's own rendering (the composer's edited preview)."""

    text: str | None = None


class Variable(msgspec.Struct):
    name: str
    description: str


async def _snapshot(macro_id: int) -> dict[str, Any] | None:
    """The macro as it is, for the audit log only: the store's own calls check access."""
    async with connection_pool().acquire() as conn:
        macro = await store.get_macro(conn, macro_id)
    return store.view(macro) if macro else None


async def _audit(
    action: str, principal: Principal, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    macro = after or before or {}
    await audit.record(
        action,
        actor_id=principal.agent.id,
        target_type="macro",
        target_id=macro.get("id"),
        data={"name": macro.get("name"), "visibility": macro.get("visibility")}
        | audit.changes(before, after, skip=("id", "created_at", "updated_at")),
    )


@get("/api/v1/macros", tags=["macros"], permission=Permission.REPLY)
async def list_macros(principal: Principal, manageable: bool = False) -> list[dict[str, Any]]:
    """The macros you may use (yours, your teams', everyone's), by name; `manageable=true`
    with `macros.manage` lists every shared macro too."""
    return [store.view(m) for m in await store.list_macros(principal.agent, manageable=manageable)]


@get("/api/v1/macros/variables", tags=["macros"], permission=Permission.REPLY)
async def list_variables(principal: Principal) -> list[Variable]:
    """Every variable a macro may use."""
    return [Variable(name, description) for name, description in render.VARIABLES.items()]


@post("/api/v1/macros", tags=["macros"], status_code=201, permission=Permission.REPLY)
async def create_macro(principal: Principal, data: MacroIn) -> dict[str, Any]:
    """A macro; an unknown variable in its body is refused (422) and named."""
    created = store.view(await store.create_macro(principal.agent, data))
    await _audit("macro.created", principal, None, created)
    return created


@get("/api/v1/macros/{macro_id:int}", tags=["macros"], permission=Permission.REPLY)
async def get_macro(principal: Principal, macro_id: int) -> dict[str, Any]:
    return store.view(await store.usable(principal.agent, macro_id))


@put("/api/v1/macros/{macro_id:int}", tags=["macros"], permission=Permission.REPLY)
async def update_macro(principal: Principal, macro_id: int, data: MacroIn) -> dict[str, Any]:
    before = await _snapshot(macro_id)
    updated = store.view(await store.update_macro(principal.agent, macro_id, data))
    await _audit("macro.updated", principal, before, updated)
    return updated


@delete(
    "/api/v1/macros/{macro_id:int}", tags=["macros"], status_code=204, permission=Permission.REPLY
)
async def delete_macro(principal: Principal, macro_id: int) -> None:
    before = await _snapshot(macro_id)
    await store.delete_macro(principal.agent, macro_id)
    await _audit("macro.deleted", principal, before, None)


@post(
    "/api/v1/macros/{macro_id:int}/preview",
    tags=["macros"],
    status_code=200,
    permission=Permission.REPLY,
)
async def preview_macro(principal: Principal, macro_id: int, data: PreviewBody) -> dict[str, Any]:
    """The macro's text as it would be sent on that conversation by you; nothing is stored."""
    macro = await store.usable(principal.agent, macro_id)
    await access.check_conversation(principal.agent, data.conversation_id)
    async with connection_pool().acquire() as conn:
        text = await render.render(
            conn, macro.body, conversation_id=data.conversation_id, agent_id=principal.agent.id
        )
    return {"macro_id": macro.id, "text": text, "actions": msgspec.to_builtins(macro.actions)}


@post(
    "/api/v1/conversations/{conversation_id:int}/macros/{macro_id:int}",
    tags=["macros"],
    status_code=201,
    permission=Permission.REPLY,
)
async def apply_macro(
    principal: Principal, conversation_id: int, macro_id: int, data: ApplyBody | None = None
) -> dict[str, Any]:
    """Send the macro's reply (sent by a worker, like any reply) and run its actions. A `text`
    (the preview as the agent edited it) is sent instead of the macro's own text."""
    await access.check_conversation(principal.agent, conversation_id)
    await store.usable(principal.agent, macro_id)
    async with connection_pool().acquire() as conn:
        return await store.apply_macro(
            conn, macro_id, conversation_id, principal.agent.id, text=data.text if data else None
        )


handlers = [
    list_macros,
    list_variables,
    create_macro,
    get_macro,
    update_macro,
    delete_macro,
    preview_macro,
    apply_macro,
]
