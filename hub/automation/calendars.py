"""Business hours for rules, from the SLA calendars: "open now?" and "X business minutes ago"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import asyncpg
import msgspec

from hub.sla.calendar import CompiledCalendar, business_minutes_between, compile_calendar
from hub.sla.policies import calendar_of

_SECOND = dt.timedelta(seconds=1)
_MICROSECOND = dt.timedelta(microseconds=1)


async def load(conn: asyncpg.Connection, ids: Iterable[int]) -> dict[int, CompiledCalendar]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT id, timezone, weekly, holidays FROM business_hours WHERE id = ANY($1::int[])",
        wanted,
    )
    return {
        r["id"]: compile_calendar(
            calendar_of(
                r["timezone"], msgspec.json.decode(r["weekly"]), msgspec.json.decode(r["holidays"])
            )
        )
        for r in rows
    }


def open_checks(calendars: dict[int, CompiledCalendar]) -> dict[int, Callable[[dt.datetime], bool]]:
    def checker(calendar: CompiledCalendar) -> Callable[[dt.datetime], bool]:
        return lambda now: business_minutes_between(calendar, now, now + _SECOND) > 0

    return {k: checker(v) for k, v in calendars.items()}


def business_cutoff(calendar: CompiledCalendar, now: dt.datetime, minutes: int) -> dt.datetime:
    """The latest instant with at least `minutes` of business time between it and `now`: one
    bound for every conversation, so the time rules' query still walks an index."""
    hi = now - dt.timedelta(minutes=minutes)  # business time never runs faster than the clock
    if business_minutes_between(calendar, hi, now) >= minutes:
        return hi  # open all along
    lo = hi - dt.timedelta(days=30)
    while business_minutes_between(calendar, lo, now) < minutes:
        lo -= dt.timedelta(days=365)
        if now - lo > dt.timedelta(days=3 * 365):
            return lo  # a calendar that is (nearly) never open: nothing is due
    while hi - lo > _MICROSECOND:  # about 42 halvings of 30 days
        mid = lo + (hi - lo) // 2
        if business_minutes_between(calendar, mid, now) >= minutes:
            lo = mid
        else:
            hi = mid
    return lo
