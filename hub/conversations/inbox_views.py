"""Read models for the agent inbox pages: one SQL statement each, whatever the number of rows.

The HTML pages reuse `hub.conversations` for the list and the timeline; this module holds what
they need beside it (the navigation with its counts, the contact card, one message, the list by
waiting time). Every function is a single round trip so a page costs a fixed number of queries.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from hub.auth.access import NotFound
from hub.auth.accounts import AgentInfo
from hub.contacts.identities import unverified_email_sql
from hub.conversations import search
from hub.conversations.lifecycle import InvalidChange
from hub.conversations.listing import ITEM_SQL, ListFilters, filter_conditions, item, page_rows
from hub.db.engine import connection_pool

# Counts in the navigation stop at this many ("99+", as badges do): an exact count of 200,000
# open conversations costs a scan of them on every page, and nobody triages differently at
# 23,417 than at 99+. At 1,000 the navigation of an agent with a few inboxes took 20-50 ms on
# the 1M-conversation bench; at 100 it takes about 5.
COUNT_CAP = 100


class Navigation(msgspec.Struct, kw_only=True):
    """The views with their counts of open conversations, and the names the filters offer."""

    mine: int
    unassigned: int
    all: int
    inboxes: list[dict[str, Any]]  # {id, name, channel, team_id, count}
    teams: list[dict[str, Any]]  # {id, name, count}
    agents: list[dict[str, Any]]  # {id, name, availability}
    tags: list[str]
    last_event_id: int


def _navigation_sql(agent_id: int, visible: Sequence[int] | None) -> str:
    """The navigation statement, with the agent and its inboxes written in as integers.

    As parameters they would get one generic plan after a few runs (prepared statements), and
    `inbox = ANY($n)` planned blind serves agents with three inboxes badly; as literals every
    visibility set gets a plan for its own numbers. Only ints are formatted in, never text.
    """
    me = int(agent_id)
    ids = ",".join(str(int(i)) for i in visible) if visible is not None else ""
    seen = "" if visible is None else f" AND c.inbox = ANY('{{{ids}}}'::int[])"

    def capped(where: str) -> str:
        return (
            f"(SELECT count(*) FROM (SELECT 1 FROM conversation c WHERE c.status = 'open'"
            f" AND {where}{seen} LIMIT {COUNT_CAP}) x)"
        )

    inboxes = "i.active" + ("" if visible is None else f" AND i.id = ANY('{{{ids}}}'::int[])")
    teams = (
        "true" if visible is None else f"t.id IN (SELECT team FROM team_member WHERE agent = {me})"
    )
    return f"""
SELECT jsonb_build_object(
  'mine', {capped(f"c.assignee = {me}")},
  'unassigned', {capped("c.assignee IS NULL")},
  'all', {capped("true")},
  'inboxes', coalesce((SELECT jsonb_agg(jsonb_build_object('id', i.id, 'name', i.name,
      'channel', i.channel, 'team_id', i.team, 'count', {capped("c.inbox = i.id")})
      ORDER BY i.name, i.id) FROM inbox i WHERE {inboxes}), '[]'::jsonb),
  'teams', coalesce((SELECT jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name,
      'count', {capped("c.team = t.id")}) ORDER BY t.name) FROM team t WHERE {teams}), '[]'::jsonb),
  'agents', coalesce((SELECT jsonb_agg(jsonb_build_object('id', a.id, 'name', a.name,
      'availability', a.availability) ORDER BY a.name) FROM agent a WHERE a.active), '[]'::jsonb),
  'tags', coalesce((SELECT jsonb_agg(name ORDER BY name)
    FROM (SELECT name FROM tag ORDER BY name LIMIT 300) t), '[]'::jsonb),
  'last_event_id', (SELECT coalesce(max(id), 0) FROM event)
)
"""


async def navigation(agent: AgentInfo, visible: Sequence[int] | None) -> Navigation:
    """Views, counts (capped at COUNT_CAP), and the agents, teams, inboxes and tags to filter by.

    The newest event id comes along: the page reflects the database at least up to it, so the
    live socket resumes from there without a gap.
    """
    raw = await connection_pool().fetchval(_navigation_sql(agent.id, visible))
    return msgspec.json.decode(raw, type=Navigation)


_CONTACT_SQL = f"""
SELECT jsonb_build_object('id', ct.id, 'name', ct.name, 'created_at', ct.created_at,
  'unverified_email', {unverified_email_sql("ct")},
  'identities', coalesce((SELECT jsonb_agg(jsonb_build_object('kind', i.kind, 'address', i.address,
      'verified', i.verified) ORDER BY i.id) FROM contact_identity i WHERE i.contact = ct.id), '[]'::jsonb),
  'conversations', coalesce((SELECT jsonb_agg(to_jsonb(x) ORDER BY x.last_message_at DESC) FROM (
      SELECT cv.id, cv.ref, cv.status, cv.subject, cv.last_message_at, i.name AS inbox_name, i.channel
      FROM conversation cv JOIN inbox i ON i.id = cv.inbox
      WHERE cv.contact = ct.id AND cv.id <> $2 AND ($3::int[] IS NULL OR cv.inbox = ANY($3::int[]))
      ORDER BY cv.last_message_at DESC LIMIT 10) x), '[]'::jsonb))
