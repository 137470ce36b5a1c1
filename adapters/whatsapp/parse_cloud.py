"""Meta's WhatsApp Cloud API webhooks (JSON) → Inbound / DeliveryUpdate, without network calls.

One POST may carry several entries, each with several changes, each with several messages and
statuses: all of them are returned, in order. Unknown message types are kept as a placeholder
line rather than dropped, so an agent knows the customer sent something.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import msgspec

from adapters.whatsapp.errors import CLOUD_REASONS, reason
from adapters.whatsapp.inbound import MediaRef, WithMedia, location_text
from hub.channels.contract import (
    DeliveryStatus,
    DeliveryUpdate,
    Identity,
    IdentityKind,
    Inbound,
    PayloadError,
    ThreadHints,
)

log = logging.getLogger(__name__)

KIND = "whatsapp_cloud"
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}


def decode(body: bytes) -> dict[str, Any]:
    try:
        payload = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise PayloadError(f"the body is not JSON ({exc})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("entry", []), list):
        raise PayloadError("the body is not a WhatsApp webhook object with an entry list")
    return payload


def parse(
    payload: dict[str, Any], inbox_id: int, phone_number_id: str
) -> list[WithMedia | DeliveryUpdate]:
    items: list[WithMedia | DeliveryUpdate] = []
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue  # account, template and quality updates: nothing for the inbox
            number = str((value.get("metadata") or {}).get("phone_number_id") or "")
            if number and phone_number_id and number != phone_number_id:
                # One Meta app posts every number of its business account to one URL; another
                # inbox owns this number, so its messages must not land here.
                log.info("inbox %s: skipping a change for phone number %s", inbox_id, number)
                continue
            names = {
                str(c.get("wa_id")): str((c.get("profile") or {}).get("name") or "")
                for c in _dicts(value.get("contacts"))
            }
            for message in _dicts(value.get("messages")):
                items.append(_message(message, names, inbox_id))
            for status in _dicts(value.get("statuses")):
                update = _status(status, inbox_id)
                if update is not None:
                    items.append(update)
    return items


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _message(message: dict[str, Any], names: dict[str, str], inbox_id: int) -> WithMedia:
    message_id = str(message.get("id") or "")
    sender = str(message.get("from") or "")
    if not message_id or not sender:
        raise PayloadError("a WhatsApp message has no id or no from")
    kind = str(message.get("type") or "")
    body = _dict(message.get(kind))
    meta: dict[str, Any] = {"provider": "cloud", "wa_id": sender, "message_type": kind}
    if names.get(sender):
        meta["profile_name"] = names[sender]
    media: list[MediaRef] = []
    text = ""

    if kind == "text":
        text = str(body.get("body") or "")
    elif kind in MEDIA_TYPES:
        text = str(body.get("caption") or "")
        if body.get("id"):
            media.append(
                MediaRef(
                    str(body["id"]),
                    str(body.get("mime_type") or ""),
                    str(body.get("filename") or ""),
                )
            )
        if body.get("sha256"):
            meta["media_sha256"] = body["sha256"]
    elif kind == "button":
        # A template's quick-reply button.
        meta["button"] = {"text": body.get("text", ""), "payload": body.get("payload", "")}
        text = str(body.get("text") or "")
    elif kind == "interactive":
        reply_type = str(body.get("type") or "")
        reply = _dict(body.get(reply_type))
        meta["interactive"] = {"type": reply_type, **reply}
        text = str(reply.get("title") or reply.get("body") or "")
    elif kind == "location":
        meta["location"] = {
            k: body[k] for k in ("latitude", "longitude", "name", "address", "url") if k in body
        }
        text = location_text(
            str(body.get("latitude", "")),
            str(body.get("longitude", "")),
            str(body.get("name") or ""),
            str(body.get("address") or ""),
        )
    elif kind == "reaction":
        meta["reaction"] = body
        emoji = str(body.get("emoji") or "")
        text = f"reacted {emoji}" if emoji else "removed a reaction"
    elif kind == "contacts":
        cards = message.get("contacts") if isinstance(message.get("contacts"), list) else []
        meta["contacts"] = cards
        text = "shared contact(s): " + ", ".join(
            str((c.get("name") or {}).get("formatted_name") or "?") for c in _dicts(cards)
        )
    elif kind == "system":
        text = str(body.get("body") or "")
        meta["system"] = body
    else:
        errors = _dicts(message.get("errors"))
        if errors:
            meta["errors"] = errors
        title = str(errors[0].get("title") or "") if errors else ""
        text = f"[{kind or 'unknown'} message{': ' + title if title else ''}]"

    if isinstance(message.get("referral"), dict):
        meta["referral"] = message["referral"]
    context = _dict(message.get("context"))
    if context.get("forwarded") or context.get("frequently_forwarded"):
        meta["forwarded"] = True
    # A reaction names the message it reacts to: the same thread hint as a quoted reply.
    replied_to = context.get("id") or (body.get("message_id") if kind == "reaction" else None)
    inbound = Inbound(
        channel=KIND,
        inbox_id=inbox_id,
        provider_message_id=message_id,
        sender=Identity(IdentityKind.PHONE.value, "+" + sender.lstrip("+"), names.get(sender, "")),
        text=text,
        reply_choice=_choice(meta),
        hints=ThreadHints(reply_to_provider_id=str(replied_to) if replied_to else None),
        sent_at=_timestamp(message.get("timestamp")),
        meta=meta,
    )
    return WithMedia(inbound, media)


def _choice(meta: dict[str, Any]) -> str | None:
    """The id we gave the chosen list row or reply button, or a template button's payload."""
    chosen = meta.get("interactive", {}).get("id") or meta.get("button", {}).get("payload")
    return str(chosen) if chosen else None


def _status(status: dict[str, Any], inbox_id: int) -> DeliveryUpdate | None:
    mapped = _STATUSES.get(str(status.get("status") or ""))
    message_id = str(status.get("id") or "")
    if mapped is None or not message_id:
        return None  # "deleted", "warning", … are not delivery states
    code = ""
    error = ""
    if mapped == DeliveryStatus.FAILED:
        errors = _dicts(status.get("errors"))
        first = errors[0] if errors else {}
        code = str(first.get("code") or "")
        details = str((first.get("error_data") or {}).get("details") or "")
        text = details or str(first.get("message") or first.get("title") or "")
        error = reason(CLOUD_REASONS, code, text) if code else text
    return DeliveryUpdate(
        inbox_id=inbox_id,
        provider_message_id=message_id,
        status=mapped,
        error_code=code,
        error=error,
    )


def _timestamp(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return None
