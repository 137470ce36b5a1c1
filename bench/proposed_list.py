"""A proposed rewrite of the SQL of hub.conversations.listing.list_conversations (bench only).

`python bench/list_query.py --proposed [--compare]` swaps this in for the real function so the
same cases can be timed before and after (--compare checks every page against the hub's).
Nothing in hub/ is changed; port what helps. Relative to the hub at 7f654f0 (which already splits
the search into a UNION of a message branch and a subject branch, each ordered and limited):

1. Subject gate: the subject branch also requires an uncorrelated
   EXISTS (an inbox in scope that has a conversation with a subject), which PostgreSQL runs once
   as a one-time filter. Chat inboxes never carry subjects, so without it an agent who sees only
   WhatsApp/Telegram walks every one of their conversations recomputing to_tsvector(subject)
   (the planner assumes subject matches are spread evenly over inboxes): 0.7-0.9 s -> 12 ms.
   Needs `CREATE INDEX conversation_subject_inbox_idx ON conversation (inbox) WHERE subject <> ''`.
2. A single status (or visible inbox) is compared with `=` instead of `= ANY(array)`, so the
   (status, last_message_at DESC, id DESC) index can return rows already in order.
3. The tag filter compares conversation_tag.tag with the tag's id (an InitPlan), so the
   semi-join probes (tag, conversation) directly instead of joining tag for every candidate.
4. plan_cache_mode = force_custom_plan for the statement (SET LOCAL in a read-only transaction).
   Defensive: the hub's statement keeps custom plans today only because LIMIT is a bind
   parameter (a generic plan assumes 10 % of the rows and so always costs more). With a literal
   LIMIT PostgreSQL switched to the generic plan after five executions and a rare word took
   more than 30 s (statement timeout).
Outside this file (measured separately, see bench/README.md): a statistics target of 1000 on the
message FTS expression index, and optionally a stored tsvector column for message text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from hub.auth.accounts import AgentInfo
from hub.conversations.lifecycle import InvalidChange, Priority, Status
from hub.conversations.listing import ListFilters, decode_cursor, encode_cursor
from hub.db.engine import connection_pool

ORDER = "ORDER BY c.last_message_at DESC, c.id DESC"
LAST: dict[str, Any] = {}  # the last SQL and arguments sent (for EXPLAIN in bench/list_query.py)


async def list_conversations(
    filters: ListFilters,
    *,
    agent: AgentInfo,
    visible_inboxes: Sequence[int] | None,
    limit: int = 25,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    where: list[str] = []
    scope: list[str] = []  # the inbox conditions again, on `s` (subject gate)
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    for status in filters.status:
        if status not in Status.__members__.values():
            raise InvalidChange(f"status must be one of {', '.join(Status)}")
    if len(filters.status) == 1:
        where.append(f"c.status = {arg(filters.status[0])}")
    elif filters.status:
        where.append(f"c.status = ANY({arg(list(filters.status))}::text[])")
    if visible_inboxes is not None:
        if len(visible_inboxes) == 1:
            p = arg(visible_inboxes[0])
            where.append(f"c.inbox = {p}")
            scope.append(f"i.id = {p}")
        else:
            p = arg(list(visible_inboxes))
            where.append(f"c.inbox = ANY({p}::int[])")
            scope.append(f"i.id = ANY({p}::int[])")
    if filters.inbox_id is not None:
        p = arg(filters.inbox_id)
        where.append(f"c.inbox = {p}")
        scope.append(f"i.id = {p}")
    if filters.channel:
        p = arg(filters.channel)
        where.append(f"c.inbox IN (SELECT id FROM inbox WHERE channel = {p})")
        scope.append(f"i.channel = {p}")
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
    if filters.tag:
        where.append(
            "c.id IN (SELECT x.conversation FROM conversation_tag x"
            f" WHERE x.tag = (SELECT t.id FROM tag t WHERE t.name = {arg(filters.tag.strip().lower())}))"
        )
    if cursor:
        at, last_id = decode_cursor(cursor)
        where.append(f"(c.last_message_at, c.id) < ({arg(at)}, {arg(last_id)})")
    limit = max(1, min(limit, 100))
    n = arg(limit + 1)

    def conj(extra: list[str]) -> str:
        parts = where + extra
        return ("WHERE " + " AND ".join(parts)) if parts else ""

    if filters.q and filters.q.strip():
        q = arg(filters.q.strip())
        by_message = (
            f"EXISTS (SELECT 1 FROM message m WHERE m.conversation = c.id"
            f" AND to_tsvector('simple', m.text) @@ plainto_tsquery('simple', {q})"
            f" AND m.kind <> 'event')"
        )
        by_subject = [f"to_tsvector('simple', c.subject) @@ plainto_tsquery('simple', {q})"]
        if scope:
            by_subject.append(
                "EXISTS (SELECT 1 FROM inbox i WHERE " + " AND ".join(scope) + " AND EXISTS"
                " (SELECT 1 FROM conversation s WHERE s.inbox = i.id AND s.subject <> ''))"
            )
        page = (
            f"(SELECT c.id, c.last_message_at FROM conversation c {conj([by_message])} {ORDER} LIMIT {n})"
            f" UNION"
            f" (SELECT c.id, c.last_message_at FROM conversation c {conj(by_subject)} {ORDER} LIMIT {n})"
        )
        inner = f"SELECT c.id, c.last_message_at FROM ({page}) c {ORDER} LIMIT {n}"
    else:
        inner = f"SELECT c.id, c.last_message_at FROM conversation c {conj([])} {ORDER} LIMIT {n}"
    sql = (
        "SELECT hub_conversation_json(c.id) || jsonb_build_object('preview', "
        "(SELECT left(m.text, 140) FROM message m WHERE m.conversation = c.id AND m.kind = 'message'"
        f" ORDER BY m.id DESC LIMIT 1)) AS item, c.last_message_at, c.id FROM ({inner}) c {ORDER}"
    )
    LAST.update(sql=sql, args=tuple(args))
    async with connection_pool().acquire() as conn, conn.transaction(readonly=True):
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        rows = await conn.fetch(sql, *args)
    items = [msgspec.json.decode(r["item"]) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last["last_message_at"].isoformat(), last["id"])
    return items, next_cursor
