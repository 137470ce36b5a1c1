"""WS /ws/widget: a visitor's live messages and typing, resumable from the last event id.

Two coroutines per socket: this handler reads what the visitor sends, and a sender task writes
everything out in order (replays, live events, acknowledgements), so frames never interleave and
`last` (the highest event id sent) is owned by one task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from hub.system.tasks import cancel
from hub.visitors import contacts, views
from web import realtime
from web.errors import ApiError
from web.widget import limits, service
from web.widget.fanin import EVENT, FRAME, RESUME, Connection, TypingNotice, fanin, frame
from web.widget.fanin import publish_typing as _publish_typing
from web.widget.visitor import VisitorContext, client_ip, resolve

log = logging.getLogger(__name__)

BACKFILL_PAGE = 500
_decoder = msgspec.json.Decoder(dict[str, Any])


def _after(socket: WebSocket) -> int | None:
    raw = socket.query_params.get("after")
    return int(raw) if raw is not None and raw.isdigit() else None


@websocket("/ws/widget", access="public")
async def widget_socket(socket: WebSocket) -> None:
    """Live events of the visitor's own conversations (`?token=<visitor token>&after=<event id>`).

    Sends: {"type": "message", "client_id", "text", "attachments"}, {"type": "typing", "typing"},
    {"type": "read", "message_id"}, {"after": id} (replay), {"type": "ping"}.
    Receives: message/conversation events with an `id`, {"type": "typing"}, {"type": "ack"},
    {"type": "error"}, {"type": "pong"}.
    """
    try:
        ctx = await resolve(socket, socket.query_params.get("token", ""))
    except ApiError as exc:
        # Before accept, a close is answered as HTTP 403: the handshake fails.
        await socket.close(code=4000 + exc.status_code, reason=str(exc.detail)[:100])
        return
    ip = client_ip(socket)
    if limits.CONNECTS_PER_IP.take(ip):
        await socket.close(code=4429, reason="too many connections")
        return
    await socket.accept()
    conn = Connection(ctx.key)
    # Live from here unless the client names a point to resume from.
    start = _after(socket)
    start = realtime.relay.last_id if start is None else start
    try:
        await fanin.attach(conn)
        sender = asyncio.create_task(_send_loop(socket, conn, ctx, start))
        try:
            await _read_loop(socket, conn, ctx, ip, sender)
        finally:
            await cancel(sender)
    finally:
        await fanin.detach(conn)


async def _backfill(socket: WebSocket, ctx: VisitorContext, after: int) -> int:
    while True:
        page = await views.events_for(after, *ctx.key, limit=BACKFILL_PAGE)
        for event in page:
            view = views.event_view(event)
            if view is not None:
                await socket.send_text(frame(view))
            after = event.id
        if len(page) < BACKFILL_PAGE:
            return after


async def _send_loop(socket: WebSocket, conn: Connection, ctx: VisitorContext, start: int) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        # The table first (everything since `start`), then the live queue without repeats.
        last = await _backfill(socket, ctx, start)
        while True:
            what, ident, text = await conn.queue.get()
            if conn.overflowed:
                await socket.close(code=4408, reason="too far behind; reconnect with after")
                return
            if what == EVENT:
                if ident > last:
                    await socket.send_text(text)
                    last = ident
            elif what == RESUME:
                last = await _backfill(socket, ctx, min(last, ident))
            else:
                await socket.send_text(text)


async def _read_loop(
    socket: WebSocket,
    conn: Connection,
    ctx: VisitorContext,
    ip: str,
    sender: asyncio.Task[None],
) -> None:
    while not sender.done():
        try:
            raw = await socket.receive_data("text")
        except WebSocketDisconnect:
            return
        try:
            message = _decoder.decode(raw)
        except msgspec.DecodeError:
            continue
        try:
            await _handle(message, conn, ctx, ip)
        except Exception:
            log.exception("widget socket: could not handle a %r", message.get("type"))


async def _handle(message: dict[str, Any], conn: Connection, ctx: VisitorContext, ip: str) -> None:
    after = message.get("after")
    if isinstance(after, int) and not isinstance(after, bool):
        conn.push((RESUME, after, ""))
    kind = message.get("type")
    if kind == "message":
        await _message(message, conn, ctx, ip)
    elif kind == "typing":
        await publish_typing(ctx, bool(message.get("typing")))
    elif kind == "read" and isinstance(message.get("message_id"), int):
        await service.mark_read(ctx, int(message["message_id"]))
    elif kind == "ping":
        conn.push((FRAME, 0, '{"type":"pong"}'))


async def _message(message: dict[str, Any], conn: Connection, ctx: VisitorContext, ip: str) -> None:
    client_id = str(message.get("client_id") or "")
    uploads = message.get("attachments") or []
    try:
        view, created = await service.send_message(
            ctx,
            client_id=client_id,
            text=str(message.get("text") or ""),
            uploads=[str(u) for u in uploads] if isinstance(uploads, list) else [],
            ip=ip,
        )
    except ApiError as exc:
        retry = (exc.headers or {}).get("Retry-After")
        reply: dict[str, Any] = {
            "type": "error",
            "client_id": client_id,
            "code": getattr(exc, "code", "error"),
            "message": exc.detail,
        }
        if retry:
            reply["retry_after"] = int(retry)
        conn.push((FRAME, 0, frame(reply)))
        return
    conn.push(
        (
            FRAME,
            0,
            frame({"type": "ack", "client_id": client_id, "message": view, "created": created}),
        )
    )


async def publish_typing(ctx: VisitorContext, typing: bool) -> None:
    """The visitor is typing (or stopped): a hint to agents, dropped when it comes too often."""
    if typing and limits.TYPING_PER_VISITOR.take(ctx.visitor.address):
        return
    conversation = await contacts.latest_conversation(*ctx.key)
    if conversation is None:
        return  # nothing to show it on before the first message
    await _publish_typing(TypingNotice(conversation, ctx.inbox.id, "visitor", "", typing))
