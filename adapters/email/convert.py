"""A fetched message → what the hub stores: an `Inbound`, a `DeliveryUpdate` (bounce), or nothing.

Never raises for a message: what cannot be parsed is kept raw as an attachment with a clear note,
so one odd message can neither be lost nor block the mailbox behind it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from adapters.email import threading_hints
from adapters.email.parse import ParsedEmail, content_hash_id, parse, split
from hub.channels.contract import (
    DeliveryStatus,
    DeliveryUpdate,
    Identity,
    Inbound,
    InboundAttachment,
    ThreadHints,
)
from hub.contacts.identities import InvalidIdentity, normalise_address
from hub.conversations import threading as hub_threading
from hub.ingest import rawpayloads

log = logging.getLogger(__name__)

UNKNOWN_SENDER = "unknown-sender@unknown.invalid"
UNPARSEABLE_TEXT = "This email could not be parsed; the original is attached."
_OUR_ID = re.compile(r"^conversation/\d+/messages/\d+(?:\.[0-9a-f]+)?@")
_RAW_MSGID = re.compile(rb"(?im)^message-id:[ \t]*<([^<>\s]+)>")
_ROBOT_SENDERS = {"mailer-daemon", "postmaster", "mail-daemon"}
_RAW_FROM = re.compile(rb"(?im)^from:[^\r\n]*?([\w.+'-]+@[\w-]+(?:\.[\w-]+)+)")


def clean(value: str) -> str:
    """Text PostgreSQL accepts: no NUL characters, no lone surrogates."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _address(address: str) -> str:
    try:
        return normalise_address("email", address)
    except InvalidIdentity:
        return UNKNOWN_SENDER


def automatic_reason(parsed: ParsedEmail, address: str) -> str:
    """Why a message is automatic mail (RFC 3834 and the common non-standard markers), or ""."""
    if parsed.bounce is not None:
        return "a delivery status notification"
    if address.split("@", 1)[0] in _ROBOT_SENDERS:
        return f"sent by {address}"
    # X-Auto-Response-Suppress asks *others* not to answer; people's mail carries it too.
    if parsed.auto_reply and not parsed.auto_reply.startswith("X-Auto-Response-Suppress"):
        return parsed.auto_reply
    return ""


def attachment_limit() -> int:
    from hub.system.services import current

    return current().settings.attachment_max_bytes


