"""Reading the audit log: filtered pages for the page and the API, and a CSV export in chunks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from hub.db.engine import connection_pool

PAGE_MAX = 200
EXPORT_CHUNK = 1000
CSV_COLUMNS = (
    "id", "created_at", "actor_type", "actor_id", "actor_email", "action", "target_type",
    "target_id", "ip", "data",
)  # fmt: skip


class AuditFilters(msgspec.Struct, kw_only=True, frozen=True):
    actor_id: int | None = None
    # An exact action ("login") or, ending in ".", every action under a prefix ("role.").
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _where(filters: AuditFilters, before: int | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.format(f"${len(args)}"))

    if filters.actor_id is not None:
        add("l.actor_id = {}", filters.actor_id)
    if filters.action:
        if filters.action.endswith("."):
            add("starts_with(l.action, {})", filters.action)
        else:
            add("l.action = {}", filters.action)
    if filters.since is not None:
        add("l.created_at >= {}", filters.since)
    if filters.until is not None:
        add("l.created_at < {}", filters.until)
    if before is not None:
        add("l.id < {}", before)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


async def _page(filters: AuditFilters, before: int | None, limit: int) -> list[dict[str, Any]]:
    where, args = _where(filters, before)
    # The page of ids first (the primary key, backwards), then the actors: joining first made
    # the planner sort the whole log for every page.
    rows = await connection_pool().fetch(
        "SELECT l.id, l.created_at, l.actor_type, l.actor_id, a.email AS actor_email,"
        " a.name AS actor_name, l.action, l.target_type, l.target_id, l.ip, l.data"
        f" FROM (SELECT * FROM audit_log l{where} ORDER BY l.id DESC LIMIT {int(limit)}) l"
        " LEFT JOIN agent a ON a.id = l.actor_id AND l.actor_type = 'agent' ORDER BY l.id DESC",
        *args,
    )
    return [dict(r) | {"data": _data(r["data"])} for r in rows]


def _data(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        decoded = json.loads(value)
        return decoded if isinstance(decoded, dict) else {"value": decoded}
    return dict(value or {})


async def search(
    filters: AuditFilters, *, before: int | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first; the second value is the `before` of the next page (None at the end)."""
    limit = max(1, min(limit, PAGE_MAX))
    items = await _page(filters, before, limit + 1)
    more = len(items) > limit
    items = items[:limit]
    return items, (int(items[-1]["id"]) if more else None)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet would run a cell starting with one of these as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def export_csv(filters: AuditFilters) -> AsyncIterator[str]:
    """The matching entries as CSV, newest first, a chunk of rows at a time (never all in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    before: int | None = None
    while True:
        rows = await _page(filters, before, EXPORT_CHUNK)
        for row in rows:
            row = row | {
                "created_at": row["created_at"].isoformat(),
                "data": json.dumps(row["data"], sort_keys=True, default=str),
            }
            writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < EXPORT_CHUNK:
            return
        before = int(rows[-1]["id"])


async def actions() -> list[str]:
    """The actions recorded so far (for the page's filter)."""
    rows = await connection_pool().fetch("SELECT DISTINCT action FROM audit_log ORDER BY action")
    return [r["action"] for r in rows]
