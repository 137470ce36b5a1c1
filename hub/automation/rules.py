"""Storing rules: create, read, update, delete, reorder, and the compiled list the engine runs.

A rule's definition is stored as validated JSON; the compiled form (regular expressions and
all) is cached per process by (id, updated_at), so a batch of events costs one small query for
the list and no recompilation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from hub.auth.access import NotFound
from hub.automation import validation
from hub.automation.validation import Compiled, InvalidRule
from hub.db.engine import connection_pool

_SELECT = (
    "SELECT id, name, enabled, position, trigger_type, definition::text AS definition,"
    " created_at, updated_at FROM automation_rule"
)


def _json(row: asyncpg.Record) -> dict[str, Any]:
    definition = msgspec.json.decode(row["definition"])
    return {
        "id": row["id"],
        "name": row["name"],
        "enabled": row["enabled"],
        "position": row["position"],
        **definition,
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


async def list_rules() -> list[dict[str, Any]]:
    rows = await connection_pool().fetch(_SELECT + " ORDER BY position, id")
    return [_json(r) for r in rows]


async def get_rule(rule_id: int) -> dict[str, Any]:
    row = await connection_pool().fetchrow(_SELECT + " WHERE id = $1", rule_id)
    if row is None:
        raise NotFound(f"no automation rule {rule_id}")
    return _json(row)


async def save_rule(raw: Any, rule_id: int | None = None) -> dict[str, Any]:
    """Validate and store; `InvalidRule` (with the bad node's path) before anything is written."""
    rule, tree = validation.parse(raw)
    definition = msgspec.json.encode(validation.definition(rule, tree)).decode()
    kind = validation.model.tag_of(rule.trigger)
    async with connection_pool().acquire() as conn, conn.transaction():
        await validation.check_references(conn, rule, tree)
        if rule_id is None:
            position = rule.position
            if position is None:
                position = await conn.fetchval(
                    "SELECT coalesce(max(position), 0) + 1 FROM automation_rule"
                )
            row = await conn.fetchrow(
                "INSERT INTO automation_rule (name, enabled, position, trigger_type, definition)"
                " VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id",
                rule.name,
                rule.enabled,
                position,
                kind,
                definition,
            )
        else:
            row = await conn.fetchrow(
                "UPDATE automation_rule SET name = $2, enabled = $3,"
                " position = coalesce($4, position), trigger_type = $5, definition = $6::jsonb,"
                " updated_at = now() WHERE id = $1 RETURNING id",
                rule_id,
                rule.name,
                rule.enabled,
                rule.position,
                kind,
                definition,
            )
            if row is None:
                raise NotFound(f"no automation rule {rule_id}")
    return await get_rule(row["id"])


async def set_enabled(rule_id: int, enabled: bool) -> dict[str, Any]:
    done = await connection_pool().fetchval(
        "UPDATE automation_rule SET enabled = $2, updated_at = now() WHERE id = $1 RETURNING id",
        rule_id,
        enabled,
    )
    if done is None:
        raise NotFound(f"no automation rule {rule_id}")
    return await get_rule(rule_id)


async def delete_rule(rule_id: int) -> None:
    done = await connection_pool().fetchval(
        "DELETE FROM automation_rule WHERE id = $1 RETURNING id", rule_id
    )
    if done is None:
        raise NotFound(f"no automation rule {rule_id}")


async def reorder(rule_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Positions 1..n in the given order; every rule must be named exactly once."""
    async with connection_pool().acquire() as conn, conn.transaction():
        existing = {r["id"] for r in await conn.fetch("SELECT id FROM automation_rule FOR UPDATE")}
        if len(set(rule_ids)) != len(rule_ids) or set(rule_ids) != existing:
            raise InvalidRule("rule_ids", "list every rule exactly once")
        await conn.execute(
            "UPDATE automation_rule r SET position = x.n, updated_at = now()"
            " FROM unnest($1::int[]) WITH ORDINALITY AS x(id, n) WHERE r.id = x.id",
            list(rule_ids),
        )
    return await list_rules()


_cache: dict[int, tuple[dt.datetime, Compiled]] = {}


async def enabled(conn: asyncpg.Connection, *, timed: bool | None = None) -> list[Compiled]:
    """The enabled rules in order, compiled (`timed`: only time rules, only event rules, or all).

    Runs once per event batch: it reads ids and stamps only, and the definitions of the rules
    this process has not compiled yet (or that changed since)."""
    where = "" if timed is None else (" AND trigger_type LIKE 'time.%'" if timed else " AND trigger_type NOT LIKE 'time.%'")  # fmt: skip
    rows = await conn.fetch(
        f"SELECT id, position, updated_at FROM automation_rule WHERE enabled{where}"
        " ORDER BY position, id"
    )
    stale = [r["id"] for r in rows if (c := _cache.get(r["id"])) is None or c[0] != r["updated_at"]]
    if stale:
        for row in await conn.fetch(
            "SELECT id, name, position, definition::text AS definition, updated_at"
            " FROM automation_rule WHERE id = ANY($1::int[])",
            stale,
        ):
            raw = msgspec.json.decode(row["definition"])
            raw.update(name=row["name"], enabled=True)
            rule, tree = validation.parse(raw)
            _cache[row["id"]] = (
                row["updated_at"],
                Compiled.of(row["id"], row["position"], rule, tree),
            )
    # The order and position come from this read (a reorder does not change definitions).
    return [
        dataclasses.replace(_cache[r["id"]][1], position=r["position"])
        if _cache[r["id"]][1].position != r["position"]
        else _cache[r["id"]][1]
        for r in rows
        if r["id"] in _cache
    ]


async def compiled(rule_id: int) -> Compiled:
    """One rule, compiled, enabled or not (for the dry run)."""
    row = await connection_pool().fetchrow(
        "SELECT id, name, position, definition::text AS definition FROM automation_rule"
        " WHERE id = $1",
        rule_id,
    )
    if row is None:
        raise NotFound(f"no automation rule {rule_id}")
    raw = msgspec.json.decode(row["definition"])
    raw["name"] = row["name"]
    rule, tree = validation.parse(raw)
    return Compiled.of(row["id"], row["position"], rule, tree)
