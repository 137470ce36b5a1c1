"""Notifications of the calling agent: the list, marking read, preferences."""

from __future__ import annotations

import msgspec
from litestar import get, post, put
from litestar.params import Parameter

from hub.auth.accounts import Principal
from hub.notifications import queries
from hub.notifications.kinds import Preference
from web.errors import ApiError


class ReadBody(msgspec.Struct, kw_only=True):
    ids: list[int] | None = None
    all: bool = False


class ReadResult(msgspec.Struct):
    unread_count: int


class Preferences(msgspec.Struct):
    kinds: dict[str, Preference]


@get("/api/v1/notifications", tags=["notifications"], access="authenticated")
async def list_notifications(
    principal: Principal,
    unread: bool = False,
    limit: int = Parameter(default=50, ge=1, le=200),
    cursor: int | None = Parameter(default=None, ge=1),
) -> queries.Page:
    """Your notifications, newest first (`unread=true`: only unread), with the unread count."""
    return await queries.page(principal.agent.id, unread=unread, limit=limit, before=cursor)


@post("/api/v1/notifications/read", tags=["notifications"], status_code=200, access="authenticated")
async def read_notifications(principal: Principal, data: ReadBody) -> ReadResult:
    """Mark notifications read: `{"ids": [...]}` or `{"all": true}`."""
    if data.all == (data.ids is not None):
        raise ApiError(400, "send either ids (a list of notification ids) or all: true")
    unread = await queries.mark_read(principal.agent.id, None if data.all else data.ids)
    return ReadResult(unread_count=unread)


@get("/api/v1/notification-preferences", tags=["notifications"], access="authenticated")
async def get_preferences(principal: Principal) -> Preferences:
    """Per kind: in the bell (`in_app`) and/or by email while you are away or offline."""
    return Preferences(kinds=await queries.get_preferences(principal.agent.id))


@put("/api/v1/notification-preferences", tags=["notifications"], access="authenticated")
async def put_preferences(principal: Principal, data: Preferences) -> Preferences:
    """Change the kinds given (`{"kinds": {"message": {"in_app": true, "email": false}}}`); the
    others keep theirs. Both false: that kind is off."""
    return Preferences(kinds=await queries.set_preferences(principal.agent.id, data.kinds))


handlers = [list_notifications, read_notifications, get_preferences, put_preferences]
