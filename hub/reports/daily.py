"""The daily rollup: the hourly rows summed per local day of the account's zone, with totals.

Every statement here turns hourly rows into daily ones with the same SELECT, whether the hourly
rows are a batch's deltas (arrays, in the rollup's transaction) or the whole `report_hour` table
(a change of zone), so the daily rows are always exactly the hourly rows summed per
`(hour AT TIME ZONE zone)::date`. An hour counts in the local day (and local hour) it starts
in; in a zone whose offset is not whole hours (Asia/Kolkata), the hour that straddles local
midnight counts in the day it starts in, exactly as the hourly reports have always counted it.

GROUPING SETS writes, beside each day x dimensions row, the day's total per tag with the
dimensions set to TOTAL (-1 / '*'): a report without dimension filters reads those.
"""

from __future__ import annotations

import asyncpg

from hub.reports.fold import COUNTS

_DIMS = ("inbox", "channel", "team", "agent", "priority")
_TOTALS = ("-1", "'*'", "-1", "-1", "'*'")
_OUT_DIMS = ", ".join(f"coalesce({d}, {t})" for d, t in zip(_DIMS, _TOTALS, strict=True))
_LOCAL = (
    "(SELECT s.*, (s.hour AT TIME ZONE {zone})::date AS day,"
    " extract(hour FROM s.hour AT TIME ZONE {zone})::int AS lh FROM {source}) d"
)

_HOUR_KEY = "hour, inbox, channel, team, agent, priority, tag"
_DAY_KEY = "tag, day, inbox, channel, team, agent, priority"


def _counts_sql(source: str, zone: str, upsert: bool) -> str:
    sums = ", ".join(f"sum({c})::int" for c in COUNTS)
    hours = ", ".join(f"coalesce(sum(created) FILTER (WHERE lh = {h}), 0)::int" for h in range(24))
    nonzero = " OR ".join(f"sum({c}) <> 0" for c in COUNTS)
    sql = (
        f"INSERT INTO report_day ({_DAY_KEY}, {', '.join(COUNTS)}, created_hours)"
        f" SELECT tag, day, {_OUT_DIMS}, {sums}, ARRAY[{hours}]"
        f" FROM {_LOCAL.format(zone=zone, source=source)}"
        f" GROUP BY GROUPING SETS (({_DAY_KEY}), (tag, day)) HAVING {nonzero}"
    )
    if upsert:
        sql += (
            f" ON CONFLICT ({_DAY_KEY}) DO UPDATE SET "
            + ", ".join(f"{c} = report_day.{c} + excluded.{c}" for c in COUNTS)
            + ", created_hours = report_add_arrays(report_day.created_hours,"
            " excluded.created_hours)"
        )
    return sql


def _durations_sql(source: str, zone: str, upsert: bool) -> str:
    key = "tag, day, inbox, channel, team, agent, priority, metric, bucket"
    sql = (
        f"INSERT INTO report_day_duration ({key}, n, total)"
        f" SELECT tag, day, {_OUT_DIMS}, metric, bucket, sum(n)::int, sum(total)::bigint"
        f" FROM {_LOCAL.format(zone=zone, source=source)}"
        f" GROUP BY GROUPING SETS (({key}), (tag, day, metric, bucket))"
        " HAVING sum(n) <> 0 OR sum(total) <> 0"
    )
    if upsert:
        sql += (
            f" ON CONFLICT ({key}) DO UPDATE SET n = report_day_duration.n + excluded.n,"
            " total = report_day_duration.total + excluded.total"
        )
    return sql


_N = len(COUNTS)
# A batch's deltas, as the arrays store.save_deltas binds for report_hour; the zone comes last.
COUNTS_FROM_ARRAYS = _counts_sql(
    "unnest($1::timestamptz[], $2::int[], $3::text[], $4::int[], $5::int[], $6::text[],"
    f" $7::text[], {', '.join(f'${n + 8}::int[]' for n in range(_N))})"
    f" AS s({_HOUR_KEY}, {', '.join(COUNTS)})",
    f"${_N + 8}",
    upsert=True,
)
DURATIONS_FROM_ARRAYS = _durations_sql(
    "unnest($1::timestamptz[], $2::int[], $3::text[], $4::int[], $5::int[], $6::text[],"
    " $7::text[], $8::smallint[], $9::smallint[], $10::int[], $11::bigint[])"
    f" AS s({_HOUR_KEY}, metric, bucket, n, total)",
    "$12",
    upsert=True,
)


async def rebuild_days(conn: asyncpg.Connection, zone: str) -> None:
    """Recompute every daily row from the hourly rows in `zone` and record the zone (the caller
    holds the mark row, so no batch runs meanwhile)."""
    await conn.execute("TRUNCATE report_day, report_day_duration")
    await conn.execute(_counts_sql("report_hour s", "$1", upsert=False), zone)
    await conn.execute(_durations_sql("report_duration s", "$1", upsert=False), zone)
    await conn.execute("UPDATE report_mark SET zone = $1 WHERE id = 1", zone)
    # Every row is new: fresh statistics keep the reports' plans on the indexes.
    await conn.execute("ANALYZE report_day, report_day_duration")


async def zone_of_days(conn: asyncpg.Connection | asyncpg.Pool) -> str | None:
    """The zone the daily rows are in (None before the rollup first built them)."""
    return await conn.fetchval("SELECT zone FROM report_mark WHERE id = 1")
