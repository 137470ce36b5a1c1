"""Raw RFC 5322 bytes → `ParsedEmail`: text, sanitised HTML, attachments and the headers we use.

The stdlib's compat32 parser is used on purpose: it is several times faster than the
`policy.default` header registry, never raises on malformed input, and keeps raw 8-bit header
bytes, which `headers.text` decodes with our own charset fallbacks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html as htmllib
import mimetypes
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from typing import Any

import nh3

from adapters.email import headers as hdr
from adapters.email.bounce import Bounce, detect_bounce
from adapters.email.charsets import decode_bytes
from adapters.email.quotes import split_reply

# cid: stays so the UI can point inline images at their stored attachments.
_URL_SCHEMES = nh3.ALLOWED_URL_SCHEMES | {"cid"}
_DROP_WITH_CONTENT = {"script", "style", "title", "head"}
_BLOCK_END = re.compile(r"(?i)<\s*(br|/p|/div|/tr|/li|/h[1-6]|/blockquote|/table|hr)\b[^>]*>")
_INVISIBLE = re.compile(r"(?is)<\s*(script|style|head|title)\b.*?<\s*/\s*\1\s*>")
_TAG = re.compile(r"(?s)<[^>]*>")
_BLANKS = re.compile(r"\n[ \t\xa0]*(\n[ \t\xa0]*){2,}")
_SPACES = re.compile(r"[ \t\xa0]+")
_PRECEDENCE_AUTO = {"bulk", "list", "junk", "auto_reply"}
# Parts of a multipart/report that say what happened; they stay attached but are not the body.
_REPORT_TYPES = {
    "message/delivery-status",
    "message/disposition-notification",
    "message/feedback-report",
}


@dataclass(slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    inline: bool = False


@dataclass(slots=True)
class ParsedEmail:
    message_id: str  # without <>; a content hash when the message has none
    has_message_id: bool
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_name: str
    from_address: str
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    recipients_extra: list[str]  # Delivered-To / X-Original-To / Envelope-To addresses
    date: dt.datetime | None
    text: str
    html: str
    attachments: list[Attachment]
    auto_reply: str  # the header that marks it automatic ("" for a person's mail)
    bulk: bool  # newsletter / mailing-list mail
    x_loop: list[str]
    bounce: Bounce | None
    defects: int = 0
    raw_from: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def sanitise_html(markup: str) -> str:
    """HTML safe to show in the agent UI: no scripts, styles, handlers or javascript: URLs."""
    if not markup.strip():
        return ""
    return nh3.clean(
        markup,
        url_schemes=_URL_SCHEMES,
        clean_content_tags=_DROP_WITH_CONTENT,
        link_rel="noopener noreferrer nofollow",
    ).strip()


def html_to_text(markup: str) -> str:
    """Readable text of an HTML-only message (for the timeline, search and quote splitting)."""
    body = _INVISIBLE.sub("", markup)
    body = _BLOCK_END.sub("\n", body)
    body = htmllib.unescape(_TAG.sub("", body))
    lines = [_SPACES.sub(" ", line).strip() for line in body.splitlines()]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def content_hash_id(raw: bytes) -> str:
    """A stable stand-in for a missing Message-ID: the same bytes fetched again map to it."""
    normalised = raw.replace(b"\r\n", b"\n").rstrip(b"\n")
    return f"sha256-{hashlib.sha256(normalised).hexdigest()[:40]}@hub.invalid"


def _all(msg: Message, name: str) -> list[str]:
    # raw_items keeps 8-bit header bytes (as surrogates) that get_all would turn into U+FFFD.
    wanted = name.lower()
    return [str(v) for k, v in msg.raw_items() if k.lower() == wanted]


def _first(msg: Message, name: str) -> str:
    values = _all(msg, name)
    return values[0] if values else ""


def _part_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("ascii", "surrogateescape")
    return b""


def _container_bytes(part: Message) -> bytes:
    """The body of a part the parser split into sub-messages (delivery-status header blocks)."""
    if not part.is_multipart():
        return _part_bytes(part)
    whole = part.as_bytes()
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = whole.find(sep)
        if at >= 0:
            return whole[at + len(sep) :]
    return whole


def _filename(part: Message) -> str:
    try:
        # get_filename handles RFC 2231 (filename*=) and falls back to Content-Type's name=.
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:
        name = ""
    if isinstance(name, tuple):  # an RFC 2231 value get_param did not collapse
        name = name[2]
    if "\ufffd" in str(name):
        name = _filename_from_raw(part) or name
    return hdr.text(str(name)).strip() if name else ""


def _filename_from_raw(part: Message) -> str:
    """A filename given as raw 8-bit bytes (not encoded), decoded with our charset fallbacks."""
    for header in ("Content-Disposition", "Content-Type"):
        for value in _all(part, header):
            probe = Message()
            probe[header] = hdr.text(value)
            name = (
                probe.get_filename() if header == "Content-Disposition" else probe.get_param("name")
            )
            if isinstance(name, str) and name:
                return name
    return ""


def _default_name(content_type: str, index: int) -> str:
    ext = {"message/rfc822": ".eml", "text/plain": ".txt", "text/html": ".html"}.get(
        content_type
    ) or (mimetypes.guess_extension(content_type) or ".bin")
    return f"attachment-{index}{ext}"


class _Walker:
    """Collects body text, HTML and attachments from a MIME tree."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[Attachment] = []

    def attach(self, part: Message, data: bytes, content_type: str, name: str = "") -> None:
        cid = hdr.text(str(part.get("Content-ID", ""))).strip().strip("<>")
        disposition = str(part.get("Content-Disposition", "")).lower()
        self.attachments.append(
            Attachment(
                filename=name
                or _filename(part)
                or _default_name(content_type, len(self.attachments) + 1),
                content_type=content_type,
                data=data,
                content_id=cid,
                inline=disposition.startswith("inline") or bool(cid),
            )
        )

    def visit(self, part: Message) -> None:
        content_type = part.get_content_type()
        if part.is_multipart() and content_type.startswith("multipart/"):
            payload = part.get_payload()
            subparts = (
                [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
            )
            if content_type == "multipart/alternative":
                self.alternative(subparts)
            else:
                for sub in subparts:
                    self.visit(sub)
            return
        if content_type in _REPORT_TYPES:
            name = _filename(part) or content_type.split("/")[1] + ".txt"
            self.attach(part, _container_bytes(part), content_type, name)
            return
        if content_type in ("message/rfc822", "message/global") or part.is_multipart():
            # A forwarded or bounced message stays whole, as an .eml the agent can open.
            inner = part.get_payload()
            message = (
                inner[0]
                if isinstance(inner, list) and inner and isinstance(inner[0], Message)
                else None
            )
            data = message.as_bytes() if isinstance(message, Message) else _part_bytes(part)
            subject = hdr.text(str(message.get("Subject", ""))) if message is not None else ""
            name = _filename(part) or (re.sub(r"[^\w .-]+", "_", subject)[:80].strip() or "message")
            self.attach(
                part, data, "message/rfc822", name if name.endswith(".eml") else name + ".eml"
            )
            return
        data = _part_bytes(part)
        if content_type.startswith("multipart/"):
            # A multipart without a usable boundary: its payload is the only content there is.
            if data.strip():
                self.texts.append(decode_bytes(data, part.get_content_charset()))
            return
        disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
        named = bool(_filename(part))
        if (
            content_type in ("text/plain", "text/html")
            and disposition != "attachment"
            and not named
        ):
            decoded = decode_bytes(data, part.get_content_charset())
            (self.texts if content_type == "text/plain" else self.htmls).append(decoded)
            return
        if content_type == "text/rfc822-headers":
            self.attach(part, data, content_type, _filename(part) or "original-headers.txt")
            return
        self.attach(part, data, content_type)

    def alternative(self, parts: list[Message]) -> None:
        """Take the best body of each kind; other alternatives (text/enriched…) stay attached."""
        plain = [p for p in parts if p.get_content_type() == "text/plain"]
        html = [p for p in parts if p.get_content_type() == "text/html"]
        nested = [p for p in parts if p.is_multipart()]
        for part in plain[:1] + html[:1] + nested:
            self.visit(part)
        if not plain and not html and not nested:
            for part in parts:
                self.visit(part)


def _auto_reply(msg: Message, inbox_address: str) -> str:
    submitted = _first(msg, "Auto-Submitted").strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    if _first(msg, "X-Autoreply").strip().lower() == "yes":
        return "X-Autoreply: yes"
    if msg.get("X-Autorespond") is not None:
        return "X-Autorespond"
    precedence = _first(msg, "Precedence").strip().lower()
    if precedence in _PRECEDENCE_AUTO:
        return f"Precedence: {precedence}"
    if _first(msg, "X-Auto-Response-Suppress").strip().lower() == "all":
        return "X-Auto-Response-Suppress: All"
    loops = " ".join(_all(msg, "X-Loop")).lower()
    if inbox_address and inbox_address.lower() in loops:
        return "X-Loop"
    return ""


def parse(raw: bytes, inbox_address: str = "") -> ParsedEmail:
    """Parse one message. Never fails on malformed MIME; may raise only on truly broken input."""
    msg = message_from_bytes(raw, policy=compat32)
    ids = hdr.message_ids(_first(msg, "Message-ID"))
    walker = _Walker()
    walker.visit(msg)
    html_raw = "\n".join(walker.htmls)
    text = "\n\n".join(t.strip("\n") for t in walker.texts if t.strip())
    if not text and html_raw:
        text = html_to_text(html_raw)
    senders = (
        hdr.addresses(_all(msg, "From"))
        or hdr.addresses(_all(msg, "Sender"))
        or hdr.addresses(_all(msg, "Reply-To"))
        or hdr.addresses(_all(msg, "Return-Path"))
    )
    name, address = senders[0] if senders else ("", "")
    precedence = _first(msg, "Precedence").strip().lower()
    extra_recipients = [
        a
        for _, a in hdr.addresses(
            _all(msg, "Delivered-To") + _all(msg, "X-Original-To") + _all(msg, "Envelope-To")
        )
    ]
    return ParsedEmail(
        message_id=ids[0] if ids else content_hash_id(raw),
        has_message_id=bool(ids),
        in_reply_to=hdr.message_ids(_first(msg, "In-Reply-To")),
        references=hdr.message_ids(" ".join(_all(msg, "References"))),
        subject=hdr.text(_first(msg, "Subject")),
        from_name=name,
        from_address=address,
        to=hdr.addresses(_all(msg, "To")),
        cc=hdr.addresses(_all(msg, "Cc")),
        recipients_extra=extra_recipients,
        date=hdr.date(_first(msg, "Date")),
        text=text,
        html=sanitise_html(html_raw),
        attachments=walker.attachments,
        auto_reply=_auto_reply(msg, inbox_address),
        bulk=precedence in ("bulk", "list", "junk")
        or msg.get("List-Id") is not None
        or msg.get("List-Unsubscribe") is not None,
        x_loop=_all(msg, "X-Loop"),
        bounce=detect_bounce(msg),
        defects=len(msg.defects) + sum(len(p.defects) for p in msg.walk() if p is not msg),
        raw_from=hdr.text(_first(msg, "From")),
    )


def split(parsed: ParsedEmail) -> tuple[str, str, str]:
    """(new text, signature, quoted history) of a parsed message."""
    result = split_reply(parsed.text)
    return result.text, result.signature, result.quoted
