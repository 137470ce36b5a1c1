"""The `email` notifier: an agent's notification digest, sent through the hub's SMTP settings
(HUB_SMTP_*), not an inbox's."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from html import escape
from typing import Any

from adapters.email.config import EmailConfig
from adapters.email.smtp import send


def compose(smtp: dict[str, Any], to: str, name: str, items: list[dict[str, Any]]) -> EmailMessage:
    count = len(items)
    mail = EmailMessage()
    mail["From"] = formataddr(("Hub", smtp["from"]))
    mail["To"] = formataddr((name, to))
    mail["Subject"] = f"[Hub] {count} new notification{'s' if count != 1 else ''}"
    mail["Message-ID"] = make_msgid(domain=smtp["from"].split("@", 1)[1])
    # Mail from a robot: auto-responders should not answer it.
    mail["Auto-Submitted"] = "auto-generated"
    base = smtp["public_url"]

    def link(item: dict[str, Any]) -> str:
        cid = item.get("conversation_id")
        return f"{base}/inbox/conversations/{cid}" if cid else f"{base}/inbox"

    lines = [f"Hello {name},", "", "while you were away:", ""]
    for item in items:
        lines.append(f"- {item['title']}")
        if item.get("body"):
            lines.append(f"  {item['body']}")
        lines.append(f"  {link(item)}")
    lines += ["", f"Change what you are sent: {base}/inbox (notification preferences)."]
    mail.set_content("\n".join(lines))
    rows = "".join(
        f'<li><a href="{escape(link(i))}">{escape(i["title"])}</a>'
        + (f"<br><small>{escape(i['body'])}</small>" if i.get("body") else "")
        + "</li>"
        for i in items
    )
    mail.add_alternative(
        f"<p>Hello {escape(name)},</p><p>while you were away:</p><ul>{rows}</ul>", subtype="html"
    )
    return mail


def _config(smtp: dict[str, Any]) -> EmailConfig:
    return EmailConfig(
        address=smtp["from"],
        smtp_host=smtp["host"],
        smtp_port=int(smtp["port"]),
        smtp_security=smtp["security"],
        smtp_username=smtp["username"],
        smtp_password=smtp["password"],
    )


class DigestMailer:
    async def send_digest(
        self, smtp: dict[str, Any], to: str, name: str, items: list[dict[str, Any]]
    ) -> None:
        await send(compose(smtp, to, name, items), _config(smtp))

    async def send_text(
        self, smtp: dict[str, Any], to: str, name: str, subject: str, text: str
    ) -> None:
        mail = EmailMessage()
        mail["From"] = formataddr(("Hub", smtp["from"]))
        mail["To"] = formataddr((name, to))
        mail["Subject"] = subject
        mail["Message-ID"] = make_msgid(domain=smtp["from"].split("@", 1)[1])
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(text)
        await send(mail, _config(smtp))
