"""Delivery failure reports (bounces): which of our messages failed, and why.

A bounce is a `multipart/report; report-type=delivery-status` with a failed Action, or any
message with `X-Failed-Recipients`. Delay warnings ("Action: delayed") are not failures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from adapters.email import headers as hdr

_OUR_ID = re.compile(r"conversation/\d+/messages/\d+(?:\.[0-9a-f]+)?@[\w.-]+")
_HEADER_ID = re.compile(r"(?im)^message-id:\s*(<[^>\r\n]+>)")


@dataclass(slots=True)
class Bounce:
    original_message_ids: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    status: str = ""
    diagnostic: str = ""


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    if isinstance(payload, str):
        parser = HeaderParser(policy=compat32)
        return [
            parser.parsestr(block) for block in re.split(r"\r?\n\r?\n", payload) if block.strip()
        ]
    return []


def _original_ids(msg: Message) -> list[str]:
    found: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found += hdr.message_ids(str(inner[0].get("Message-ID", "")))
        elif ctype in ("text/rfc822-headers", "text/plain"):
            body = part.get_payload(decode=True)
            if isinstance(body, bytes):
                text = body.decode("utf-8", "replace")
                for value in _HEADER_ID.findall(text):
                    found += hdr.message_ids(value)
                found += _OUR_ID.findall(text)
    return list(dict.fromkeys(found))


def detect_bounce(msg: Message) -> Bounce | None:
    """The failure a message reports, or None when it is not a bounce."""
    failed_header = [
        a for _, a in hdr.addresses([str(v) for v in msg.get_all("X-Failed-Recipients") or []])
    ]
    report_type = str(msg.get_param("report-type", "")).lower()
    is_report = msg.get_content_type() == "multipart/report" and (
        report_type == "delivery-status"
        # Some servers leave report-type out; the delivery-status part says what it is.
        or (
            not report_type
            and any(p.get_content_type() == "message/delivery-status" for p in msg.walk())
        )
    )
    if not is_report and not failed_header:
        return None
    bounce = Bounce(recipients=failed_header)
    failed = bool(failed_header)
    if is_report:
        for part in msg.walk():
            if part.get_content_type() != "message/delivery-status":
                continue
            for block in _status_blocks(part):
                action = str(block.get("Action", "")).strip().lower()
                if action != "failed":
                    continue
                failed = True
                recipient = str(
                    block.get("Final-Recipient") or block.get("Original-Recipient") or ""
                )
                if recipient:
                    bounce.recipients.append(recipient.split(";")[-1].strip().lower())
                bounce.status = bounce.status or str(block.get("Status", "")).strip()
                diagnostic = hdr.text(str(block.get("Diagnostic-Code", "")))
                bounce.diagnostic = bounce.diagnostic or diagnostic
    if not failed:
        return None
    bounce.recipients = list(dict.fromkeys(bounce.recipients))
    bounce.original_message_ids = _original_ids(msg)
    return bounce
