"""Starting a visitor session: anonymous, vouched for by the embedding site, or resumed by link."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from adapters.webchat.hours import availability
from hub.contacts.identities import normalise_address
from hub.system.services import current
from hub.visitors import contacts, revocation, tokens
from hub.visitors.tokens import Visitor
from web.errors import ApiError
from web.widget import limits
from web.widget.inboxes import WidgetInbox
from web.widget.service import rate_limited

MAX_IDENTIFIER = 200


class NewSession(msgspec.Struct, kw_only=True):
    inbox_token: str
    name: str | None = None
    email: str | None = None
    identifier: str | None = None
    identifier_hash: str | None = None
    resume: str | None = None  # the token of a "continue the chat" link


def public_config(inbox: WidgetInbox, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the widget needs to draw itself; nothing secret."""
    settings = inbox.settings
    state = availability(settings.hours, now or dt.datetime.now(dt.UTC))
    return {
        "inbox": {
            "name": inbox.name,
            "title": settings.title or inbox.name,
            "greeting": settings.greeting,
            "colour": settings.colour,
            "position": settings.position,
            "language": settings.language,
            "pre_chat_form": settings.pre_chat_form,
            "require_identity": settings.require_identity,
            "attachments": {
                "max_bytes": min(
                    settings.max_attachment_bytes, current().settings.attachment_max_bytes
                ),
                "types": settings.attachment_types,
            },
        },
        "availability": {
            "open": state.open,
            "next_open_at": state.next_open_at.isoformat() if state.next_open_at else None,
            "offline_message": settings.offline_message,
        },
    }


def _visitor(inbox: WidgetInbox, data: NewSession) -> tuple[Visitor, bool]:
    """The visitor, and whether the site's hash also covers the email it sent."""
    secret_key = current().settings.secret_key
    if data.resume:
        resumed = tokens.read_resume_token(secret_key, data.resume)
        if resumed is None or resumed[0] != inbox.id:
            raise ApiError(401, "this chat link has expired", code="invalid_resume_token")
        verified = resumed[1].startswith(f"{inbox.id}:user:")
        return Visitor(inbox.id, resumed[1], verified), False
    if data.identifier is not None:
        identifier = data.identifier.strip()
        if not 0 < len(identifier) <= MAX_IDENTIFIER or not tokens.valid_identifier(identifier):
            raise ApiError(
                400, f"identifier is 1 to {MAX_IDENTIFIER} characters, without control characters"
            )
        proof = tokens.check_identity(
            inbox.settings.identity_secret, identifier, data.identifier_hash or "", data.email
        )
        if not proof.identifier:
            raise ApiError(
                401,
                "identifier_hash does not match identifier: compute hex HMAC-SHA256 with the"
                " inbox's identity secret over the identifier (or identifier + newline + email)",
                code="invalid_identity_hash",
            )
        return Visitor(inbox.id, contacts.visitor_address(inbox.id, identifier), True), proof.email
    return Visitor(inbox.id, contacts.visitor_address(inbox.id), False), False


async def start(inbox: WidgetInbox, data: NewSession, ip: str) -> dict[str, Any]:
    wait = limits.SESSIONS_PER_IP.take(ip)
    if wait:
        raise rate_limited(wait)
    visitor, email_verified = _visitor(inbox, data)
    if inbox.settings.require_identity and not visitor.verified:
        raise ApiError(
            401,
            "this chat requires identifier and identifier_hash from the embedding site",
            code="identity_required",
        )
    email = normalise_address("email", data.email) if data.email and data.email.strip() else None
    if inbox.settings.pre_chat_form == "required" and not visitor.verified and not email:
        raise ApiError(422, "this chat asks for an email address first", code="email_required")
    contact_id = await contacts.resolve_contact(
        visitor.address,
        name=(data.name or "").strip(),
        email=email,
        verified=visitor.verified,
        email_verified=email_verified and email is not None,
    )
    visitor = msgspec.structs.replace(
        visitor, generation=await revocation.generation(visitor.address)
    )
    return {
        "visitor_token": tokens.issue_token(current().settings.secret_key, visitor),
        "contact_id": contact_id,
        "conversation_id": await contacts.latest_conversation(inbox.id, contact_id),
        "verified": visitor.verified,
        "email_verified": email_verified and email is not None,
        "email_known": await contacts.knows_email(contact_id),
        **public_config(inbox),
    }
