"""The demo's CSAT: surveys on in the demo inboxes, and answered surveys on resolved
conversations (with their events), so the conversation page and the reports show a score.

The answered conversations are made here with plain SQL, each with a customer message, an
agent's reply, the survey message and its answer, as the live path leaves them.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from hub.csat import tokens
from hub.csat.settings import DEFAULT_QUESTION
from hub.db.engine import connection_pool
from hub.realtime import events
from hub.system.services import current

# (inbox position in hub.demo.seed.INBOXES, contact, identity kind, address, customer says,
#  agent says, rating, comment, days ago)
ANSWERED: list[tuple[int, str, str, str, str, str, int, str | None, int]] = [
    (
        0,
        "Jonas Berg",
        "email",
        "jonas.berg@example.org",
        "My invoice shows the wrong plan.",
        "Fixed: the credit is on your next invoice.",
        5,
        "Quick and friendly, thanks!",
        6,
    ),
    (
        1,
        "Maria Rossi",
        "phone",
        "+393401234567",
        "No internet since the storm.",
        "A technician replaced the street cabinet fuse; you should be back online.",
        4,
        None,
        4,
    ),
    (
        2,
        "Tomás Silva",
        "telegram",
        "551234987",
        "How do I change my Wi-Fi password?",
        "Open http://192.168.1.1 → Wireless → Security and set a new one.",
        3,
        "Worked, but it took two tries to find the page.",
        2,
    ),
    (
        0,
        "Grace Okafor",
        "email",
        "grace.okafor@example.com",
        "Moving house next month.",
        "Your connection moves with you on the 15th; no fee.",
        2,
        "I had to explain my address three times.",
        1,
    ),
]


async def seed_demo_csat(inbox_ids: list[int]) -> None:
    """CSAT on for every demo inbox (the widget's with no delay, so a demo resolution shows the
    card at once), and the answered conversations above."""
    async with connection_pool().acquire() as conn, conn.transaction():
        for position, inbox in enumerate(inbox_ids):
            await conn.execute(
                "INSERT INTO csat_setting (inbox, enabled, delay_minutes) VALUES ($1, true, $2)"
                " ON CONFLICT (inbox) DO NOTHING",
                inbox,
                0 if position == 3 else 30,
            )
        pending = []
        for entry in ANSWERED:
            pending += await _answered(conn, inbox_ids, *entry)
        emitted = await events.emit(conn, pending)
    await events.publish(emitted)


async def _answered(
    conn: asyncpg.Connection,
    inbox_ids: list[int],
    position: int,
    name: str,
    kind: str,
    address: str,
    said: str,
    answer: str,
    rating: int,
    comment: str | None,
    days: int,
) -> list[dict[str, object]]:
    inbox = inbox_ids[position]
    at = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    contact = await conn.fetchval("INSERT INTO contact (name) VALUES ($1) RETURNING id", name)
    await conn.execute(
        "INSERT INTO contact_identity (contact, kind, address, verified) VALUES ($1, $2, $3, true)",
        contact,
        kind,
        address,
    )
    conversation = await conn.fetchval(
        "INSERT INTO conversation (inbox, contact, status, priority, subject, created_at,"
        " updated_at, last_message_at, last_inbound_at, first_reply_at, resolved_at, team)"
        " VALUES ($1, $2, 'resolved', 'none', '', $3, $4, $4, $3, $5, $4,"
        " (SELECT team FROM inbox WHERE id = $1)) RETURNING id",
        inbox,
        contact,
        at,
        at + dt.timedelta(hours=3),
        at + dt.timedelta(minutes=20),
    )
    agent = await conn.fetchval("SELECT min(id) FROM agent")
    lines = [("in", "contact", contact, said, at), ("out", "agent", agent, answer, at)]
    for n, (direction, author, author_id, text, when) in enumerate(lines):
        await conn.execute(
            "INSERT INTO message (conversation, inbox, kind, direction, author_type, author_id,"
            " text, html, status, error, attempts, meta, provider_message_id, created_at,"
            " updated_at) VALUES ($1, $2, 'message', $3, $4, $5, $6, '', $7, '', 0, '{}', $8,"
            " $9, $9)",
            conversation,
            inbox,
            direction,
            author,
            author_id,
            text,
            "received" if direction == "in" else "sent",
            f"demo-csat-{conversation}-{n}",
            when + dt.timedelta(minutes=20 * n),
        )
    sent = at + dt.timedelta(hours=3, minutes=30)
    # No resolution event exists for a conversation made resolved: the negated conversation id
    # keeps the unique key (real event ids are positive).
    survey = await conn.fetchval(
        "INSERT INTO csat_survey (conversation, inbox, resolution_event, status, due_at, sent_at,"
        " expires_at, question) VALUES ($1, $2, -($1::int)::bigint, 'sent', $3, $3, $4, $5) RETURNING id",
        conversation,
        inbox,
        sent,
        sent + dt.timedelta(days=7),
        DEFAULT_QUESTION,
    )
    settings = current().settings
    meta = {
        "csat": {
            "survey": survey,
            "question": DEFAULT_QUESTION,
            "link": tokens.link(settings.public_url, settings.secret_key, survey),
            "rating": rating,
        }
    }
    message = await conn.fetchval(
        "INSERT INTO message (conversation, inbox, kind, direction, author_type, text, html,"
        " status, error, attempts, meta, created_at, updated_at) VALUES ($1, $2, 'message', 'out',"
        " 'system', $3, '', 'sent', '', 1, $4::jsonb, $5, $5) RETURNING id",
        conversation,
        inbox,
        DEFAULT_QUESTION,
        msgspec.json.encode(meta).decode(),
        sent,
    )
    await conn.execute("UPDATE csat_survey SET message = $2 WHERE id = $1", survey, message)
    await conn.execute(
        "INSERT INTO csat_response (conversation, survey, inbox, rating, comment, via, created_at,"
        " updated_at) VALUES ($1, $2, $3, $4, $5, 'link', $6, $6)",
        conversation,
        survey,
        inbox,
        rating,
        comment,
        sent + dt.timedelta(hours=1),
    )
    said_line = f": “{comment}”" if comment else ""
    data = {
        "rating": rating,
        "comment": comment,
        "replaced": False,
        "survey": survey,
        "via": "link",
    }
    await conn.execute(
        "INSERT INTO message (conversation, inbox, kind, author_type, author_id, text, html,"
        " status, error, attempts, meta, created_at, updated_at) VALUES ($1, $2, 'event',"
        " 'contact', $3, $4, '', 'received', '', 0, $5::jsonb, $6, $6)",
        conversation,
        inbox,
        contact,
        f"Customer rated the conversation {rating}/5{said_line}",
        msgspec.json.encode({"csat": data}).decode(),
        sent + dt.timedelta(hours=1),
    )
    base = {"conversation": conversation, "inbox": inbox}
    shown = [
        await conn.fetchval("SELECT hub_message_json($1)", m["id"])
        for m in await conn.fetch(
            "SELECT id FROM message WHERE conversation = $1 ORDER BY id", conversation
        )
    ]
    return [
        {
            **base,
            "type": "conversation.created",
            "data": msgspec.json.decode(
                await conn.fetchval("SELECT hub_conversation_json($1)", conversation)
            ),
        },
        *({**base, "type": "message.created", "data": msgspec.json.decode(m)} for m in shown),
        {**base, "type": "csat.sent", "data": {"conversation": conversation}},
        {**base, "type": "csat.received", "data": data},
    ]
