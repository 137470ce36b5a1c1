"""Provider webhooks: verify, parse, hand over to the hub, answer fast.

One URL per inbox (`/webhooks/<provider>/<inbox id>[/<sub>]`, as the inbox's adapter declares).
A bad signature is answered 403 and stores nothing; a payload that cannot be understood is kept
verbatim (raw_payload) and answered 400; a redelivery is a no-op through ingest's idempotency.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, route

from hub.auth.access import NotFound
from hub.channels import inboxes
from hub.channels.contract import (
    BaseAdapter,
    DeliveryUpdate,
    Inbound,
    PayloadError,
    RequestData,
    SignatureError,
    WebhookReply,
)
from hub.contacts.identities import InvalidIdentity
from hub.ingest import pipeline, rawpayloads
from hub.outbox import delivery
from hub.system.services import current
from web.errors import error_body
from web.security import client_ip
from web.widget import limits

log = logging.getLogger(__name__)


def _request_data(request: Request[Any, Any, Any], body: bytes) -> RequestData:
    public = current().settings.public_url
    query = request.url.query
    return RequestData(
        method=request.method,
        url=public + request.url.path + (f"?{query}" if query else ""),
        path=request.url.path,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=body,
    )


def _reply(reply: WebhookReply) -> Response[Any]:
    return Response(reply.body, status_code=reply.status, media_type=reply.media_type)


async def _adapter(inbox_id: int, path: str) -> BaseAdapter:
    settings = current().settings
    adapter = await inboxes.adapter_for(
        inbox_id, secret_key=settings.secret_key, public_url=settings.public_url
    )
    expected = adapter.webhook_path.format(inbox_id=inbox_id) if adapter.webhook_path else None
    if expected is None or not (path == expected or path.startswith(expected + "/")):
        raise NotFound(f"no webhook at {path}")
    return adapter


async def handle(request: Request[Any, Any, Any], inbox_id: int) -> Response[Any]:
    # Before anything costs work: a flood from one address is answered 429 with Retry-After
    # (providers retry later, so nothing is lost).
    wait = limits.WEBHOOKS_PER_IP.take(client_ip(request))
    if wait:
        seconds = max(1, round(wait + 0.5))
        return Response(
            error_body(429, f"too many requests; try again in {seconds} s", "rate_limited"),
            status_code=429,
            headers={"Retry-After": str(seconds)},
        )
    body = await request.body()
    try:
        adapter = await _adapter(inbox_id, request.url.path)
        row = await inboxes.get_inbox(inbox_id)
    except NotFound as exc:
        return Response(error_body(404, str(exc)), status_code=404)
    data = _request_data(request, body)
    if request.method == "GET":
        return _reply(await adapter.handshake(data))
    try:
        await adapter.verify(data)
    except SignatureError as exc:
        log.warning("refused %s webhook for inbox %s: %s", adapter.kind, inbox_id, exc)
        return Response(
            error_body(403, f"signature check failed: {exc}", "bad_signature"), status_code=403
        )
    try:
        items = await adapter.parse(data)
        for item in items:
            if isinstance(item, Inbound):
                await pipeline.ingest(item)
            elif isinstance(item, DeliveryUpdate):
                await delivery.apply_delivery(item)
    except (PayloadError, InvalidIdentity) as exc:
        kept = await rawpayloads.keep(
            inbox_id=inbox_id,
            channel=row["channel"],
            headers=data.headers,
            body=body,
            error=str(exc),
        )
        return Response(
            error_body(
                400,
                f"the payload could not be processed: {exc}",
                "bad_payload",
                {"raw_payload_id": kept},
            ),
            status_code=400,
        )
    return _reply(adapter.acknowledge(data))


@route(
    "/webhooks/{provider:str}/{inbox_id:int}",
    http_method=["GET", "POST"],
    tags=["webhooks"],
    include_in_schema=False,
    access="public",
)
async def webhook(request: Request[Any, Any, Any], provider: str, inbox_id: int) -> Response[Any]:
    return await handle(request, inbox_id)


@route(
    "/webhooks/{provider:str}/{inbox_id:int}/{sub:str}",
    http_method=["GET", "POST"],
    tags=["webhooks"],
    include_in_schema=False,
    access="public",
)
async def webhook_sub(
    request: Request[Any, Any, Any], provider: str, inbox_id: int, sub: str
) -> Response[Any]:
    return await handle(request, inbox_id)


handlers = [webhook, webhook_sub]
