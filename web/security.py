"""Who is calling, and whether they may: the one guard every route, socket and page goes through.

Credentials: a session cookie (with CSRF on state changes) or `Authorization: Bearer <api key>`.
Each route declares what it needs in its metadata (Litestar's `opt`, from the decorator's extra
keywords): `permission=Permission.X`, or `access="public"` (no agent credentials: webhooks, the
widget, the login page) or `access="authenticated"` (any signed-in agent; rows are still filtered
by hub.auth.access). `authorize` (the app's last middleware) enforces `permission`; handlers whose
need depends on the body (a reply or a note) call `require`. Both decide with
hub.auth.permissions.allowed.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from hub.auth import accounts, roles
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission, allowed
from hub.system.crypto import constant_time_equal
from hub.system.services import current
from web.errors import ApiError

SESSION_COOKIE = "hub_session"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrf-token"
_SAFE = {"GET", "HEAD", "OPTIONS"}
SUBPROTOCOL = "hub"
KEY_SUBPROTOCOL_PREFIX = "hub.key."


ACCESS_LEVELS = ("public", "authenticated")


class NotSignedIn(ApiError):
    def __init__(self) -> None:
        super().__init__(401, "log in or send an API key as 'Authorization: Bearer <key>'")


class Denied(ApiError):
    def __init__(self, role: str, permission: Permission) -> None:
        super().__init__(
            403,
            f"your role ({role}) may not do this ({permission})",
            details={"permission": str(permission)},
        )
        self.permission = permission


async def principal_from(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The caller, looked up now (sockets call this again to notice a logout or a new role)."""
    await roles.refresh()  # the permission snapshot, at most roles.CACHE_SECONDS old
    header = connection.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return await accounts.api_key_principal(header[7:].strip())
    if connection.scope["type"] == "websocket":
        # Browsers cannot set headers on a WebSocket: the key rides in a subprotocol
        # ("hub", "hub.key.<api key>"), which, unlike ?token=, no access log records.
        offered_protocols: list[str] = list(connection.scope.get("subprotocols") or ())  # type: ignore[call-overload]
        for offered in offered_protocols:
            if offered.startswith(KEY_SUBPROTOCOL_PREFIX):
                return await accounts.api_key_principal(offered[len(KEY_SUBPROTOCOL_PREFIX) :])
        token = connection.query_params.get("token")
        if token:  # still accepted; redacted from the logs (web.logs)
            return await accounts.api_key_principal(token)
    cookie = connection.cookies.get(SESSION_COOKIE)
    if cookie:
        # A socket being open is not activity: an inbox left open overnight still goes idle.
        return await accounts.session_principal(
            cookie,
            idle_seconds=current().settings.session_idle_seconds,
            touch=connection.scope["type"] == "http",
        )
    return None


_UNSET = object()


async def principal_for(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The caller, looked up once per request (the guard and the dependency share it)."""
    cached = getattr(connection.state, "hub_principal", _UNSET)
    if cached is _UNSET:
        cached = await principal_from(connection)
        connection.state.hub_principal = cached
    return cached  # type: ignore[return-value]


async def authorize(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """A route that declares `permission` needs a caller whose role has it."""
    permission = handler.opt.get("permission")
    if permission is None:
        return
    principal = await principal_for(connection)
    if principal is None:
        raise NotSignedIn
    require(principal, permission)


def authorize_middleware(app: ASGIApp) -> ASGIApp:
    """Litestar middleware (the app's last): `authorize` for every route and socket.

    Not a Litestar guard: a guard is handed a copy of the route handler on every call, and
    that copy was 7 % of a web process under inbound load.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if handler is not None and handler.opt.get("permission") is not None:
            await authorize(ASGIConnection(scope, receive=receive, send=send), handler)
        await app(scope, receive, send)

    return middleware


# What a session that still has to enrol in two-factor may reach (HUB_REQUIRE_2FA_ROLES).
ENROL_ONLY_PATHS = ("/api/v1/auth/",)


def must_enrol(principal: Principal) -> bool:
    """The agent's role requires two-factor, they have none yet, and this is their session."""
    return (
        principal.via == "session"
        and not principal.two_factor
        and principal.agent.role in current().settings.require_2fa_roles
    )


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Dependency for every authenticated endpoint: 401 without credentials, 403 without CSRF."""
    principal = await principal_for(request)
    if principal is None:
        raise NotSignedIn
    if principal.via == "session" and request.method not in _SAFE:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not constant_time_equal(sent, principal.csrf_token):
            raise ApiError(403, "missing or wrong CSRF token (header X-CSRF-Token)", code="csrf")
    if must_enrol(principal) and not request.url.path.startswith(ENROL_ONLY_PATHS):
        raise ApiError(
            403,
            "your role must use two-factor: enrol first (profile page, /api/v1/auth/totp)",
            code="two_factor_required",
        )
    return principal


def may(principal: Principal, permission: Permission) -> bool:
    return allowed(principal.agent.role, permission)


def require(principal: Principal, permission: Permission) -> None:
    """For checks that depend on the request's content; the route's own need is in its `opt`."""
    if not allowed(principal.agent.role, permission):
        raise Denied(principal.agent.role, permission)


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""
