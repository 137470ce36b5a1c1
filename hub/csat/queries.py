"""Reading answers: the list (newest first, keyset pages) and one conversation's answer."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

import asyncpg
import msgspec

from hub.db.engine import connection_pool


class InvalidQuery(ValueError):
    pass


class Filters(msgspec.Struct, frozen=True, kw_only=True):
    since: dt.datetime | None = None  # answered at or after
    until: dt.datetime | None = None  # answered before
    inbox_id: int | None = None
    rating: list[int] = []


_FIELDS = (
    "r.conversation AS conversation_id, c.ref AS conversation_ref, r.inbox AS inbox_id,"
    " r.survey AS survey_id, r.rating, r.comment, r.via, r.answers, r.created_at, r.updated_at,"
    " c.contact AS contact_id, ct.name AS contact_name, c.assignee AS assignee_id,"
    " c.team AS team_id"
)
_FROM = (
    " FROM csat_response r JOIN conversation c ON c.id = r.conversation"
    " JOIN contact ct ON ct.id = c.contact"
)


def _view(row: asyncpg.Record) -> dict[str, Any]:
    view = dict(row)
    for key in ("created_at", "updated_at"):
        view[key] = view[key].isoformat()
    return view


def encode_cursor(updated_at: str, conversation_id: int) -> str:
    return base64.urlsafe_b64encode(f"{updated_at}|{conversation_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, conversation = raw.partition("|")
        return dt.datetime.fromisoformat(at), int(conversation)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidQuery("cursor is not one this API returned") from None


def _where(
    filters: Filters, visible_inboxes: list[int] | None, cursor: str | None = None
) -> tuple[str, list[Any]]:
    if any(not 1 <= r <= 5 for r in filters.rating):
        raise InvalidQuery("rating must be from 1 to 5")
    args: list[Any] = []
    where: list[str] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if visible_inboxes is not None:
        where.append(f"r.inbox = ANY({arg(visible_inboxes)}::int[])")
    if filters.inbox_id is not None:
        where.append(f"r.inbox = {arg(filters.inbox_id)}")
    if filters.rating:
        where.append(f"r.rating = ANY({arg(filters.rating)}::int[])")
    if filters.since is not None:
        where.append(f"r.updated_at >= {arg(filters.since)}")
    if filters.until is not None:
        where.append(f"r.updated_at < {arg(filters.until)}")
    if cursor:
        at, last = decode_cursor(cursor)
        where.append(f"(r.updated_at, r.conversation) < ({arg(at)}, {arg(last)})")
    return (" WHERE " + " AND ".join(where)) if where else "", args


async def list_responses(
    filters: Filters, *, visible_inboxes: list[int] | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Answers the reader may see, newest answer first; (items, next cursor)."""
    clause, args = _where(filters, visible_inboxes, cursor)
    rows = await connection_pool().fetch(
        f"SELECT {_FIELDS}{_FROM}{clause} ORDER BY r.updated_at DESC, r.conversation DESC"
        f" LIMIT ${len(args) + 1}",
        *args,
        limit + 1,
    )
    items = [_view(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last_row = rows[limit - 1]
        next_cursor = encode_cursor(last_row["updated_at"].isoformat(), last_row["conversation_id"])
    return items, next_cursor


async def summary(filters: Filters, *, visible_inboxes: list[int] | None) -> dict[str, Any]:
    """Over the same answers: how many, the average, and the CSAT score (the share of 4s and 5s,
    in percent)."""
    clause, args = _where(filters, visible_inboxes)
    row = await connection_pool().fetchrow(
        "SELECT count(*) AS count, round(avg(r.rating), 2)::float AS average,"
        " round(100.0 * count(*) FILTER (WHERE r.rating >= 4) / nullif(count(*), 0), 1)::float"
        f" AS score FROM csat_response r{clause}",
        *args,
    )
    assert row is not None
    return dict(row)


async def for_conversation(conversation_id: int) -> dict[str, Any] | None:
    """The conversation's answer and its latest survey's state (None: never surveyed), in one
    query (the conversation page counts its queries)."""
    raw = await connection_pool().fetchval(
        "SELECT CASE WHEN s.id IS NULL AND r.rating IS NULL THEN NULL ELSE jsonb_build_object("
        "'survey', CASE WHEN s.id IS NULL THEN NULL ELSE jsonb_build_object('id', s.id, 'status',"
        " s.status, 'due_at', s.due_at, 'sent_at', s.sent_at, 'expires_at', s.expires_at) END,"
        " 'response', CASE WHEN r.rating IS NULL THEN NULL ELSE jsonb_build_object('rating',"
        " r.rating, 'comment', r.comment, 'via', r.via, 'answers', r.answers, 'created_at',"
        " r.created_at, 'updated_at', r.updated_at) END) END"
        " FROM (SELECT 1) one"
        " LEFT JOIN LATERAL (SELECT * FROM csat_survey WHERE conversation = $1"
        " ORDER BY id DESC LIMIT 1) s ON true"
        " LEFT JOIN csat_response r ON r.conversation = $1",
        conversation_id,
    )
    if raw is None:
        return None
    result: dict[str, Any] = msgspec.json.decode(raw)
    return result
