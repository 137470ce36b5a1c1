"""Full-text search of conversations: the query syntax, one ordered page of matches, highlights.

Syntax (docs/api.md): plain words must all occur; `"quoted words"` must occur in that order,
adjacent; `word*` matches words that start with `word`. Everything is ANDed. The text is parsed by
PostgreSQL's 'simple' configuration (lower-cased, no stemming), through `hub_search_query`.

Finding a page. A conversation matches when one of its messages (not timeline events) or its
subject matches. Two strategies, each fast where the other is slow, chosen by what the data says
rather than by the planner's estimate (which cannot see that a word common overall is absent from
an agent's inboxes):

1. *Walk*: the newest `WALK` conversations of the view, in the page's order, each probed for a
   match (message text from the stored `message.search`, subject). Returns the page as soon as it
   is full, so a word that is common in the view costs a few dozen probes.
2. *Index first*: when the walk found less than a page, the word is rare in the view: every
   matching message is fetched from the GIN index on `message (inbox, search)` (restricted to the
   view's inboxes inside the index), their conversations filtered and ordered. The subject branch
   runs beside it, skipped for inboxes without any subject (chat channels).

Both give the same page; only their cost differs. The statements run with custom plans
(`plan_cache_mode`), since a generic plan cannot tell a rare word from a common one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from hub.conversations.lifecycle import InvalidChange

# How many conversations the walk probes before switching to the index: a page is 26 rows, so
# a word in more than ~2.6 % of the view's conversations is served by the walk.
WALK = 1000
# The furthest a walk goes when the first one found some matches but not a page.
WALK_MAX = 8000
# Up to this many inboxes in a restricted view, the index-first statement asks per inbox.
PER_INBOX_MAX = 8
SEARCH_TIMEOUT = "5s"
MAX_TERMS = 16
# Marks around matched words in ts_headline's output: control characters the text cannot hold
# (they are removed from it first), so the split into parts is unambiguous and nothing in the
# message is ever taken for markup.
START, STOP = "\x02", "\x03"
_ANGLES = str.maketrans("\x04\x05", "<>")

_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class SearchQuery:
    words: str = ""  # plain words, space-separated
    phrases: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases or self.prefixes)


def parse(text: str) -> SearchQuery:
    """The search box's text as words, "phrases" and prefix* terms (at most MAX_TERMS)."""
    words: list[str] = []
    phrases: list[str] = []
    prefixes: list[str] = []
    for n, match in enumerate(_TOKEN.finditer(text)):
        if n >= MAX_TERMS:
            raise InvalidChange(f"a search takes at most {MAX_TERMS} words or phrases")
        quoted, bare = match.groups()
        if quoted is not None:
            if quoted.strip():
                phrases.append(quoted.strip())
        elif bare.endswith("*") and len(bare.rstrip("*")) >= 2:
            prefixes.append(bare.rstrip("*"))
        elif bare.strip("*"):
            words.append(bare.strip("*"))
    return SearchQuery(words=" ".join(words), phrases=phrases, prefixes=prefixes)


def tsquery_sql(query: SearchQuery, arg: Callable[[Any], str]) -> str:
    """The SQL expression of the query's tsquery, its parts as bind parameters."""
    return (
        f"hub_search_query({arg(query.words)}::text, {arg(query.phrases)}::text[],"
        f" {arg(query.prefixes)}::text[])"
    )


def message_match(tsq: str, conversation: str = "c.id") -> str:
    return (
        "EXISTS (SELECT 1 FROM message m WHERE m.conversation = "
        f"{conversation} AND m.kind <> 'event' AND m.search @@ {tsq})"
    )


def subject_match(tsq: str) -> str:
    return f"to_tsvector('simple', c.subject) @@ {tsq}"


@dataclass
class Scope:
    """What restricts the view's inboxes, for the message index (messages stay in the inbox of
    their conversation: a merge never crosses inboxes)."""

    inboxes: list[int] | None = None  # None: every inbox
    channel: str | None = None

    @classmethod
    def of(cls, visible: Sequence[int] | None, inbox_id: int | None, channel: str | None) -> Scope:
        inboxes = None if visible is None else [int(i) for i in visible]
        if inbox_id is not None:
            inboxes = [inbox_id] if inboxes is None or inbox_id in inboxes else []
        return cls(inboxes=inboxes, channel=channel or None)

    def conditions(self, inbox: str, arg: Callable[[Any], str]) -> list[str]:
        """Conditions on the column `inbox` (m.inbox, or i.id of the inbox table)."""
        out = []
        if self.inboxes is not None:
            out.append(f"{inbox} = ANY({arg(self.inboxes)}::int[])")
        if self.channel:
            out.append(f"{inbox} IN (SELECT id FROM inbox WHERE channel = {arg(self.channel)})")
        return out


