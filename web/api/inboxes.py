"""Inboxes (admin), their members, and the API channel's inbound endpoint."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec
from litestar import MediaType, Response, delete, get, patch, post, put

from hub.auth import access, audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.channels import inboxes
from hub.channels.contract import Identity, Inbound, InboundAttachment
from hub.ingest import pipeline
from hub.system.services import current
from web.errors import ApiError
from web.realtime import relay


class NewInbox(msgspec.Struct):
    name: str
    channel: str
    config: dict[str, Any] = {}
    team_id: int | None = None


class InboxPatch(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    config: dict[str, Any] | None = None
    team_id: int | msgspec.UnsetType | None = msgspec.UNSET


class InboxList(msgspec.Struct):
    items: list[dict[str, Any]]


class Members(msgspec.Struct):
    agent_ids: list[int]


class Sender(msgspec.Struct):
    kind: str
    address: str
    name: str = ""


class ApiAttachment(msgspec.Struct):
    filename: str
    data: str  # base64
    content_type: str = "application/octet-stream"


class ApiInboundMessage(msgspec.Struct):
    external_id: str
    sender: Sender
    text: str = ""
    attachments: list[ApiAttachment] = []
    subject: str = ""


def _view(row: Any) -> dict[str, Any]:
    settings = current().settings
    return inboxes.public_view(row, secret_key=settings.secret_key, public_url=settings.public_url)


@post("/api/v1/inboxes", tags=["inboxes"], status_code=201, permission=Permission.MANAGE_INBOXES)
async def create_inbox(principal: Principal, data: NewInbox) -> dict[str, Any]:
    """Create an inbox for a channel; the answer says what the outside world needs (webhook URL, token)."""
    row, generated = await inboxes.create_inbox(
        data.name,
        data.channel,
        data.config,
        secret_key=current().settings.secret_key,
        public_url=current().settings.public_url,
        team_id=data.team_id,
        allow_custom_provider_urls=current().settings.allow_custom_provider_urls,
    )
    await audit.record(
        "inbox.created", actor_id=principal.agent.id, target_type="inbox", target_id=row["id"]
    )
    view = _view(row)
    if generated:
        # Secrets are write-only; one the hub generated is shown here, once.
        view["generated_secrets"] = generated
    return view


@get("/api/v1/inboxes", tags=["inboxes"], access="authenticated")
async def list_inboxes(principal: Principal) -> InboxList:
    """Inboxes you may see."""
    rows = await inboxes.list_inboxes(await access.visible_inbox_ids(principal.agent))
    return InboxList(items=[_view(r) for r in rows])


@get("/api/v1/inboxes/{inbox_id:int}", tags=["inboxes"], access="authenticated")
async def get_inbox(principal: Principal, inbox_id: int) -> dict[str, Any]:
    """One inbox (secrets are never returned)."""
    await access.check_inbox(principal.agent, inbox_id)
    return _view(await inboxes.get_inbox(inbox_id))


@patch("/api/v1/inboxes/{inbox_id:int}", tags=["inboxes"], permission=Permission.MANAGE_INBOXES)
async def update_inbox(principal: Principal, inbox_id: int, data: InboxPatch) -> dict[str, Any]:
    """Rename, move to a team, or change settings (merged; a key set to null is removed)."""
    row = await inboxes.update_inbox(
        inbox_id,
        secret_key=current().settings.secret_key,
        public_url=current().settings.public_url,
        name=data.name,
        config=data.config,
        team_id=data.team_id,
        allow_custom_provider_urls=current().settings.allow_custom_provider_urls,
    )
    if data.team_id is not msgspec.UNSET:
        relay.recheck_access()  # the team's agents see the inbox, the old team's do not
    await audit.record(
        "inbox.updated",
        actor_id=principal.agent.id,
        target_type="inbox",
        target_id=inbox_id,
        data={"keys": sorted((data.config or {}).keys())},
    )
    return _view(row)


@delete(
    "/api/v1/inboxes/{inbox_id:int}",
    tags=["inboxes"],
    status_code=204,
    permission=Permission.MANAGE_INBOXES,
)
async def delete_inbox(principal: Principal, inbox_id: int) -> None:
    """Deactivate an inbox; its conversations stay in the history."""
    settings = current().settings
    await inboxes.deactivate_inbox(
        inbox_id, secret_key=settings.secret_key, public_url=settings.public_url
    )

    await audit.record(
        "inbox.deleted", actor_id=principal.agent.id, target_type="inbox", target_id=inbox_id
    )


@put(
    "/api/v1/inboxes/{inbox_id:int}/members", tags=["inboxes"], permission=Permission.MANAGE_INBOXES
)
async def set_members(principal: Principal, inbox_id: int, data: Members) -> Members:
    """Set which agents work this inbox (admins and supervisors see every inbox anyway)."""
    members = await inboxes.set_members(inbox_id, data.agent_ids)
    relay.recheck_access()  # a removed agent's sockets stop receiving this inbox now
    await audit.record(
        "inbox.members",
        actor_id=principal.agent.id,
        target_type="inbox",
        target_id=inbox_id,
        data={"agent_ids": members},
    )
    return Members(agent_ids=members)


@post(
    "/api/v1/inboxes/{inbox_id:int}/messages",
    tags=["api channel"],
    status_code=201,
    access="authenticated",
)
async def api_channel_inbound(
    principal: Principal, inbox_id: int, data: ApiInboundMessage
) -> Response[bytes]:
    """Deliver a customer's message into an API-channel inbox: 201 when new, 200 when `external_id` was seen."""
    await access.check_inbox(principal.agent, inbox_id)
    channel = await inboxes.active_channel(inbox_id)
    if channel != "api":
        raise ApiError(
            422, f"inbox {inbox_id} is a {channel} inbox; only API inboxes accept messages here"
        )
    if not data.external_id.strip():
        raise ApiError(400, "external_id must not be empty")
    files = []
    for att in data.attachments:
        try:
            content = base64.b64decode(att.data, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, f"attachment {att.filename!r} is not valid base64") from None
        files.append(InboundAttachment(att.filename, att.content_type, data=content))
    result = await pipeline.ingest(
        Inbound(
            channel="api",
            inbox_id=inbox_id,
            provider_message_id=data.external_id.strip()[:500],
            sender=Identity(data.sender.kind, data.sender.address, data.sender.name),
            text=data.text,
            subject=data.subject,
            attachments=files,
        )
    )
    return Response(
        bytes(result.message_json),
        status_code=201 if result.created else 200,
        media_type=MediaType.JSON,
    )


handlers = [
    create_inbox,
    list_inboxes,
    get_inbox,
    update_inbox,
    delete_inbox,
    set_members,
    api_channel_inbound,
]