FROM contact ct WHERE ct.id = $1
"""


async def contact_card(
    contact_id: int, *, current_conversation: int, visible: Sequence[int] | None
) -> dict[str, Any]:
    """The contact, its identities across channels and its other visible conversations (10 newest)."""
    raw = await connection_pool().fetchval(
        _CONTACT_SQL, contact_id, current_conversation, None if visible is None else list(visible)
    )
    if raw is None:
        raise NotFound(f"no contact {contact_id}")
    card: dict[str, Any] = msgspec.json.decode(raw)
    return card


async def message(message_id: int) -> tuple[int, dict[str, Any]]:
    """One timeline item and its inbox (for the access check)."""
    row = await connection_pool().fetchrow(
        "SELECT m.inbox, hub_message_json(m.id) AS m FROM message m WHERE m.id = $1", message_id
    )
    if row is None:
        raise NotFound(f"no message {message_id}")
    return int(row["inbox"]), msgspec.json.decode(row["m"])


# --- the list by waiting time -------------------------------------------------------------
# hub.conversations.listing.list_conversations orders by activity or SLA deadline; this order
# needs two branches (waiting, then idle), so it lives here on the same filters and search.


def _encode_waiting_cursor(waiting_since: dt.datetime | None, conversation_id: int) -> str:
    at = waiting_since.isoformat() if waiting_since else "-"
    return "w" + base64.urlsafe_b64encode(f"{at}|{conversation_id}".encode()).decode().rstrip("=")


def _decode_waiting_cursor(cursor: str) -> tuple[dt.datetime | None, int]:
    try:
        body = cursor.removeprefix("w")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        at, conversation_id = raw.rsplit("|", 1)
        return (None if at == "-" else dt.datetime.fromisoformat(at)), int(conversation_id)
    except (ValueError, UnicodeDecodeError):
        raise InvalidChange("cursor is not one this page returned") from None


async def list_by_waiting(
    filters: ListFilters,
    *,
    agent: AgentInfo,
    visible: Sequence[int] | None,
    limit: int = 25,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page, longest-waiting customer first, then the conversations nobody waits on.

    Two ordered branches (waiting, by `waiting_since`; not waiting, by id) so each can walk an
    index in order, e.g. `conversation_waiting_idx` (waiting_since, id) of waiting conversations,
    instead of sorting every open row. A search runs through hub.conversations.search on each
    branch in turn, as the other list orders do.
    """
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = filter_conditions(filters, agent=agent, visible_inboxes=visible, arg=arg)
    waiting, idle = ["c.waiting_since IS NOT NULL"], ["c.waiting_since IS NULL"]
    if cursor:
        at, last_id = _decode_waiting_cursor(cursor)
        if at is None:
            waiting, idle = ["false"], ["c.waiting_since IS NULL", f"c.id > {arg(last_id)}"]
        else:
            # IS NOT NULL kept: the partial index needs it stated (a row comparison does not
            # imply it to the planner), else page 2 sorted every waiting row (600 ms at 1M).
            waiting = [
                "c.waiting_since IS NOT NULL",
                f"(c.waiting_since, c.id) > ({arg(at)}::timestamptz, {arg(last_id)})",
            ]
    limit = max(1, min(limit, 100))
    query = search.parse(filters.q) if filters.q and filters.q.strip() else None
    if query is not None:
        scope = search.Scope.of(visible, filters.inbox_id, filters.channel)
        branches = [
            search.OrderedView(
                where=[*where, *waiting], args=args, order="c.waiting_since, c.id",
                key="c.waiting_since",
            ),
            search.OrderedView(where=[*where, *idle], args=args, order="c.id", key="c.id"),
        ]  # fmt: skip
        async with connection_pool().acquire() as conn, conn.transaction():
            await search.prepare(conn)
            try:
                found: list[tuple[int, dt.datetime | None]] = []
                for n, branch in enumerate(branches):
                    if len(found) > limit or "false" in branch.where:
                        continue
                    for r in await search.find(conn, branch, query, scope, limit + 1 - len(found)):
                        found.append((int(r["id"]), r["key"] if n == 0 else None))
                rows = await page_rows(conn, [i for i, _ in found], query)
            except asyncpg.QueryCanceledError:
                raise search.timed_out() from None
        page = [(row, at) for row, (_, at) in zip(rows, found, strict=True)]
    else:
        conditions = " AND ".join(where) or "true"
        size = arg(limit + 1)
        sql = (
            f"SELECT {ITEM_SQL.format(c='x.id')} AS item, x.waiting_since, x.id FROM ("
            f"(SELECT c.id, c.waiting_since FROM conversation c WHERE {conditions}"
            f" AND {' AND '.join(waiting)} ORDER BY c.waiting_since, c.id LIMIT {size})"
            f" UNION ALL (SELECT c.id, c.waiting_since FROM conversation c WHERE {conditions}"
            f" AND {' AND '.join(idle)} ORDER BY c.id LIMIT {size}))"
            f" x ORDER BY x.waiting_since NULLS LAST, x.id LIMIT {size}"
        )
        # Custom plans: bench/plan_audit.py found this statement's generic plan 10-20x slower
        # (sorting the waiting rows instead of walking the index), one the plan cache may pick
        # after five runs on a connection.
        async with connection_pool().acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            page = [(row, row["waiting_since"]) for row in await conn.fetch(sql, *args)]
    items = [item(row) for row, _ in page[:limit]]
    next_cursor = None
    if len(page) > limit:
        last, at = page[limit - 1]
        next_cursor = _encode_waiting_cursor(at, int(last["id"]))
    return items, next_cursor


