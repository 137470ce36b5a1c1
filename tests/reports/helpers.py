"""Shared by the report tests: back-dating events, reading the rollup tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.db.engine import connection_pool


class Stamper:
    """Gives every event written since the last call the time `at` (the events are written by
    the real code paths; only their commit time is moved into the past)."""

    def __init__(self) -> None:
        self.mark = 0

    async def start(self) -> None:
        self.mark = int(await connection_pool().fetchval("SELECT coalesce(max(id), 0) FROM event"))

    async def __call__(self, at: dt.datetime) -> None:
        pool = connection_pool()
        await pool.execute("UPDATE event SET created_at = $1 WHERE id > $2", at, self.mark)
        self.mark = int(await pool.fetchval("SELECT coalesce(max(id), 0) FROM event"))


async def snapshot() -> dict[str, Any]:
    """The rollup tables as sets, rows whose counts are all zero left out (an hour that got +1
    and -1 in two batches keeps its row; one batch never writes it)."""
    pool = connection_pool()
    hours = await pool.fetch("SELECT * FROM report_hour")
    durations = await pool.fetch("SELECT * FROM report_duration WHERE n <> 0 OR total <> 0")
    states = await pool.fetch("SELECT * FROM report_conversation")
    open_ = await pool.fetch("SELECT * FROM report_open WHERE open <> 0")
    days = await pool.fetch("SELECT * FROM report_day")
    day_durations = await pool.fetch("SELECT * FROM report_day_duration WHERE n <> 0 OR total <> 0")
    key = ("hour", "day", "inbox", "channel", "team", "agent", "priority", "tag")

    def counted(rows: list[Any]) -> set[tuple[Any, ...]]:
        return {
            tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in r.items())
            for r in rows
            if any(any(v) if isinstance(v, list) else v for k, v in r.items() if k not in key)
        }

    return {
        "hours": counted(hours),
        "durations": {tuple(r.items()) for r in durations},
        "days": counted(days),
        "day_durations": {tuple(r.items()) for r in day_durations},
        "zone": await pool.fetchval("SELECT zone FROM report_mark WHERE id = 1"),
        "open": {tuple(r.items()) for r in open_},
        "states": {
            tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in r.items()) for r in states
        },
    }
