"""The client's address: the peer's, or the one a trusted reverse proxy forwarded for.

`hub serve` runs uvicorn without its own proxy-header handling, so this is the one place that
decides, from `HUB_TRUSTED_PROXIES`: `X-Forwarded-For` and `X-Forwarded-Proto` are believed only
when the connecting peer is one of those addresses (the right-most untrusted hop is the client).
Trusting them from anyone would let a client choose its own address, and with it its own login
throttle and widget limits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from litestar.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hub.auth import audit


def forwarded_for(trusted: tuple[str, ...]) -> Callable[[ASGIApp], ASGIApp]:
    """Litestar middleware: rewrite the scope's client and scheme for trusted proxies only."""

    def wrap(app: ASGIApp) -> ASGIApp:
        if not trusted:
            return app
        return cast(ASGIApp, ProxyHeadersMiddleware(cast(Any, app), trusted_hosts=list(trusted)))

    return wrap


def record_origin(app: ASGIApp) -> ASGIApp:
    """Litestar middleware (after `forwarded_for`): the client's address, for the audit log."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        token = audit.origin.set(client[0] if client else "")
        try:
            await app(scope, receive, send)
        finally:
            audit.origin.reset(token)

    return middleware
