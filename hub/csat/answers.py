"""Storing an answer: one per conversation, replaced by a later one within the survey's window.

Every way of answering (the signed page, a Telegram button, a WhatsApp list reply or a bare
digit, the widget card, the API channel's endpoint) ends here. The answer leaves a line in the
conversation's timeline (kind `event`, so it neither reopens the conversation nor counts as
unread) and a `csat.received` event, in one transaction. An identical answer again is a no-op.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from hub.db.engine import connection_pool
from hub.realtime import events
from hub.system import clock

MAX_COMMENT = 2000


class Refused(Exception):
    """The answer cannot be stored; `status` is the HTTP answer that says why."""

    status = 400


class Forged(Refused):
    status = 403


class UnknownSurvey(Refused):
    status = 404


class Closed(Refused):
    status = 410


class Answer(msgspec.Struct, frozen=True):
    survey: int
    conversation: int
    rating: int
    comment: str | None
    replaced: bool
    stored: bool  # False: the same answer again, nothing changed
    message_id: int | None = None  # the timeline line


def clean(rating: object, comment: object) -> tuple[int, str | None]:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise Refused("rating must be a whole number from 1 to 5")
    if comment is not None and not isinstance(comment, str):
        raise Refused("comment must be text")
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise Refused(f"comment is at most {MAX_COMMENT} characters")
    return rating, text or None


async def open_survey(conn: asyncpg.Connection, survey_id: int) -> asyncpg.Record:
    """The survey row (locked), if it can still be answered."""
    row = await conn.fetchrow(
        "SELECT s.*, c.contact FROM csat_survey s JOIN conversation c ON c.id = s.conversation"
        " WHERE s.id = $1 FOR UPDATE OF s",
        survey_id,
    )
    if row is None or row["status"] in ("scheduled", "cancelled", "failed"):
        raise UnknownSurvey("this survey is not open")
    if clock.now() >= row["expires_at"]:
        raise Closed("this survey closed: answers are accepted for a limited time")
    newer = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM csat_survey WHERE conversation = $1 AND id > $2"
        " AND status = 'sent')",
        row["conversation"],
        survey_id,
    )
    if newer:
        raise Closed("a newer survey replaced this one")
    return row


def _line(rating: int, comment: str | None, replaced: bool) -> str:
    said = f": “{comment}”" if comment else ""
    verb = "changed their rating to" if replaced else "rated the conversation"
    return f"Customer {verb} {rating}/5{said}"


async def record(
    survey_id: int,
    rating: object,
    comment: object = None,
    *,
    via: str,
    contact_id: int | None = None,
    provider_message_id: str | None = None,
) -> Answer:
    """Store an answer to an open survey. `contact_id`, when given, must be the conversation's
    contact (a channel answer names who answered); the signed link is its own proof."""
    value, text = clean(rating, comment)
    async with connection_pool().acquire() as conn, conn.transaction():
        survey = await open_survey(conn, survey_id)
        if contact_id is not None and contact_id != survey["contact"]:
            raise Forged("this survey was sent to someone else")
        previous = await conn.fetchrow(
            "SELECT survey, rating, comment FROM csat_response WHERE conversation = $1 FOR UPDATE",
            survey["conversation"],
        )
        if previous is not None and (
            previous["survey"],
            previous["rating"],
            previous["comment"],
        ) == (
            survey_id,
            value,
            text,
        ):
            line = await conn.fetchval(
                "SELECT id FROM message WHERE conversation = $1 AND kind = 'event'"
                " AND meta ? 'csat' ORDER BY id DESC LIMIT 1",
                survey["conversation"],
            )
            return Answer(survey_id, survey["conversation"], value, text, False, False, line)
        replaced = previous is not None
        await conn.execute(
            "INSERT INTO csat_response (conversation, survey, inbox, rating, comment, via)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (conversation) DO UPDATE SET"
            " survey = $2, rating = $4, comment = $5, via = $6,"
            " answers = csat_response.answers + 1, updated_at = now()",
            survey["conversation"],
            survey_id,
            survey["inbox"],
            value,
            text,
            via,
        )
        emitted, message_id = await _announce(
            conn, survey, value, text, replaced, via, provider_message_id
        )
    await events.publish(emitted)
    return Answer(survey_id, survey["conversation"], value, text, replaced, True, message_id)


async def _announce(
    conn: asyncpg.Connection,
    survey: asyncpg.Record,
    rating: int,
    comment: str | None,
    replaced: bool,
    via: str,
    provider_message_id: str | None,
) -> tuple[list[events.Event], int]:
    data: dict[str, Any] = {
        "rating": rating,
        "comment": comment,
        "replaced": replaced,
        "survey": survey["id"],
        "via": via,
    }
    message_id = await conn.fetchval(
        "INSERT INTO message (conversation, inbox, kind, direction, author_type, author_id, text,"
        " html, status, error, attempts, meta, provider_message_id, created_at, updated_at)"
        " VALUES ($1, $2, 'event', NULL, 'contact', $3, $4, '', 'received', '', 0, $5::jsonb, $6,"
        " now(), now()) RETURNING id",
        survey["conversation"],
        survey["inbox"],
        survey["contact"],
        _line(rating, comment, replaced),
        msgspec.json.encode({"csat": data}).decode(),
        provider_message_id,
    )
    message = msgspec.json.decode(await conn.fetchval("SELECT hub_message_json($1)", message_id))
    base = {"conversation": survey["conversation"], "inbox": survey["inbox"]}
    pending = [{**base, "type": "message.created", "data": message}]
    if survey["message"] is not None:
        # The survey message shows its answer (the widget's card is drawn from it).
        await conn.execute(
            "UPDATE message SET meta = jsonb_set(meta, '{csat,rating}', to_jsonb($2::int)),"
            " updated_at = now() WHERE id = $1",
            survey["message"],
            rating,
        )
        shown = await conn.fetchval("SELECT hub_message_json($1)", survey["message"])
        pending.append({**base, "type": "message.updated", "data": msgspec.json.decode(shown)})
    pending.append({**base, "type": "csat.received", "data": data})
    emitted = await events.emit(
        conn,
        pending,
        actor_type="contact",
        actor_id=survey["contact"],
    )
    return emitted, int(message_id)


async def survey_inbox(survey_id: int) -> int | None:
    inbox = await connection_pool().fetchval(
        "SELECT inbox FROM csat_survey WHERE id = $1", survey_id
    )
    return int(inbox) if inbox is not None else None
