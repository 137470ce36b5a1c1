"""The conversation list: filters, search under a time limit, keyset pages, one conversation and its timeline."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import msgspec

from hub.auth.access import NotFound
from hub.auth.accounts import AgentInfo
from hub.conversations import search
from hub.conversations.lifecycle import InvalidChange, Priority, Status
from hub.db.engine import connection_pool
from hub.system import clock


class ListFilters(msgspec.Struct, kw_only=True):
    status: list[str] = []
    inbox_id: int | None = None
    channel: str | None = None
    assignee: int | str | None = None  # agent id, "me" or "none"
    team_id: int | None = None
    tag: str | None = None
    priority: str | None = None
    contact_id: int | None = None
    q: str | None = None
    sla: str | None = None  # at_risk | breached
    sort: str = "recent"  # recent (newest activity first) | sla_due (nearest deadline first)


def encode_cursor(last_message_at: str, conversation_id: int) -> str:
    return (
        base64.urlsafe_b64encode(f"{last_message_at}|{conversation_id}".encode())
        .decode()
        .rstrip("=")
    )


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, conversation_id = raw.rsplit("|", 1)
        return dt.datetime.fromisoformat(at), int(conversation_id)
    except (ValueError, UnicodeDecodeError):
        raise InvalidChange("cursor is not one this API returned") from None


def filter_conditions(
    filters: ListFilters,
    *,
    agent: AgentInfo,
    visible_inboxes: Sequence[int] | None,
    arg: Callable[[Any], str],
) -> list[str]:
    """SQL conditions on `conversation c` for every list filter except search and the cursor.

    `arg` adds a bind parameter and returns its placeholder. Shared by every list ordering.
    """
    where: list[str] = []
    for status in filters.status:
        if status not in Status.__members__.values():
            raise InvalidChange(f"status must be one of {', '.join(Status)}")
    if len(filters.status) == 1:
        # `= ANY('{open}')` keeps the (status, last_message_at, id) index from returning rows in order.
        where.append(f"c.status = {arg(filters.status[0])}")
    elif filters.status:
        where.append(f"c.status = ANY({arg(list(filters.status))}::text[])")
    if visible_inboxes is not None:
        where.append(f"c.inbox = ANY({arg(list(visible_inboxes))}::int[])")
    if filters.inbox_id is not None:
        where.append(f"c.inbox = {arg(filters.inbox_id)}")
    if filters.channel:
        where.append(f"c.inbox IN (SELECT id FROM inbox WHERE channel = {arg(filters.channel)})")
    if filters.assignee == "me":
        where.append(f"c.assignee = {arg(agent.id)}")
    elif filters.assignee == "none":
        where.append("c.assignee IS NULL")
    elif filters.assignee is not None:
        try:
            where.append(f"c.assignee = {arg(int(filters.assignee))}")
        except ValueError:
            raise InvalidChange("assignee_id must be an agent id, 'me' or 'none'") from None
    if filters.team_id is not None:
        where.append(f"c.team = {arg(filters.team_id)}")
    if filters.priority:
        if filters.priority not in Priority.__members__.values():
            raise InvalidChange(f"priority must be one of {', '.join(Priority)}")
        where.append(f"c.priority = {arg(filters.priority)}")
    if filters.contact_id is not None:
        where.append(f"c.contact = {arg(filters.contact_id)}")
    if filters.sla is not None:
        now = arg(clock.now())
        if filters.sla == "at_risk":
            # Inside a warning window and not yet due: the nearest warning has passed, the
            # nearest deadline has not (hub.sla.engine keeps both over the running targets).
            # The set is small by nature, so it is found first from the warning index; left to
            # the planner, an ordered walk of every deadline looked for matches that were not
            # there (90 ms at 50,000 deadlines for an agent with nothing at risk).
            where.append(
                f"c.id = ANY(ARRAY(SELECT r.id FROM conversation r WHERE r.sla_warn_at <= {now}"
                f" AND r.sla_due_at > {now}))"
            )
        elif filters.sla == "breached":
            where.append(
                f"(c.sla_due_at <= {now} OR (c.sla_breached_at IS NOT NULL"
                " AND c.status IN ('open', 'pending', 'snoozed')))"
            )
        else:
            raise InvalidChange("sla must be at_risk or breached")
    if filters.tag:
        # The tag's id looked up first (one row), so the planner sees `x.tag = <id>` rather than
        # a join by name; the rare-tag view went 51 -> 28 ms p95 at 1M conversations.
        where.append(
            "c.id IN (SELECT x.conversation FROM conversation_tag x WHERE x.tag ="
            f" (SELECT t.id FROM tag t WHERE t.name = {arg(filters.tag.strip().lower())}))"
        )
    return where


async def list_conversations(
    filters: ListFilters,
    *,
    agent: AgentInfo,
    visible_inboxes: Sequence[int] | None,
    limit: int = 25,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page, newest activity first; returns (items, next cursor)."""
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = filter_conditions(filters, agent=agent, visible_inboxes=visible_inboxes, arg=arg)
    if filters.sort not in ("recent", "sla_due"):
        raise InvalidChange("sort must be recent or sla_due")
    # The column the page is ordered and keyed by: newest activity, or the nearest deadline
    # (only conversations with a running SLA target have one).
    key, direction, before = (
        ("last_message_at", "DESC", "<") if filters.sort == "recent" else ("sla_due_at", "", ">")
    )
    if filters.sort == "sla_due":
        where.append("c.sla_due_at IS NOT NULL")
    if cursor:
        at, last_id = decode_cursor(cursor)
        where.append(f"(c.{key}, c.id) {before} ({arg(at)}, {arg(last_id)})")
    limit = max(1, min(limit, 100))
    order = f"ORDER BY c.{key} {direction}, c.id {direction}"
    query = search.parse(filters.q) if filters.q and filters.q.strip() else None

    if query is not None:
        view = search.OrderedView(
            where=where, args=args, order=f"c.{key} {direction}, c.id {direction}", key=f"c.{key}"
        )
        scope = search.Scope.of(visible_inboxes, filters.inbox_id, filters.channel)
        async with connection_pool().acquire() as conn, conn.transaction():
            await search.prepare(conn)
            try:
                found = await search.find(conn, view, query, scope, limit + 1)
                rows = await page_rows(conn, [int(r["id"]) for r in found], query)
            except asyncpg.QueryCanceledError:
                raise search.timed_out() from None
        keys = [r["key"] for r in found]
    else:
        page = arg(limit + 1)
        conditions = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await connection_pool().fetch(
            f"SELECT {ITEM_SQL.format(c='c.id')} AS item, c.{key} AS key, c.id FROM"
            f" (SELECT c.id, c.{key} FROM conversation c {conditions} {order} LIMIT {page}) c"
            f" {order}",
            *args,
        )
        keys = [r["key"] for r in rows]
    items = [item(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(keys[limit - 1].isoformat(), int(rows[limit - 1]["id"]))
    return items, next_cursor


# One list item: the conversation's JSON and a preview of its newest message.
ITEM_SQL = (
    "hub_conversation_json({c}) || jsonb_build_object('preview', "
    "(SELECT left(m.text, 140) FROM message m WHERE m.conversation = {c} AND m.kind = 'message'"
    " ORDER BY m.id DESC LIMIT 1))"
)


async def page_rows(
    conn: asyncpg.Connection, ids: list[int], query: search.SearchQuery | None
) -> list[asyncpg.Record]:
    """The items of a page found by id, in that order, with the search's highlight if any."""
    if not ids:
        return []
    args: list[Any] = [ids]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    highlight = search.headline_sql(query, arg, "p.id") if query is not None else "NULL::jsonb"
    return list(
        await conn.fetch(
            f"SELECT {ITEM_SQL.format(c='p.id')} AS item, {highlight} AS highlight, p.id"
            " FROM unnest($1::int[]) WITH ORDINALITY AS p (id, n) ORDER BY p.n",
            *args,
        )
    )


def item(row: asyncpg.Record) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.json.decode(row["item"])
    highlight = row.get("highlight")
    if highlight is not None:
        result["highlight"] = search.highlight_parts(msgspec.json.decode(highlight))
    return result


async def get_conversation(conversation_id: int) -> dict[str, Any]:

    raw = await connection_pool().fetchval("SELECT hub_conversation_json($1)", conversation_id)
    if raw is None:
        raise NotFound(f"no conversation {conversation_id}")
    result: dict[str, Any] = msgspec.json.decode(raw)
    return result


async def list_messages(
    conversation_id: int, *, before: int | None = None, after: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The timeline oldest first; `before`/`after` page through long histories by message id."""
    limit = max(1, min(limit, 500))
    if before is not None:
        sql = (
            "SELECT hub_message_json(id) AS m FROM (SELECT id FROM message WHERE conversation = $1 AND id < $2"
            " ORDER BY id DESC LIMIT $3) x ORDER BY id"
        )
        rows = await connection_pool().fetch(sql, conversation_id, before, limit)
    else:
        sql = "SELECT hub_message_json(id) AS m FROM message WHERE conversation = $1 AND id > $2 ORDER BY id LIMIT $3"
        rows = await connection_pool().fetch(sql, conversation_id, after or 0, limit)
    return [msgspec.json.decode(r["m"]) for r in rows]
