"""Reading and writing the rollup's rows: per-conversation state, hourly counts, histograms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg
import msgspec

from hub.reports import daily
from hub.reports.fold import COUNTS, Deltas, State

_STATE_COLUMNS = (
    "id, inbox, channel, team, agent, priority, tags, status, created_at, first_reply_at,"
    " resolved_at, first_response_business, resolution_business, sla_first_response,"
    " sla_next_response, sla_resolution, csat, messages_in, messages_out"
)


async def load_states(conn: asyncpg.Connection, ids: Sequence[int]) -> dict[int, State]:
    rows = await conn.fetch(
        f"SELECT {_STATE_COLUMNS} FROM report_conversation WHERE id = ANY($1::int[])", list(ids)
    )
    return {
        r["id"]: State(
            id=r["id"],
            inbox=r["inbox"],
            channel=r["channel"],
            team=r["team"],
            agent=r["agent"],
            priority=r["priority"],
            tags=tuple(r["tags"]),
            status=r["status"],
            created_at=r["created_at"],
            first_reply_at=r["first_reply_at"],
            resolved_at=r["resolved_at"],
            first_response_business=r["first_response_business"],
            resolution_business=r["resolution_business"],
            sla={
                "first_response": r["sla_first_response"],
                "next_response": r["sla_next_response"],
                "resolution": r["sla_resolution"],
            },
            csat=r["csat"],
            messages_in=r["messages_in"],
            messages_out=r["messages_out"],
        )
        for r in rows
    }


_STATE_TYPES = ("int", "int", "text", "int", "int", "text", "text", "text", "timestamptz",
                "timestamptz", "timestamptz", "int", "int", "text", "text", "text", "smallint",
                "int", "int")  # fmt: skip
_STATE_NAMES = _STATE_COLUMNS.split(", ")
# One statement per batch (unnest of one array per column), not one per conversation. A
# conversation's tags travel as one JSON text (arrays of arrays must be rectangular).
_SAVE_STATES = (
    f"INSERT INTO report_conversation ({_STATE_COLUMNS})"
    " SELECT id, inbox, channel, team, agent, priority,"
    " ARRAY(SELECT jsonb_array_elements_text(tags::jsonb)), status, created_at, first_reply_at,"
    " resolved_at, first_response_business, resolution_business, sla_first_response,"
    " sla_next_response, sla_resolution, csat, messages_in, messages_out FROM unnest("
    + ", ".join(f"${n + 1}::{t}[]" for n, t in enumerate(_STATE_TYPES))
    + f") AS s({_STATE_COLUMNS})"
    " ON CONFLICT (id) DO UPDATE SET inbox = excluded.inbox, channel = excluded.channel,"
    " team = excluded.team, agent = excluded.agent, priority = excluded.priority,"
    " tags = excluded.tags, status = excluded.status, first_reply_at = excluded.first_reply_at,"
    " resolved_at = excluded.resolved_at,"
    " first_response_business = excluded.first_response_business,"
    " resolution_business = excluded.resolution_business,"
    " sla_first_response = excluded.sla_first_response,"
    " sla_next_response = excluded.sla_next_response, sla_resolution = excluded.sla_resolution,"
    " csat = excluded.csat, messages_in = excluded.messages_in,"
    " messages_out = excluded.messages_out"
)
_tags_json = msgspec.json.Encoder()


async def save_states(conn: asyncpg.Connection, states: Sequence[State]) -> None:
    if not states:
        return
    rows = [
        (
            s.id,
            s.inbox,
            s.channel,
            s.team,
            s.agent,
            s.priority,
            _tags_json.encode(s.tags).decode(),
            s.status,
            s.created_at,
            s.first_reply_at,
            s.resolved_at,
            s.first_response_business,
            s.resolution_business,
            s.sla.get("first_response"),
            s.sla.get("next_response"),
            s.sla.get("resolution"),
            s.csat,
            s.messages_in,
            s.messages_out,
        )
        for s in states
    ]
    await conn.execute(_SAVE_STATES, *_columns(rows, len(_STATE_NAMES)))


def _hour(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


_KEY = "hour, inbox, channel, team, agent, priority, tag"
_COUNT_SQL = (
    f"INSERT INTO report_hour ({_KEY}, {', '.join(COUNTS)})"
    f" SELECT * FROM unnest($1::timestamptz[], $2::int[], $3::text[], $4::int[], $5::int[],"
    f" $6::text[], $7::text[], {', '.join(f'${n + 8}::int[]' for n in range(len(COUNTS)))})"
    f" ON CONFLICT (tag, hour, inbox, channel, team, agent, priority) DO UPDATE SET "
    + ", ".join(f"{c} = report_hour.{c} + excluded.{c}" for c in COUNTS)
)
_DURATION_SQL = (
    f"INSERT INTO report_duration ({_KEY}, metric, bucket, n, total)"
    " SELECT * FROM unnest($1::timestamptz[], $2::int[], $3::text[], $4::int[], $5::int[],"
    " $6::text[], $7::text[], $8::smallint[], $9::smallint[], $10::int[], $11::bigint[])"
    " ON CONFLICT (tag, metric, hour, inbox, channel, team, agent, priority, bucket) DO UPDATE"
    " SET n = report_duration.n + excluded.n, total = report_duration.total + excluded.total"
)


_OPEN_SQL = (
    "INSERT INTO report_open (inbox, channel, team, agent, priority, tag, open)"
    " SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::int[], $5::text[], $6::text[],"
    " $7::int[]) ON CONFLICT (tag, inbox, channel, team, agent, priority) DO UPDATE"
    " SET open = report_open.open + excluded.open"
)
_BACKLOG = COUNTS.index("backlog")


def _columns(keys: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    return [list(column) for column in zip(*keys, strict=True)] if keys else [[]] * width


async def save_deltas(conn: asyncpg.Connection, deltas: Deltas, zone: str) -> None:
    """Add the deltas to the hourly rows and, summed per local day of `zone`, to the daily rows
    (one statement per table; each key appears once)."""
    counts = deltas.nonzero_counts()
    if counts:
        rows = [(_hour(k[0]), *k[1:], *v) for k, v in counts.items()]
        columns = _columns(rows, 7 + len(COUNTS))
        await conn.execute(_COUNT_SQL, *columns)
        await conn.execute(daily.COUNTS_FROM_ARRAYS, *columns, zone)
        backlog: dict[tuple[object, ...], int] = {}
        for key, values in counts.items():
            if values[_BACKLOG]:
                backlog[key[1:]] = backlog.get(key[1:], 0) + values[_BACKLOG]
        changed = [(*k, v) for k, v in backlog.items() if v]
        if changed:
            await conn.execute(_OPEN_SQL, *_columns(changed, 7))
    if deltas.durations:
        rows = [
            (_hour(key[0]), *key[1:], metric, bucket, cell[0], cell[1])
            for (key, metric, bucket), cell in deltas.durations.items()
        ]
        columns = _columns(rows, 11)
        await conn.execute(_DURATION_SQL, *columns)
        await conn.execute(daily.DURATIONS_FROM_ARRAYS, *columns, zone)
