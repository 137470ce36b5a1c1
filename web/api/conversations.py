"""Conversations: list, read, change, tag, and the timeline with replies and notes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, patch, post
from litestar.params import Parameter
from msgspec import UNSET

from hub.auth import access
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.channels import inboxes
from hub.conversations import inbox_views, lifecycle, listing
from hub.conversations.lifecycle import Changes
from hub.conversations.listing import ListFilters
from hub.csat import queries as csat_queries
from hub.db.engine import connection_pool
from hub.notifications import mentions, queries
from hub.notifications.mentions import Mention
from hub.outbox import dispatch, replies
from hub.system.services import current
from web.api.attachments import resolve_uploads
from web.api.conversation_merge import merged_target, redirect_if_merged
from web.security import require


class ConversationPage(msgspec.Struct):
    items: list[dict[str, Any]]
    next_cursor: str | None


class MessageList(msgspec.Struct):
    items: list[dict[str, Any]]


class ConversationPatch(msgspec.Struct, kw_only=True, omit_defaults=True):
    status: str | None = None
    priority: str | None = None
    assignee_id: int | msgspec.UnsetType | None = msgspec.UNSET
    team_id: int | msgspec.UnsetType | None = msgspec.UNSET
    snoozed_until: dt.datetime | msgspec.UnsetType | None = msgspec.UNSET


class TagsBody(msgspec.Struct):
    tags: list[str]


class UploadRef(msgspec.Struct):
    """An attachment for a reply: upload it first (POST /api/v1/attachments) and pass its token."""

    upload: str


class NewMessage(msgspec.Struct, kw_only=True):
    text: str = ""
    private: bool = False
    attachments: list[UploadRef] = []
    template: dict[str, Any] | None = None
    mentions: list[Mention] = []


@get("/api/v1/conversations", tags=["conversations"], permission=Permission.READ_CONVERSATIONS)
async def list_conversations(
    principal: Principal,
    status: Annotated[list[str] | None, Parameter(description="repeatable")] = None,
    inbox_id: int | None = None,
    channel: str | None = None,
    assignee_id: str | None = Parameter(default=None, description="an agent id, 'me' or 'none'"),
    team_id: int | None = None,
    tag: str | None = None,
    priority: str | None = None,
    contact_id: int | None = None,
    q: str | None = Parameter(
        default=None,
        description='full-text search in messages and subjects: words, "a phrase", prefix*',
    ),
    sla: str | None = Parameter(
        default=None, description="at_risk (in the warning window) or breached"
    ),
    sort: str = Parameter(
        default="recent",
        description="recent (newest activity first), sla_due (nearest deadline) or waiting"
        " (the customer waiting longest for an agent's answer first, then the others)",
    ),
    limit: int = Parameter(default=25, ge=1, le=100),
    cursor: str | None = None,
) -> ConversationPage:
    """Conversations the agent may see, newest activity (or nearest SLA deadline, or longest
    waiting) first, one keyset page at a time."""
    filters = ListFilters(
        status=status or [],
        inbox_id=inbox_id,
        channel=channel,
        assignee=assignee_id,
        team_id=team_id,
        tag=tag,
        priority=priority,
        contact_id=contact_id,
        q=q,
        sla=sla,
        sort="recent" if sort == "waiting" else sort,  # waiting: a query of its own
    )
    visible = await access.visible_inbox_ids(principal.agent)
    if sort == "waiting":  # the inbox's waiting view: its two-branch query and cursor
        items, next_cursor = await inbox_views.list_by_waiting(
            filters, agent=principal.agent, visible=visible, limit=limit, cursor=cursor
        )
    else:
        items, next_cursor = await listing.list_conversations(
            filters, agent=principal.agent, visible_inboxes=visible, limit=limit, cursor=cursor
        )
    return ConversationPage(items=items, next_cursor=next_cursor)


@get(
    "/api/v1/conversations/{conversation_id:int}",
    tags=["conversations"],
    permission=Permission.READ_CONVERSATIONS,
)
async def get_conversation(
    principal: Principal, conversation_id: int, request: Request[Any, Any, Any]
) -> dict[str, Any]:
    """One conversation; a merged one answers 308 to the conversation it was merged into."""
    target = await merged_target(principal, conversation_id)
    redirect_if_merged(request, conversation_id, target)
    conversation = await listing.get_conversation(conversation_id)
    # The survey and its answer (None: never surveyed); read here, not in the SQL function that
    # every event's conversation JSON goes through.
    conversation["csat"] = await csat_queries.for_conversation(conversation_id)
    return conversation


@patch(
    "/api/v1/conversations/{conversation_id:int}",
    tags=["conversations"],
    permission=Permission.READ_CONVERSATIONS,
)
async def update_conversation(
    principal: Principal, conversation_id: int, data: ConversationPatch
) -> dict[str, Any]:
    """Change status, priority, assignee, team or snooze time; each change shows in the timeline."""
    await access.check_conversation(principal.agent, conversation_id)
    await _require_for_changes(principal, conversation_id, data)
    changes = msgspec.convert(msgspec.to_builtins(data), Changes)
    return await lifecycle.update_conversation(conversation_id, changes, actor=principal.agent)


async def _require_for_changes(
    principal: Principal, conversation_id: int, data: ConversationPatch
) -> None:
    """Each kind of change needs its own permission (docs/access.md)."""
    if data.status is not None or data.priority is not None or data.snoozed_until is not UNSET:
        require(principal, Permission.UPDATE_CONVERSATIONS)
    if data.team_id is not UNSET:
        require(principal, Permission.ASSIGN)
    if data.assignee_id is not UNSET:
        me = principal.agent.id
        current_assignee = await connection_pool().fetchval(
            "SELECT assignee FROM conversation WHERE id = $1", conversation_id
        )
        own = data.assignee_id == me or (data.assignee_id is None and current_assignee == me)
        taking_over = current_assignee not in (None, me)
        require(
            principal, Permission.ASSIGN if own and not taking_over else Permission.ASSIGN_OTHERS
        )


@post(
    "/api/v1/conversations/{conversation_id:int}/tags",
    tags=["conversations"],
    status_code=200,
    permission=Permission.UPDATE_CONVERSATIONS,
)
async def add_tags(principal: Principal, conversation_id: int, data: TagsBody) -> dict[str, Any]:
    """Add tags (created on first use)."""
    await access.check_conversation(principal.agent, conversation_id)
    return await lifecycle.add_tags(conversation_id, data.tags, actor=principal.agent)


@delete(
    "/api/v1/conversations/{conversation_id:int}/tags/{tag:str}",
    tags=["conversations"],
    status_code=200,
    permission=Permission.UPDATE_CONVERSATIONS,
)
async def remove_tag(principal: Principal, conversation_id: int, tag: str) -> dict[str, Any]:
    """Remove one tag."""
    await access.check_conversation(principal.agent, conversation_id)
    return await lifecycle.remove_tag(conversation_id, tag, actor=principal.agent)


@get(
    "/api/v1/conversations/{conversation_id:int}/messages",
    tags=["conversations"],
    permission=Permission.READ_CONVERSATIONS,
)
async def list_messages(
    principal: Principal,
    conversation_id: int,
    request: Request[Any, Any, Any],
    before: int | None = None,
    after: int | None = None,
    limit: int = Parameter(default=100, ge=1, le=500),
) -> MessageList:
    """The timeline (messages, notes and activity lines), oldest first; a merged
    conversation's answers 308 to its target's."""
    target = await merged_target(principal, conversation_id)
    redirect_if_merged(request, conversation_id, target)
    items = await listing.list_messages(conversation_id, before=before, after=after, limit=limit)
    return MessageList(items=items)


@post(
    "/api/v1/conversations/{conversation_id:int}/messages",
    tags=["conversations"],
    status_code=201,
    permission=Permission.READ_CONVERSATIONS,
)
async def create_message(
    principal: Principal, conversation_id: int, data: NewMessage
) -> dict[str, Any]:
    """Reply on the conversation's channel (status `pending`, sent by a worker), or add a private
    note. On a merged conversation it goes to the conversation it was merged into."""
    require(principal, Permission.NOTE if data.private else Permission.REPLY)
    conversation_id = await merged_target(principal, conversation_id)
    inbox_id = await access.check_conversation(principal.agent, conversation_id)
    settings = current().settings
    adapter = await inboxes.adapter_for(
        inbox_id, secret_key=settings.secret_key, public_url=settings.public_url
    )
    uploads = await resolve_uploads([a.upload for a in data.attachments], principal.agent.id)
    if data.mentions and not data.private:
        raise replies.InvalidReply("only private notes can mention agents and teams")
    named = await mentions.check(conversation_id, data.mentions)
    message = await replies.create_reply(
        conversation_id,
        agent=principal.agent,
        text=data.text,
        private=data.private,
        attachments=uploads,
        template=data.template,
        limits=adapter.limits(),
        mentions=named,
    )
    if message["kind"] == "message":
        await replies.enqueue_dispatch(int(message["id"]))
    return message


@post(
    "/api/v1/messages/{message_id:int}/retry",
    tags=["conversations"],
    status_code=200,
    permission=Permission.REPLY,
)
async def retry_message(principal: Principal, message_id: int) -> dict[str, Any]:
    """Send a failed reply again."""
    pool = connection_pool()
    conversation_id = await pool.fetchval(
        "SELECT conversation FROM message WHERE id = $1", message_id
    )
    if conversation_id is None:
        raise access.NotFound(f"no message {message_id}")
    await access.check_conversation(principal.agent, int(conversation_id))
    return await dispatch.retry_failed(message_id)


@post(
    "/api/v1/conversations/{conversation_id:int}/read",
    tags=["conversations"],
    status_code=204,
    permission=Permission.READ_CONVERSATIONS,
)
async def mark_read(principal: Principal, conversation_id: int) -> None:
    """Mark the conversation's customer messages as read by the team, and your notifications
    about it as read by you."""
    await access.check_conversation(principal.agent, conversation_id)
    await lifecycle.mark_read(conversation_id)
    await queries.mark_conversation_read(principal.agent.id, conversation_id)


handlers = [
    list_conversations,
    get_conversation,
    update_conversation,
    add_tags,
    remove_tag,
    list_messages,
    create_message,
    retry_message,
    mark_read,
]
