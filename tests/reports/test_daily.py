"""The daily rollup answers what the hourly one answers, in the zone the days are kept in; a
report in another zone (HUB_TIMEZONE changed) reads the hourly rows until the job rebuilds the
days in the new zone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from hub.db.engine import connection_pool
from hub.reports import metrics, rollup
from hub.reports.filters import DIMENSIONS, Filters, Range
from tests.reports.test_metrics import _desk


async def _both(rng: Range, filters: Filters, period: str) -> tuple[Any, Any]:
    pool = connection_pool()
    days = await metrics.by_period(pool, rng, filters, period, days=True)
    hours = await metrics.by_period(pool, rng, filters, period, days=False)
    return days, hours


async def test_days_answer_what_hours_answer(quiet_client: httpx.AsyncClient) -> None:
    desk = await _desk(quiet_client)  # rolled up in the tests' zone, UTC
    pool = connection_pool()
    assert await pool.fetchval("SELECT zone FROM report_mark") == "UTC"
    # One total row per day (tag '') and one per day and tagged conversation's tag.
    assert await pool.fetchval("SELECT count(*) FROM report_day WHERE inbox = -1") == 3
    inbox = desk["inbox"]["id"]
    rng = Range(dt.date(2026, 11, 1), dt.date(2026, 11, 4), "UTC")
    for filters in (
        Filters(),
        Filters(tag="billing"),
        Filters(inbox=inbox),
        Filters(inbox=inbox, tag="billing"),
        Filters(channel="api", priority="normal"),
        Filters(inbox=inbox + 1000),
    ):
        for period in ("day", "week", "month"):
            days, hours = await _both(rng, filters, period)
            assert days == hours, (filters, period)
        for dimension in DIMENSIONS:
            by_days = await metrics.by_dimension(pool, rng, filters, dimension, days=True)
            by_hours = await metrics.by_dimension(pool, rng, filters, dimension, days=False)
            assert by_days == by_hours, (filters, dimension)
    rows, total, grid = (await _both(rng, Filters(), "day"))[0]
    assert total["created"] == 3 and sum(map(sum, grid)) == 3
    assert [r["created"] for r in rows] == [0, 1, 2, 0]


async def test_a_change_of_zone(quiet_client: httpx.AsyncClient) -> None:
    """Auckland is UTC+13 in November: the third conversation (Tue 12:00 UTC) is created on
    Wednesday 01:00 there, the first (Mon 09:00 UTC) on Monday 22:00."""
    await _desk(quiet_client)
    pool = connection_pool()
    auckland = Range(dt.date(2026, 11, 2), dt.date(2026, 11, 4), "Pacific/Auckland")

    # Days still in UTC: the Auckland report reads the hourly rows.
    assert not await metrics.days_in_zone(pool, auckland)
    before = await metrics.by_period(pool, auckland, Filters(), "day")
    assert before == await metrics.by_period(pool, auckland, Filters(), "day", days=False)
    rows, _total, grid = before
    assert [(r["period"], r["created"], r["resolved"]) for r in rows] == [
        ("2026-11-02", 1, 0),
        ("2026-11-03", 1, 1),  # the first, resolved at 11:00 UTC = Tue 00:00 NZDT
        ("2026-11-04", 1, 1),
    ]
    assert grid[0][22] == 1 and grid[1][23] == 1 and grid[2][1] == 1

    # The job, now running with HUB_TIMEZONE=Pacific/Auckland, rebuilds the days first.
    await rollup.catch_up(zone="Pacific/Auckland")
    assert await pool.fetchval("SELECT zone FROM report_mark") == "Pacific/Auckland"
    assert await metrics.days_in_zone(pool, auckland)
    assert await metrics.by_period(pool, auckland, Filters(), "day") == before
    days = await pool.fetch(
        "SELECT day, created, created_hours FROM report_day WHERE inbox = -1 AND tag = ''"
        " AND created <> 0 ORDER BY day"
    )
    assert [(r["day"].isoformat(), r["created"]) for r in days] == [
        ("2026-11-02", 1),
        ("2026-11-03", 1),
        ("2026-11-04", 1),
    ]
    assert days[2]["created_hours"][1] == 1

    # A report in the old zone now reads hours, and still gives the UTC answer.
    utc = Range(dt.date(2026, 11, 2), dt.date(2026, 11, 3), "UTC")
    assert not await metrics.days_in_zone(pool, utc)
    rows = (await metrics.by_period(pool, utc, Filters(), "day"))[0]
    assert [(r["period"], r["created"], r["backlog"]) for r in rows] == [
        ("2026-11-02", 1, 0),
        ("2026-11-03", 2, 2),
    ]
    # Nothing to do when the zone is the days' already.
    assert await rollup.switch_zone("Pacific/Auckland") is False
