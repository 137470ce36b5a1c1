"""What a visitor does, shared by the HTTP endpoints and the socket: send, upload, read."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

import msgspec

from adapters.webchat import WebchatChannel
from adapters.webchat.config import type_allowed
from hub.channels.contract import (
    DeliveryStatus,
    DeliveryUpdate,
    Identity,
    Inbound,
    InboundAttachment,
    ThreadHints,
)
from hub.ingest import pipeline
from hub.outbox import delivery
from hub.storage import attachments
from hub.system.crypto import sign, verify
from hub.system.services import current
from hub.visitors import contacts, views
from web.errors import ApiError
from web.widget import limits
from web.widget.visitor import VisitorContext

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_ATTACHMENTS = 5


class Upload(msgspec.Struct, frozen=True):
    sha256: str
    size: int
    filename: str
    content_type: str
    visitor: str  # an upload is only usable by the visitor who made it


def rate_limited(wait: float) -> ApiError:
    seconds = max(1, round(wait + 0.5))
    return ApiError(
        429,
        f"too many requests; try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def check_rate(*buckets: tuple[limits.TokenBuckets, str]) -> None:
    for bucket, key in buckets:
        wait = bucket.take(key)
        if wait:
            raise rate_limited(wait)


def attachment_limit(ctx: VisitorContext) -> int:
    return min(ctx.inbox.settings.max_attachment_bytes, current().settings.attachment_max_bytes)


async def store_upload(
    ctx: VisitorContext, content: bytes, filename: str, content_type: str
) -> tuple[str, Upload]:
    """Check size and type, store the file, and return a signed token naming it."""
    kind = (content_type or "application/octet-stream").split(";", 1)[0].strip().lower()
    if not type_allowed(kind, ctx.inbox.settings.attachment_types):
        raise ApiError(
            415,
            f"files of type {kind} cannot be sent here; allowed: "
            + ", ".join(ctx.inbox.settings.attachment_types),
            code="unsupported_type",
        )
    limit = attachment_limit(ctx)
    if len(content) > limit:
        raise ApiError(413, f"the file is {len(content)} bytes; the limit is {limit} bytes")
    digest, size = await attachments.store(current().settings.attachments_dir, content, limit=limit)
    upload = Upload(digest, size, attachments.safe_filename(filename), kind, ctx.visitor.address)
    body = base64.urlsafe_b64encode(msgspec.json.encode(upload)).decode()
    return body + "." + sign(current().settings.secret_key, "widget-upload", body.encode()), upload


def _read_upload(ctx: VisitorContext, token: str) -> Upload:
    body, _, mac = token.partition(".")
    if mac and verify(current().settings.secret_key, "widget-upload", body.encode(), mac):
        upload = msgspec.json.decode(base64.urlsafe_b64decode(body), type=Upload)
        if upload.visitor == ctx.visitor.address:
            return upload
    raise ApiError(400, "an attachment is not valid; upload the file again")


async def _attachment(upload: Upload) -> InboundAttachment:
    path = attachments.path_for(current().settings.attachments_dir, upload.sha256)
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError:
        raise ApiError(400, "an uploaded file is gone; upload it again") from None
    return InboundAttachment(upload.filename, upload.content_type, data)


async def send_message(
    ctx: VisitorContext, *, client_id: str, text: str, uploads: list[str], ip: str
) -> tuple[dict[str, Any], bool]:
    """Store the visitor's message once per client id; returns (message view, created)."""
    if not _CLIENT_ID.match(client_id):
        raise ApiError(400, "client_id must be 1-64 letters, digits or _ . : -")
    text = text.strip()
    if not text and not uploads:
        raise ApiError(400, "a message needs text or an attachment")
    if len(text) > WebchatChannel.max_text_length:
        raise ApiError(400, f"a message is at most {WebchatChannel.max_text_length} characters")
    if len(uploads) > MAX_ATTACHMENTS:
        raise ApiError(400, f"at most {MAX_ATTACHMENTS} attachments per message")
    check_rate(
        (limits.MESSAGES_PER_VISITOR, ctx.visitor.address),
        (limits.MESSAGES_PER_IP, ip),
    )
    files = [await _attachment(_read_upload(ctx, token)) for token in uploads]
    conversation = await contacts.latest_conversation(*ctx.key, active_only=True)
    result = await pipeline.ingest(
        Inbound(
            channel="webchat",
            inbox_id=ctx.inbox.id,
            # The client's id makes a retried send (lost ack, reconnect, REST fallback) a no-op.
            provider_message_id=f"{ctx.visitor.address}:{client_id}",
            sender=Identity("webchat", ctx.visitor.address),
            text=text,
            attachments=files,
            hints=ThreadHints(conversation_id=conversation),
            meta={"client_id": client_id},
        )
    )
    view = views.message_view(result.message)
    assert view is not None
    return view, result.created


async def mark_read(ctx: VisitorContext, up_to: int) -> int:
    """The visitor has seen the agent's replies up to this message: they become `read`."""
    if limits.READS_PER_VISITOR.take(ctx.visitor.address):
        return 0  # read receipts are advisory: dropping one under a flood loses nothing
    changed = 0
    for provider_id in await views.unread_replies(*ctx.key, up_to):
        update = DeliveryUpdate(
            inbox_id=ctx.inbox.id, provider_message_id=provider_id, status=DeliveryStatus.READ
        )
        changed += await delivery.apply_delivery(update)
    return changed