@dataclass
class OrderedView:
    """One ordered slice of conversations to search in: its conditions on `conversation c` (with
    their bind parameters), its ORDER BY and the key column returned with each id."""

    where: list[str]
    args: list[Any]
    order: str  # e.g. "c.last_message_at DESC, c.id DESC"
    key: str  # e.g. "c.last_message_at"


async def find(
    conn: asyncpg.Connection, view: OrderedView, query: SearchQuery, scope: Scope, n: int
) -> list[asyncpg.Record]:
    """Up to n (id, key) rows of the view that match the query, in the view's order."""
    args = list(view.args)

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    tsq = tsquery_sql(query, arg)
    limit = arg(n)
    where = " AND ".join(view.where) or "true"
    order = view.order.replace(view.key, "c.key")  # the same order on the subquery's columns
    rows, walked = await _walk(conn, view, where, order, tsq, limit, n, args, WALK)
    if len(rows) >= n or walked < WALK:  # a full page, or the whole view was seen
        return rows
    if rows:
        # Some matches but not a page: walk as far as their density says a page needs (with a
        # margin), unless that is further than the index is likely to cost.
        further = math.ceil(WALK * n / len(rows) * 1.5)
        if further <= WALK_MAX:
            rows, walked = await _walk(conn, view, where, order, tsq, limit, n, args, further)
            if len(rows) >= n or walked < further:
                return rows

    # Rare in the view: from the indexes. Each ARRAY is computed once, from a GIN index: the
    # planner, still believing a word common overall is common here, would otherwise scan
    # (a parallel seq scan of message, or a walk of every conversation for the subject), so
    # sequential scans are turned off from here on.
    matching = f"SELECT m.conversation FROM message m WHERE m.search @@ {tsq} AND m.kind <> 'event'"
    if scope.inboxes and len(scope.inboxes) <= PER_INBOX_MAX and not scope.channel:
        # One branch per inbox: with `inbox = ANY(...)` the planner (at 15M messages) used the
        # GIN index for the words alone and filtered 2.2M rows by inbox on the heap (18 s);
        # with `inbox = <one id>` it intersects both inside the index (86 ms).
        per_inbox = [f"{matching} AND m.inbox = {arg(i)}" for i in scope.inboxes]
        hits = f"c.id = ANY(ARRAY({' UNION '.join(per_inbox)}))"
    else:
        in_scope = " AND ".join(["", *scope.conditions("m.inbox", arg)])
        hits = f"c.id = ANY(ARRAY(SELECT DISTINCT x.conversation FROM ({matching}{in_scope}) x))"
    gate = scope.conditions("s.inbox", arg)
    subject = (
        "c.id = ANY(ARRAY(SELECT s.id FROM conversation s WHERE"
        f" to_tsvector('simple', s.subject) @@ {tsq}{' AND '.join(['', *gate])}))"
    )
    if gate:
        # Only if one of the view's inboxes has subjects at all (chat inboxes have none): one
        # probe of conversation_subject_inbox_idx per inbox, through the inbox table.
        inboxes = " AND ".join(scope.conditions("i.id", arg))
        subject += (
            f" AND EXISTS (SELECT 1 FROM inbox i WHERE {inboxes} AND EXISTS"
            " (SELECT 1 FROM conversation s WHERE s.inbox = i.id AND s.subject <> ''))"
        )
    branch = f"SELECT c.id, {view.key} AS key FROM conversation c WHERE {where} AND {{}}"
    sql = (
        f"SELECT c.id, c.key FROM (({branch.format(hits)} ORDER BY {view.order} LIMIT {limit})"
        f" UNION ({branch.format(subject)} ORDER BY {view.order} LIMIT {limit})) c"
        f" ORDER BY {order} LIMIT {limit}"
    )
    # For the rest of the search's transaction too: what follows (the page by id) are index
    # lookups either way.
    await conn.execute("SET LOCAL enable_seqscan = off")
    return list(await conn.fetch(sql, *args))


