"""A conversation's transcript as plain text or a standalone HTML page (messages and notes)."""

from __future__ import annotations

import datetime as dt
import html
import zoneinfo
from typing import Any

from hub.auth.access import NotFound
from hub.db.engine import connection_pool

_MESSAGES = (
    "SELECT m.kind, m.direction, m.author_type, m.text, m.created_at,"
    " CASE m.author_type WHEN 'contact' THEN ct.name WHEN 'agent' THEN a.name ELSE 'Hub' END"
    " AS author,"
    " (SELECT count(*) FROM attachment x WHERE x.message = m.id) AS attachments"
    " FROM message m LEFT JOIN contact ct ON m.author_type = 'contact' AND ct.id = m.author_id"
    " LEFT JOIN agent a ON m.author_type = 'agent' AND a.id = m.author_id"
    " WHERE m.conversation = $1 ORDER BY m.created_at, m.id"
)


async def load(conversation_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with connection_pool().acquire() as conn:
        head = await conn.fetchrow(
            "SELECT c.id, c.ref, c.subject, c.status, c.created_at, i.name AS inbox,"
            " i.channel, ct.name AS contact FROM conversation c JOIN inbox i ON i.id = c.inbox"
            " JOIN contact ct ON ct.id = c.contact WHERE c.id = $1",
            conversation_id,
        )
        if head is None:
            raise NotFound(f"no conversation {conversation_id}")
        rows = await conn.fetch(_MESSAGES, conversation_id)
    return dict(head), [dict(r) for r in rows]


def _when(at: dt.datetime, tz: str) -> str:
    return at.astimezone(zoneinfo.ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _label(m: dict[str, Any]) -> str:
    if m["kind"] == "note":
        return f"{m['author']} (private note)"
    if m["kind"] == "event":
        return "·"
    return str(m["author"] or m["author_type"])


def _title(head: dict[str, Any]) -> str:
    return f"Conversation #{head['ref']}: {head['subject'] or '(no subject)'}"


def as_text(head: dict[str, Any], messages: list[dict[str, Any]], tz: str) -> str:
    lines = [
        _title(head),
        f"{head['contact']} · {head['inbox']} ({head['channel']}) · {head['status']}"
        f" · started {_when(head['created_at'], tz)} {tz}",
        "",
    ]
    for m in messages:
        files = f" [{m['attachments']} attachment(s)]" if m["attachments"] else ""
        lines.append(f"[{_when(m['created_at'], tz)}] {_label(m)}: {m['text']}{files}")
    return "\n".join(lines) + "\n"


def as_html(head: dict[str, Any], messages: list[dict[str, Any]], tz: str) -> str:
    e = html.escape
    items = []
    for m in messages:
        kind = m["kind"] if m["kind"] != "message" else f"message {m['direction'] or ''}"
        files = f"<small> · {m['attachments']} attachment(s)</small>" if m["attachments"] else ""
        items.append(
            f'<li class="{e(kind)}"><time>{e(_when(m["created_at"], tz))}</time>'
            f" <b>{e(_label(m))}</b>{files}<p>{e(m['text'] or '')}</p></li>"
        )
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        f"<title>{e(_title(head))}</title><style>"
        "body{font:14px/1.45 system-ui,sans-serif;max-width:48rem;margin:2rem auto;color:#222}"
        "ol{list-style:none;padding:0}li{margin:.6rem 0;padding:.5rem .8rem;border-radius:6px;"
        "background:#f3f4f6}li.out{background:#e0edff}li.note{background:#fff6d5}"
        "li.event{background:none;color:#666;font-size:12px}p{margin:.2rem 0 0;white-space:pre-wrap}"
        "time{color:#666;font-size:12px}</style>"
        f"<h1>{e(_title(head))}</h1><p>{e(head['contact'])} · {e(head['inbox'])}"
        f" ({e(head['channel'])}) · {e(head['status'])} · started"
        f" {e(_when(head['created_at'], tz))} {e(tz)}</p><ol>{''.join(items)}</ol></html>\n"
    )
