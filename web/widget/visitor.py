"""Who is calling the widget API: the visitor named by a signed token, on an allowed site."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection

from hub.system.services import current
from hub.visitors import revocation, tokens
from hub.visitors.tokens import Visitor
from web.errors import ApiError
from web.widget import cors, inboxes
from web.widget.inboxes import WidgetInbox

TOKEN_HEADER = "x-visitor-token"


class VisitorContext(msgspec.Struct, frozen=True):
    visitor: Visitor
    inbox: WidgetInbox
    contact_id: int

    @property
    def key(self) -> tuple[int, int]:
        return self.inbox.id, self.contact_id


async def resolve(connection: ASGIConnection[Any, Any, Any, Any], token: str) -> VisitorContext:
    """Check the token, the inbox, the calling site and the identity rule; raise ApiError."""
    visitor = tokens.read_token(current().settings.secret_key, token) if token else None
    if visitor is None:
        raise ApiError(401, "no valid visitor token: start a session first", code="invalid_token")
    inbox = await inboxes.by_id(visitor.inbox_id)
    if inbox is None:
        raise ApiError(404, "this chat is not available any more", code="inbox_not_found")
    cors.check(connection, inbox)
    if inbox.settings.require_identity and not visitor.verified:
        # The inbox started requiring identity after this token was issued.
        raise ApiError(401, "this chat requires a verified identity", code="identity_required")
    contact_id = await revocation.contact_if_current(visitor.address, visitor.generation)
    if contact_id is None:
        raise ApiError(401, "this visitor is unknown: start a new session", code="invalid_token")
    return VisitorContext(visitor, inbox, contact_id)


async def provide_visitor(request: Request[Any, Any, Any]) -> VisitorContext:
    """Dependency of the visitor endpoints: header `X-Visitor-Token`."""
    return await resolve(request, request.headers.get(TOKEN_HEADER, ""))


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else ""
