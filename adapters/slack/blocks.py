"""The Block Kit message for one notification (docs/notifications.md shows the wire format)."""

from __future__ import annotations

from typing import Any

_ICONS = {
    "conversation_created": ":incoming_envelope:",
    "message": ":speech_balloon:",
    "assigned": ":bust_in_silhouette:",
    "sla_warning": ":warning:",
    "sla_breached": ":rotating_light:",
}


def _escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(note: dict[str, Any]) -> dict[str, Any]:
    """`text` (the notification fallback) and `blocks` for chat.postMessage or a webhook."""
    icon = _ICONS.get(str(note.get("kind")), ":bell:")
    title = _escape(str(note.get("title") or ""))
    text = f"{icon} {title}"
    if note.get("mention_channel"):
        text = f"<!channel> {text}"
    fields = [
        {"type": "mrkdwn", "text": f"*Ref*\n#{note.get('ref')}"},
        {"type": "mrkdwn", "text": f"*Priority*\n{_escape(str(note.get('priority') or 'none'))}"},
        {"type": "mrkdwn", "text": f"*Customer*\n{_escape(str(note.get('customer') or '-'))}"},
        {"type": "mrkdwn", "text": f"*Subject*\n{_escape(str(note.get('subject') or '-'))}"},
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "section", "fields": fields},
    ]
    if note.get("body"):
        body = _escape(str(note["body"]))[:2900]  # a section's text is capped at 3000 characters
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": body}]})
    if note.get("url"):
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open conversation"},
                        "url": str(note["url"]),
                    }
                ],
            }
        )
    return {"text": text, "blocks": blocks}