_PEOPLE_SQL = """
SELECT jsonb_build_object(
  'agents', coalesce((SELECT jsonb_agg(jsonb_build_object('id', a.id, 'name', a.name, 'email', a.email,
      'role', a.role, 'active', a.active, 'availability', a.availability, 'created_at', a.created_at,
      'teams', coalesce((SELECT jsonb_agg(t.name ORDER BY t.name) FROM team_member m
                         JOIN team t ON t.id = m.team WHERE m.agent = a.id), '[]'::jsonb))
      ORDER BY a.active DESC, a.name) FROM agent a), '[]'::jsonb),
  'teams', coalesce((SELECT jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name,
      'members', coalesce((SELECT jsonb_agg(a.name ORDER BY a.name) FROM team_member m
                           JOIN agent a ON a.id = m.agent WHERE m.team = t.id), '[]'::jsonb),
      'inboxes', coalesce((SELECT jsonb_agg(i.name ORDER BY i.name) FROM inbox i
                           WHERE i.team = t.id AND i.active), '[]'::jsonb))
      ORDER BY t.name) FROM team t), '[]'::jsonb))
"""


async def people() -> dict[str, list[dict[str, Any]]]:
    """Agents (with their teams) and teams (with members and inboxes), for the admin pages."""
    result: dict[str, list[dict[str, Any]]] = msgspec.json.decode(
        await connection_pool().fetchval(_PEOPLE_SQL)
    )
    return result
