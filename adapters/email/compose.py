"""Outgoing mail: one reply as a MIME message with the headers threading depends on."""

from __future__ import annotations

import html
import mimetypes
import re
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, localtime
from pathlib import Path

from adapters.email import survey
from adapters.email.config import EmailConfig
from adapters.email.threading_hints import reply_address
from hub.channels.contract import Outbound
from hub.system.crypto import sign

_REPLY_PREFIX = re.compile(
    r"^\s*((re|aw|sv|fw|fwd|wg|tr|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE
)
_ANY_REF = re.compile(r"\s*\[#\d+\]\s*")


def message_id(conversation_id: int, message_id: int, domain: str, secret_key: str) -> str:
    """Our Message-ID (without <>). Replies and bounces are matched by looking it up among the
    stored provider ids, so it only has to be unique and recognisable. The MAC makes it
    unguessable: a forged In-Reply-To cannot push mail into someone else's conversation by
    counting. It is derived, not random, so a retried send carries the same Message-ID and the
    recipient's mail client sees one message."""
    mac = sign(secret_key, "email-message-id", f"{conversation_id}/{message_id}".encode())[:32]
    return f"conversation/{conversation_id}/messages/{message_id}.{mac}@{domain}"


def subject_for(ref: int, subject: str) -> str:
    """`[#ref] subject` — once, without stacked "Re:" prefixes or stale refs."""
    base = _ANY_REF.sub(" ", _REPLY_PREFIX.sub("", subject or "")).strip()
    return f"[#{ref}] {base}".strip() if base else f"[#{ref}] Your conversation"


def text_to_html(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    body = "".join("<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>\n" for p in paragraphs)
    return f'<!DOCTYPE html><html><body style="font-family: sans-serif">\n{body}</body></html>\n'


def build(
    message: Outbound,
    config: EmailConfig,
    *,
    token: str,
    references: list[str],
    secret_key: str,
    roots: Sequence[str] = (),
    auto_reply: bool = False,
) -> EmailMessage:
    """The reply to send; `references` are provider ids of the conversation, oldest first;
    `roots` the first ids of threads merged into it, which are never cut."""
    mail = EmailMessage(policy=SMTP)
    mail["From"] = formataddr((message.agent_name or "", config.address))
    mail["To"] = formataddr((message.recipient.name, message.recipient.address))
    mail["Subject"] = subject_for(message.conversation_ref, message.subject)
    mail["Date"] = format_datetime(localtime())
    mail["Message-ID"] = (
        f"<{message_id(message.conversation_id, message.message_id, config.domain, secret_key)}>"
    )
    if config.plus_addressing:
        mail["Reply-To"] = reply_address(config.address, token)
    parent = message.reply_to_provider_id
    if parent:
        mail["In-Reply-To"] = f"<{parent}>"
    chain = [r for r in dict.fromkeys([*references, *([parent] if parent else [])]) if r]
    if chain or roots:
        # Long chains are cut from the front: the root and the parent matter most to clients,
        # and so do the roots of merged threads.
        pinned = list(dict.fromkeys([*chain[:1], *roots]))
        rest = [r for r in chain if r not in pinned]
        room = max(20 - len(pinned), 1)
        kept = [*pinned, *rest[-room:]] if len(pinned) + len(rest) > 20 else [*pinned, *rest]
        mail["References"] = " ".join(f"<{r}>" for r in kept)
    mail["X-Loop"] = config.address
    if auto_reply:
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    if message.survey is not None:
        mail.set_content(survey.text(message.survey))
        mail.add_alternative(survey.html_body(message.survey), subtype="html")
    else:
        mail.set_content(message.text or "")
        mail.add_alternative(message.html or text_to_html(message.text or ""), subtype="html")
    for attachment in message.attachments:
        kind = attachment.content_type or mimetypes.guess_type(attachment.filename)[0] or ""
        maintype, _, subtype = kind.partition("/")
        if not subtype:
            maintype, subtype = "application", "octet-stream"
        mail.add_attachment(
            Path(attachment.path).read_bytes(),
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
        )
    return mail
