"""Twilio's WhatsApp webhooks (form-encoded) → Inbound / DeliveryUpdate, without network calls.

Twilio documents more fields than it sends in any one request and adds new ones over time, so
every field but the message SID and the sender is optional and unknown fields are ignored.
"""

from __future__ import annotations

from typing import Any

from adapters.whatsapp.errors import TWILIO_REASONS, reason
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

KIND = "whatsapp_twilio"

# Twilio's message statuses we pass on; queued, sending, accepted, scheduled, receiving and
# partially_delivered say nothing an agent acts on.
_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
    "undelivered": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


def is_status_callback(form: dict[str, str]) -> bool:
    """A status callback, even when an operator pointed it at the message URL."""
    status = form.get("MessageStatus") or ""
    return bool(status) and status != "received" and not form.get("Body") and "NumMedia" not in form


def message_sid(form: dict[str, str]) -> str:
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or ""
    if not sid:
        raise PayloadError("the Twilio webhook has no MessageSid")
    return sid


def parse_status(form: dict[str, str], inbox_id: int) -> list[DeliveryUpdate]:
    sid = message_sid(form)
    raw = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not raw:
        raise PayloadError("the Twilio status callback has no MessageStatus")
    status = _STATUSES.get(raw)
    if status is None:
        return []
    code = form.get("ErrorCode") or ""
    error = ""
    if status == DeliveryStatus.FAILED:
        text = form.get("ErrorMessage") or ("canceled before sending" if raw == "canceled" else "")
        error = reason(TWILIO_REASONS, code, text) if code else (text or f"Twilio reported {raw}")
    return [
        DeliveryUpdate(
            inbox_id=inbox_id, provider_message_id=sid, status=status, error_code=code, error=error
        )
    ]


def parse_message(form: dict[str, str], inbox_id: int) -> WithMedia:
    sid = message_sid(form)
    sender = form.get("From") or ""
    if not sender:
        raise PayloadError("the Twilio webhook has no From")
    profile_name = form.get("ProfileName") or ""
    message_type = form.get("MessageType") or ""
    text = form.get("Body") or ""
    meta: dict[str, Any] = {"provider": "twilio"}
    for field, key in (
        ("ProfileName", "profile_name"),
        ("WaId", "wa_id"),
        ("To", "to"),
        ("Forwarded", "forwarded"),
        ("FrequentlyForwarded", "frequently_forwarded"),
    ):
        if form.get(field):
            meta[key] = form[field]
    if message_type:
        meta["message_type"] = message_type

    if form.get("ButtonText") or form.get("ButtonPayload"):
        # A quick-reply button: the text is what the customer saw, the payload what we set.
        meta["button"] = {
            "text": form.get("ButtonText", ""),
            "payload": form.get("ButtonPayload", ""),
        }
        text = text or form.get("ButtonText", "")
    if form.get("ListId") or form.get("ListTitle"):
        meta["interactive"] = {
            "type": "list_reply",
            "id": form.get("ListId", ""),
            "title": form.get("ListTitle", ""),
        }
        text = text or form.get("ListTitle", "")

    if form.get("Latitude") and form.get("Longitude"):
        location = {
            "latitude": form["Latitude"],
            "longitude": form["Longitude"],
            "name": form.get("Label", ""),
            "address": form.get("Address", ""),
        }
        meta["location"] = location
        text = text or location_text(
            location["latitude"], location["longitude"], location["name"], location["address"]
        )

    referral = {k[len("Referral") :]: v for k, v in form.items() if k.startswith("Referral") and v}
    if referral:
        meta["referral"] = referral

    media: list[MediaRef] = []
    count = form.get("NumMedia") or "0"
    for index in range(int(count) if count.isdigit() else 0):
        url = form.get(f"MediaUrl{index}")
        if url:
            media.append(MediaRef(url, form.get(f"MediaContentType{index}", "")))

    hints = ThreadHints(reply_to_provider_id=form.get("OriginalRepliedMessageSid") or None)
    if form.get("OriginalRepliedMessageSender"):
        meta["replied_to_sender"] = form["OriginalRepliedMessageSender"]
    inbound = Inbound(
        channel=KIND,
        inbox_id=inbox_id,
        provider_message_id=sid,
        # "whatsapp:+6285…": the hub keeps the E.164 number, the same identity as a phone call's.
        sender=Identity(IdentityKind.PHONE.value, sender, profile_name),
        text=text,
        reply_choice=form.get("ListId") or form.get("ButtonPayload") or None,
        hints=hints,
        meta=meta,
    )
    return WithMedia(inbound, media)
