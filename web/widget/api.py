"""The widget's HTTP API (/api/v1/widget): sessions, messages (the socket's fallback), files.

Every endpoint answers CORS for the inbox's allowed origins (web.widget.cors) and, except the
public config and sessions, acts for the visitor of the `X-Visitor-Token` header only.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import File

from hub.contacts.identities import normalise_address
from hub.storage import attachments
from hub.system.services import current
from hub.visitors import contacts, views
from web.errors import ApiError
from web.widget import cors, inboxes, limits, service, sessions
from web.widget.sessions import NewSession
from web.widget.socket import publish_typing
from web.widget.visitor import VisitorContext, client_ip, provide_visitor


class MessagePage(msgspec.Struct):
    items: list[dict[str, Any]]
    conversation_id: int | None
    last_event_id: int  # connect the socket with ?after=<this> to miss nothing after this page


class NewVisitorMessage(msgspec.Struct, kw_only=True):
    client_id: str  # the widget's own id: a message sent twice is stored once
    text: str = ""
    attachments: list[str] = []  # `upload` tokens from POST /api/v1/widget/attachments


class UploadAnswer(msgspec.Struct):
    upload: str
    filename: str
    content_type: str
    size: int


class ReadBody(msgspec.Struct):
    message_id: int


class ProfileBody(msgspec.Struct, kw_only=True):
    name: str | None = None
    email: str | None = None


class TypingBody(msgspec.Struct):
    typing: bool


class CsatBody(msgspec.Struct):
    survey_id: int
    rating: int
    comment: str | None = None


async def _inbox(token: str) -> inboxes.WidgetInbox:
    inbox = await inboxes.by_token(token)
    if inbox is None:
        raise ApiError(404, "no chat with this inbox token", code="inbox_not_found")
    return inbox


@get("/config", tags=["widget"])
async def widget_config(
    request: Request[Any, Any, Any], inbox_token: str = Parameter(max_length=100)
) -> dict[str, Any]:
    """Appearance, pre-chat form and business hours of a chat, for drawing the widget."""
    inbox = await _inbox(inbox_token)
    cors.check(request, inbox)
    return sessions.public_config(inbox)


@post("/sessions", tags=["widget"], status_code=201)
async def create_session(request: Request[Any, Any, Any], data: NewSession) -> dict[str, Any]:
    """Start a visitor session; with `identifier` + `identifier_hash` the site vouches for a user."""
    inbox = await _inbox(data.inbox_token)
    cors.check(request, inbox)
    return await sessions.start(inbox, data, client_ip(request))


@get("/messages", tags=["widget"])
async def list_messages(
    visitor: VisitorContext,
    before: int | None = None,
    after: int | None = None,
    limit: int = Parameter(default=50, ge=1, le=200),
) -> MessagePage:
    """The visitor's own messages, oldest first (`before` pages back through older ones)."""
    last_event_id = await views.last_event_id()  # read first: later changes come as events
    items = await views.list_messages(*visitor.key, before=before, after=after, limit=limit)
    conversation = await contacts.latest_conversation(*visitor.key)
    return MessagePage(items, conversation, last_event_id)


@post("/messages", tags=["widget"], status_code=201)
async def post_message(
    request: Request[Any, Any, Any], visitor: VisitorContext, data: NewVisitorMessage
) -> Response[dict[str, Any]]:
    """Send a message (201), or get the stored one back (200) when its client_id was seen."""
    view, created = await service.send_message(
        visitor,
        client_id=data.client_id,
        text=data.text,
        uploads=data.attachments,
        ip=client_ip(request),
    )
    return Response(view, status_code=201 if created else 200)


@post("/attachments", tags=["widget"], status_code=201)
async def upload(
    visitor: VisitorContext,
    data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> UploadAnswer:
    """Upload a file (multipart field `data`) within the inbox's size and type limits."""
    wait = limits.UPLOADS_PER_VISITOR.take(visitor.visitor.address)
    if wait:
        raise service.rate_limited(wait)
    content = await data.read()
    token, stored = await service.store_upload(
        visitor, content, data.filename or "", data.content_type or ""
    )
    return UploadAnswer(token, stored.filename, stored.content_type, stored.size)


@get("/attachments/{attachment_id:int}", tags=["widget"])
async def download(visitor: VisitorContext, attachment_id: int) -> File:
    """A file of one of the visitor's own messages, served as a download."""
    row = await views.attachment_for(attachment_id, *visitor.key)
    if row is None:
        raise ApiError(404, f"no attachment {attachment_id}")
    path = attachments.path_for(current().settings.attachments_dir, row["sha256"])
    if not path.is_file():
        raise ApiError(404, "the attachment's file is missing from storage")
    safe = row["content_type"] in attachments.SAFE_INLINE_TYPES
    return File(
        path=path,
        filename=row["filename"] or "attachment",
        media_type=row["content_type"] if safe else "application/octet-stream",
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )


@post("/read", tags=["widget"], status_code=200)
async def read(visitor: VisitorContext, data: ReadBody) -> dict[str, int]:
    """The visitor has seen the replies up to this message id (they become `read` for agents)."""
    return {"updated": await service.mark_read(visitor, data.message_id)}


@post("/profile", tags=["widget"], status_code=200)
async def profile(visitor: VisitorContext, data: ProfileBody) -> dict[str, bool]:
    """Name and email typed by the visitor (the offline form): kept unverified, for replies."""
    email = normalise_address("email", data.email) if data.email and data.email.strip() else None
    await contacts.resolve_contact(
        visitor.visitor.address, name=(data.name or "").strip(), email=email
    )
    return {"email_known": await contacts.knows_email(visitor.contact_id)}


@post("/typing", tags=["widget"], status_code=204)
async def typing(visitor: VisitorContext, data: TypingBody) -> None:
    """Typing indicator without a socket; the socket's {"type": "typing"} does the same."""
    await publish_typing(visitor, data.typing)


async def limit_requests(request: Request[Any, Any, Any]) -> None:
    """Every widget API call counts against its client address (reads hit the database too)."""
    wait = limits.REQUESTS_PER_IP.take(client_ip(request))
    if wait:
        raise service.rate_limited(wait)


@post("/csat", tags=["widget"], status_code=200)
async def csat_answer(visitor: VisitorContext, data: CsatBody) -> dict[str, Any]:
    """The visitor's answer to a survey card of their own conversation (a later one within the
    window replaces it)."""
    from hub.csat import answers

    try:
        if await answers.survey_inbox(data.survey_id) != visitor.inbox.id:
            raise answers.UnknownSurvey("no such survey in this chat")
        answer = await answers.record(
            data.survey_id, data.rating, data.comment, via="webchat", contact_id=visitor.contact_id
        )
    except answers.Refused as exc:
        raise ApiError(exc.status, str(exc)) from None
    return {"survey_id": answer.survey, "rating": answer.rating, "comment": answer.comment}


router = Router(
    path="/api/v1/widget",
    opt={"access": "public"},  # visitors: their own signed token, checked by each handler
    route_handlers=[
        widget_config,
        create_session,
        list_messages,
        post_message,
        upload,
        download,
        read,
        profile,
        typing,
        csat_answer,
    ],
    dependencies={"visitor": Provide(provide_visitor)},
    middleware=[cors.cors_middleware],
    before_request=limit_requests,
    tags=["widget"],
)
