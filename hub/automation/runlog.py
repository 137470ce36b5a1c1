"""The run log: one row per rule that matched (or was stopped), claimed before its actions run.

The claim is the idempotency: a row unique per (rule, event, conversation) for event rules and
per (rule, conversation, occurrence) for time rules, so a redelivered batch or a second worker
sweeping at the same moment inserts nothing and acts on nothing.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from hub.db.engine import connection_pool


async def claim(
    conn: asyncpg.Connection,
    *,
    rule_id: int,
    rule_name: str,
    conversation_id: int,
    trigger: str,
    depth: int,
    conditions: list[dict[str, Any]],
    event_id: int | None = None,
    occurrence: str | None = None,
    status: str = "running",
) -> int | None:
    """Insert the run; None when it exists already (someone else has it)."""
    run_id: int | None = await conn.fetchval(
        "INSERT INTO automation_run (rule, rule_name, conversation, event, occurrence, trigger,"
        " depth, status, conditions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)"
        " ON CONFLICT DO NOTHING RETURNING id",
        rule_id,
        rule_name,
        conversation_id,
        event_id,
        occurrence,
        trigger,
        depth,
        status,
        msgspec.json.encode(conditions).decode(),
    )
    return run_id


async def finish(
    conn: asyncpg.Connection, run_id: int, status: str, actions: list[dict[str, Any]]
) -> None:
    errors = "; ".join(a["error"] for a in actions if a.get("error"))
    await conn.execute(
        "UPDATE automation_run SET status = $2, actions = $3::jsonb, error = nullif($4, '')"
        " WHERE id = $1",
        run_id,
        status,
        msgspec.json.encode(actions).decode(),
        errors,
    )


_RUN_JSON = (
    "SELECT coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'rule_id', r.rule, 'rule_name',"
    " r.rule_name, 'conversation_id', r.conversation, 'event_id', r.event, 'occurrence',"
    " r.occurrence, 'trigger', r.trigger, 'depth', r.depth, 'status', r.status, 'conditions',"
    " r.conditions, 'actions', r.actions, 'error', r.error, 'created_at', r.created_at)"
    " ORDER BY r.id DESC), '[]'::jsonb)::text FROM (SELECT * FROM automation_run WHERE true{where}"
    " ORDER BY id DESC LIMIT {limit}) r"
)


async def list_runs(
    *,
    rule_id: int | None = None,
    conversation_id: int | None = None,
    status: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first; `before` (a run id) pages back."""
    args: list[Any] = []
    where = ""
    for column, value in (
        ("rule", rule_id),
        ("conversation", conversation_id),
        ("status", status),
    ):
        if value is not None:
            args.append(value)
            where += f" AND {column} = ${len(args)}"
    if before is not None:
        args.append(before)
        where += f" AND id < ${len(args)}"
    query = _RUN_JSON.format(where=where, limit=max(1, min(limit, 500)))
    raw = await connection_pool().fetchval(query, *args)
    result: list[dict[str, Any]] = msgspec.json.decode(raw)
    return result
