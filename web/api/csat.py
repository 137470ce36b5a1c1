"""CSAT: the answers list, an inbox's survey settings, and the API channel's answer endpoint."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import get, post, put
from litestar.params import Parameter

from hub.auth import access, audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.channels import inboxes
from hub.csat import answers, queries
from hub.csat.settings import CsatSettings
from hub.csat.settings import get as get_settings
from hub.csat.settings import put as put_settings
from web.errors import ApiError


class CsatPage(msgspec.Struct):
    items: list[dict[str, Any]]
    next_cursor: str | None
    summary: dict[str, Any]


class ApiAnswer(msgspec.Struct):
    survey_id: int
    rating: int
    comment: str | None = None


@get("/api/v1/csat", tags=["csat"], permission=Permission.READ_CONVERSATIONS)
async def list_csat(
    principal: Principal,
    since: dt.datetime | None = Parameter(default=None, description="answered at or after"),
    until: dt.datetime | None = Parameter(default=None, description="answered before"),
    inbox_id: int | None = None,
    rating: Annotated[list[int] | None, Parameter(description="repeatable, 1 to 5")] = None,
    limit: int = Parameter(default=50, ge=1, le=200),
    cursor: str | None = None,
) -> CsatPage:
    """Survey answers the caller may see, newest answer first, with the count, average and CSAT
    score (share of 4s and 5s) of everything the filters select."""
    filters = queries.Filters(since=since, until=until, inbox_id=inbox_id, rating=rating or [])
    visible = await access.visible_inbox_ids(principal.agent)
    try:
        items, next_cursor = await queries.list_responses(
            filters, visible_inboxes=visible, limit=limit, cursor=cursor
        )
        summary = await queries.summary(filters, visible_inboxes=visible)
    except queries.InvalidQuery as exc:
        raise ApiError(400, str(exc)) from None
    return CsatPage(items=items, next_cursor=next_cursor, summary=summary)


@get("/api/v1/inboxes/{inbox_id:int}/csat", tags=["csat"], access="authenticated")
async def inbox_csat(principal: Principal, inbox_id: int) -> CsatSettings:
    """The inbox's survey settings."""
    await access.check_inbox(principal.agent, inbox_id)
    return await get_settings(inbox_id)


@put("/api/v1/inboxes/{inbox_id:int}/csat", tags=["csat"], permission=Permission.MANAGE_INBOXES)
async def set_inbox_csat(principal: Principal, inbox_id: int, data: CsatSettings) -> CsatSettings:
    """Replace the inbox's survey settings (admins)."""
    before = await get_settings(inbox_id)
    saved = await put_settings(inbox_id, data)
    await audit.record(
        "csat_settings.updated",
        actor_id=principal.agent.id,
        target_type="inbox",
        target_id=inbox_id,
        data=audit.changes(msgspec.to_builtins(before), msgspec.to_builtins(saved)),
    )
    return saved


@post(
    "/api/v1/inboxes/{inbox_id:int}/csat/answers",
    tags=["api channel"],
    status_code=200,
    access="authenticated",
)
async def api_channel_answer(
    principal: Principal, inbox_id: int, data: ApiAnswer
) -> dict[str, Any]:
    """An API-channel integration hands in the customer's answer to a survey it was sent in a
    callback; a later answer within the window replaces the earlier one."""
    await access.check_inbox(principal.agent, inbox_id)
    channel = await inboxes.active_channel(inbox_id)
    if channel != "api":
        raise ApiError(422, f"inbox {inbox_id} is a {channel} inbox, not an API inbox")
    try:
        owner = await answers.survey_inbox(data.survey_id)
        if owner != inbox_id:
            raise answers.UnknownSurvey(f"no survey {data.survey_id} in inbox {inbox_id}")
        answer = await answers.record(data.survey_id, data.rating, data.comment, via="api")
    except answers.Refused as exc:
        raise ApiError(exc.status, str(exc)) from None
    return {
        "survey_id": answer.survey,
        "conversation_id": answer.conversation,
        "rating": answer.rating,
        "comment": answer.comment,
        "replaced": answer.replaced,
        "stored": answer.stored,
    }


handlers = [list_csat, inbox_csat, set_inbox_csat, api_channel_answer]
