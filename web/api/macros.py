"""Macros: CRUD, the variable catalogue, a preview against a conversation, applying one."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import delete, get, post, put

from hub.auth import access
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
    return store.view(await store.create_macro(principal.agent, data))


@get("/api/v1/macros/{macro_id:int}", tags=["macros"], permission=Permission.REPLY)
async def get_macro(principal: Principal, macro_id: int) -> dict[str, Any]:
    return store.view(await store.usable(principal.agent, macro_id))


@put("/api/v1/macros/{macro_id:int}", tags=["macros"], permission=Permission.REPLY)
async def update_macro(principal: Principal, macro_id: int, data: MacroIn) -> dict[str, Any]:
    return store.view(await store.update_macro(principal.agent, macro_id, data))


@delete(
    "/api/v1/macros/{macro_id:int}", tags=["macros"], status_code=204, permission=Permission.REPLY
)
async def delete_macro(principal: Principal, macro_id: int) -> None:
    await store.delete_macro(principal.agent, macro_id)


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
