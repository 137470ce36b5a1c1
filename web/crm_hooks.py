"""CRM hooks: POST /webhooks/splynx/{source id} (or /webhooks/splynx when the signature tells
the source). Thin: hub.crm.hooks verifies (403 and nothing stored on a bad signature), fetches
the changed record and stores it."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, post

from hub.crm import hooks, sources
from hub.system.services import current
from web.errors import error_body


def _reply(reply: hooks.HookReply) -> Response[Any]:
    if isinstance(reply.body, str):
        return Response(reply.body, status_code=reply.status, media_type=MediaType.TEXT)
    if reply.status >= 400:
        body = error_body(reply.status, reply.body["message"], reply.body["code"])
        return Response(body, status_code=reply.status, media_type=MediaType.JSON)
    return Response(reply.body, status_code=reply.status, media_type=MediaType.JSON)


async def _receive(request: Request[Any, Any, Any], rows: list[Any]) -> Response[Any]:
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    reply = await hooks.receive(rows, body, headers, secret_key=current().settings.secret_key)
    return _reply(reply)


@post(
    "/webhooks/splynx/{source_id:int}", tags=["webhooks"], include_in_schema=False, access="public"
)
async def splynx_source_hook(request: Request[Any, Any, Any], source_id: int) -> Response[Any]:
    rows = [r for r in await sources.list_sources(kind="splynx") if r["id"] == source_id]
    return await _receive(request, rows)


@post("/webhooks/splynx", tags=["webhooks"], include_in_schema=False, access="public")
async def splynx_hook(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _receive(request, list(await sources.list_sources(kind="splynx")))


handlers = [splynx_source_hook, splynx_hook]