class Converter:
    def __init__(self, *, inbox_id: int, address: str, secret_key: str) -> None:
        self.inbox_id = inbox_id
        self.address = address
        self.local, self.domain = address.split("@", 1)
        self.secret_key = secret_key

    def parse(self, raw: bytes) -> ParsedEmail | None:
        try:
            return parse(raw, self.address)
        except Exception:
            log.exception("inbox %s: a message could not be parsed; keeping it raw", self.inbox_id)
            return None

    def is_own(self, address: str) -> bool:
        """Mail from the inbox itself (its plain or +tagged address): a loop, never stored."""
        local, _, domain = address.rpartition("@")
        return domain == self.domain and (local == self.local or local.startswith(self.local + "+"))

    async def items(
        self,
        raw: bytes,
        parsed: ParsedEmail | None = None,
        recent: threading_hints.Recent | None = None,
    ) -> list[Inbound | DeliveryUpdate]:
        parsed = parsed or self.parse(raw)
        if parsed is None:
            return [self.unparseable(raw)]
        try:
            return await self._items(raw, parsed, recent)
        except Exception:
            log.exception(
                "inbox %s: message %s could not be converted", self.inbox_id, parsed.message_id
            )
            return [self.unparseable(raw)]

    async def _items(
        self, raw: bytes, parsed: ParsedEmail, recent: threading_hints.Recent | None
    ) -> list[Inbound | DeliveryUpdate]:
        address = _address(parsed.from_address)
        if self.is_own(address):
            return []
        bounce = parsed.bounce
        if bounce is not None:
            ours = [i for i in bounce.original_message_ids if _OUR_ID.match(i)]
            # Only a bounce of a message we really sent marks it failed; any other is kept as mail.
            if ours and await hub_threading.conversation_by_provider_ids(self.inbox_id, ours):
                reason = (
                    bounce.diagnostic or "the recipient's mail server did not accept the message"
                )
                if bounce.recipients:
                    reason = f"{', '.join(bounce.recipients)}: {reason}"
                return [
                    DeliveryUpdate(
                        inbox_id=self.inbox_id,
                        provider_message_id=i,
                        status=DeliveryStatus.FAILED,
                        error_code=bounce.status,
                        error=clean(reason)[:1000],
                    )
                    for i in ours
                ]
        sender = Identity("email", address, clean(parsed.from_name)[:300])
        hints = await threading_hints.decide(
            parsed,
            inbox_id=self.inbox_id,
            address=self.address,
            secret_key=self.secret_key,
            sender=sender,
            recent=recent,
        )
        reason = automatic_reason(parsed, address)
        if reason and hints.new_conversation:
            # An auto-reply or bounce that continues nothing would open a conversation nobody
            # needs (and an auto-reply war with another robot): kept verbatim, not opened.
            await rawpayloads.keep_once(
                inbox_id=self.inbox_id,
                channel="email",
                headers={"content-type": "message/rfc822"},
                body=raw,
                error=f"automatic mail ({reason}) that continues no conversation",
            )
            return []
        return [self.inbound(parsed, sender, hints)]

    def inbound(self, parsed: ParsedEmail, sender: Identity, hints: ThreadHints) -> Inbound:
        text, signature, quoted = split(parsed)
        limit = attachment_limit()
        attachments = [
            InboundAttachment(clean(a.filename), a.content_type, data=a.data)
            for a in parsed.attachments
            if len(a.data) <= limit
        ]
        meta: dict[str, Any] = {
            "to": [clean(a) for _, a in parsed.to][:50],
            "cc": [clean(a) for _, a in parsed.cc][:50],
        }
        if quoted:
            meta["quoted"] = clean(quoted)
        if signature:
            meta["signature"] = clean(signature)
        if parsed.bulk:
            meta["bulk"] = True
        if parsed.auto_reply:
            meta["auto_reply"] = parsed.auto_reply
        if parsed.bounce is not None:
            meta["bounce"] = {
                "status": parsed.bounce.status,
                "diagnostic": clean(parsed.bounce.diagnostic),
            }
        inline = {a.content_id: clean(a.filename) for a in parsed.attachments if a.content_id}
        if inline:
            meta["inline_images"] = inline  # cid → filename: the UI resolves cid: URLs with it
        too_large = [
            {"filename": clean(a.filename), "size": len(a.data)}
            for a in parsed.attachments
            if len(a.data) > limit
        ]
        if too_large:
            meta["attachments_too_large"] = too_large
        if not parsed.has_message_id:
            meta["message_id_missing"] = True
        return Inbound(
            channel="email",
            inbox_id=self.inbox_id,
            provider_message_id=parsed.message_id,
            sender=sender,
            text=clean(text),
            html=clean(parsed.html),
            subject=clean(parsed.subject)[:1000],
            attachments=attachments,
            hints=hints,
            sent_at=parsed.date,
            auto_reply=bool(parsed.auto_reply or parsed.bounce),
            meta=meta,
        )

    def unparseable(self, raw: bytes) -> Inbound:
        """The raw message as an attachment of a message that says so, in a new conversation."""
        found_id = _RAW_MSGID.search(raw)
        found_from = _RAW_FROM.search(raw)
        message_id = (
            found_id.group(1).decode("ascii", "replace") if found_id else content_hash_id(raw)
        )
        sender = (
            _address(found_from.group(1).decode("ascii", "replace"))
            if found_from
            else UNKNOWN_SENDER
        )
        limit = attachment_limit()
        text = UNPARSEABLE_TEXT
        if len(raw) > limit:
            # Over the attachment limit the hub would refuse it, and the mailbox would stall on it.
            text += f" It was cut to the attachment limit of {limit} bytes (it had {len(raw)})."
        return Inbound(
            channel="email",
            inbox_id=self.inbox_id,
            provider_message_id=clean(message_id),
            sender=Identity("email", sender),
            text=text,
            subject="Unreadable email",
            attachments=[InboundAttachment("original.eml", "message/rfc822", data=raw[:limit])],
            hints=ThreadHints(message_id=clean(message_id), new_conversation=True),
            meta={"raw_unparseable": True},
        )
