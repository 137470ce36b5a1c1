"""Which sites may use an inbox's widget: CORS for the widget API, Origin checks for its socket.

A preflight names no inbox (no body, no custom header values), so it is answered for any origin
that some web chat inbox allows; the request itself is then checked against its own inbox and
refused with 403 when that inbox does not allow the origin. Calls without an Origin header are
not from a browser page (CORS protects browsers), and the hub's own pages are always allowed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from adapters.webchat.config import normalise_origin, origin_matches
from hub.system.services import current
from web.errors import ApiError
from web.widget import inboxes
from web.widget.inboxes import WidgetInbox

ALLOW_METHODS = b"GET, POST, OPTIONS"
ALLOW_HEADERS = b"Content-Type, X-Visitor-Token"
MAX_AGE = b"600"


def _hub_origin() -> str:
    parts = urlsplit(current().settings.public_url)
    try:
        return normalise_origin(f"{parts.scheme}://{parts.netloc}")
    except ValueError:
        return ""


def allowed(origin: str | None, inbox: WidgetInbox) -> bool:
    if origin is None:
        return True
    return origin_matches(origin, inbox.settings.allowed_origins) or origin_matches(
        origin, [_hub_origin()]
    )


def check(connection: ASGIConnection[Any, Any, Any, Any], inbox: WidgetInbox) -> None:
    """Refuse a browser call from a site the inbox does not allow."""
    if not allowed(connection.headers.get("origin"), inbox):
        raise ApiError(
            403,
            "this site may not use this chat: add its origin to the inbox's allowed_origins",
            code="origin_not_allowed",
        )


async def _any_inbox_allows(origin: str) -> bool:
    return origin_matches(origin, await inboxes.all_origins()) or origin_matches(
        origin, [_hub_origin()]
    )


def _origin_of(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return str(value.decode("latin-1"))
    return None


def _is_preflight(scope: Scope) -> bool:
    return scope.get("method") == "OPTIONS" and any(
        name == b"access-control-request-method" for name, _ in scope.get("headers", [])
    )


def cors_middleware(app: ASGIApp) -> ASGIApp:
    """CORS headers on every widget API answer (errors too, so the widget can read them)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        origin = _origin_of(scope) if scope["type"] == "http" else None
        if origin is None:
            await app(scope, receive, send)
            return
        ok = await _any_inbox_allows(origin)
        if _is_preflight(scope):
            headers = [(b"vary", b"Origin")]
            if ok:
                headers += [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-allow-methods", ALLOW_METHODS),
                    (b"access-control-allow-headers", ALLOW_HEADERS),
                    (b"access-control-max-age", MAX_AGE),
                ]
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 204 if ok else 403,
                "headers": headers,
            }
            await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if not ok:
            await app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-expose-headers", b"Retry-After"),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await app(scope, receive, send_with_cors)

    return middleware