async def _walk(
    conn: asyncpg.Connection,
    view: OrderedView,
    where: str,
    order: str,
    tsq: str,
    limit: str,
    n: int,
    args: list[Any],
    walk: int,
) -> tuple[list[asyncpg.Record], int]:
    """The matches among the view's newest `walk` conversations, and how many it had (fewer
    than `walk`: the view was seen whole). A subquery, not a CTE, so that its order carries to
    the outer LIMIT and the probes stop at a full page; the count only runs when they do not."""
    rows = await conn.fetch(
        f"SELECT c.id, c.key FROM (SELECT c.id, {view.key} AS key, c.subject FROM conversation c"
        f" WHERE {where} ORDER BY {view.order} LIMIT {int(walk)}) c"
        f" WHERE {message_match(tsq)} OR {subject_match(tsq)} ORDER BY {order} LIMIT {limit}",
        *args,
    )
    if len(rows) >= n:
        return list(rows), walk
    walked = await conn.fetchval(
        f"SELECT count(*) FROM (SELECT 1 FROM conversation c WHERE {where} LIMIT {int(walk)}) x",
        *view.args,
    )
    return list(rows), int(walked)


async def prepare(conn: asyncpg.Connection) -> None:
    """Inside the search's transaction: the time limit, custom plans, no parallel workers."""
    await conn.execute(
        f"SET LOCAL statement_timeout = '{SEARCH_TIMEOUT}';"
        " SET LOCAL plan_cache_mode = force_custom_plan;"
        # Parallel workers for one page of a search only compete with the other requests.
        " SET LOCAL max_parallel_workers_per_gather = 0;"
        # The index-first statement has high cost estimates (a word common overall), which
        # would make PostgreSQL compile it (JIT: 15-30 ms) for a query that takes a few.
        " SET LOCAL jit = off"
    )


def timed_out() -> InvalidChange:
    return InvalidChange(
        "the search took too long; add more words or filters (status, inbox) to narrow it"
    )


def headline_sql(query: SearchQuery, arg: Callable[[Any], str], conversation: str) -> str:
    """A jsonb {message_id, field, text} for the conversation's newest matching message (or its
    subject): ts_headline runs on that one text, for the rows of the page only."""
    tsq = tsquery_sql(query, arg)
    # One excerpt around the best match (fragment mode, MaxFragments > 0, took 25x longer:
    # 6 ms against 0.24 ms for a page of 26 at 1M conversations).
    options = arg(f"StartSel={START}, StopSel={STOP}, MaxWords=24, MinWords=10, ShortWord=2")
    # The marks' control characters out of the text; < and > swapped for two others, because
    # the parser takes `<b>` for a tag and ts_headline drops tags (a customer's literal text).
    clean = "translate(translate({}, E'\\x02\\x03\\x04\\x05', '    '), '<>', E'\\x04\\x05')"
    return (
        "coalesce((SELECT jsonb_build_object('message_id', m.id, 'field', 'text', 'text',"
        f" ts_headline('simple', {clean.format('m.text')}, {tsq}, {options}))"
        f" FROM message m WHERE m.conversation = {conversation} AND m.kind <> 'event'"
        f" AND m.search @@ {tsq} ORDER BY m.id DESC LIMIT 1),"
        " (SELECT jsonb_build_object('message_id', NULL, 'field', 'subject', 'text',"
        f" ts_headline('simple', {clean.format('s.subject')}, {tsq}, {options}))"
        f" FROM conversation s WHERE s.id = {conversation}"
        f" AND to_tsvector('simple', s.subject) @@ {tsq}))"
    )


def highlight_parts(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """ts_headline's marked text as [{text, match}] parts: clients escape text, never parse it."""
    if not raw:
        return None
    parts: list[dict[str, Any]] = []
    text = str(raw.get("text") or "").translate(_ANGLES)
    for n, piece in enumerate(re.split(f"[{START}{STOP}]", text)):
        if piece:
            parts.append({"text": piece, "match": n % 2 == 1})
    return {"message_id": raw.get("message_id"), "field": raw.get("field"), "parts": parts}
