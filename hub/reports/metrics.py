"""Metrics read from the rollups: grouped by period or dimension, never from messages.

A period report is two GROUP BYs over the range's daily rows (`report_day`, counts and the
created-per-local-hour array; `report_day_duration`, histograms), folded into days, weeks or
months, the totals and the weekday x hour heatmap in Python. Without a dimension filter it
reads the days' total rows (one per day and tag), with one the day x dimension rows. The
backlog at an instant is the backlog now (`report_open`) minus the +1/-1 rows after that
instant, so a recent range reads its own rows and a handful more.

The daily rows are in the zone the rollup last built them in (`report_mark.zone`); a report in
another zone (HUB_TIMEZONE changed and the job has not rebuilt them yet) reads the hourly rows
instead, turning UTC hours into local ones with AT TIME ZONE: the same answer, slower.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from typing import Any, TypeAlias

import asyncpg

from hub.reports import daily
from hub.reports.buckets import middle
from hub.reports.filters import Filters, Range, next_period, period_start
from hub.reports.fold import COUNTS, DURATIONS, SLA_TARGETS

FLOWS = ("created", "resolved", "reopened", "messages_in", "messages_out")
# A pool: each query of a report takes its own connection, so they run at the same time.
Db: TypeAlias = asyncpg.Pool | asyncpg.Connection
# metric -> (count, sum of seconds, median bucket, p90 bucket)
Durations = dict[int, tuple[int, int, int | None, int | None]]
Grid = list[list[int]]
_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTS)
_HEAT = ", ".join(f"sum(created_hours[{h + 1}])::bigint AS h{h}" for h in range(24))


def _level(filters: Filters, group: str | None) -> str:
    """Which daily rows answer: the totals, unless a dimension is filtered or grouped by."""
    return "detail" if filters.dimensioned() or group not in (None, "local", "tag") else "total"


class _Scope:
    """The rows a report reads: the range's days (daily rows in the range's zone), or its
    hours; `where` gives the time and filter conditions, appending their values to `params`."""

    def __init__(self, rng: Range, days: bool) -> None:
        self.rng, self.days = rng, days

    def where(self, params: list[Any], filters: Filters, group: str | None) -> str:
        if self.days:
            params += [self.rng.first, self.rng.last]
            time = f"day >= ${len(params) - 1} AND day <= ${len(params)}"
            level: str | None = _level(filters, group)
        else:
            params += [self.rng.start, self.rng.end]
            time = f"hour >= ${len(params) - 1} AND hour < ${len(params)}"
            level = None
        return f"{time} AND " + filters.where(params, tag_rows=group == "tag", level=level)

    def key(self, group: str | None, params: list[Any], unit: str) -> str:
        if group is None:
            return "NULL::text"
        if group != "local":
            return group  # a dimension column (the caller checked it)
        if self.days:
            return "day"
        params.append(self.rng.tz)
        return f"date_trunc('{unit}', hour AT TIME ZONE ${len(params)})"


async def days_in_zone(db: Db, rng: Range) -> bool:
    """Whether the daily rows are in the range's zone (else the hourly rows answer)."""
    return await daily.zone_of_days(db) == rng.tz


async def _counts(
    db: Db, scope: _Scope, filters: Filters, group: str | None
) -> dict[Any, dict[str, int]]:
    params: list[Any] = []
    key = scope.key(group, params, "hour")
    where = scope.where(params, filters, group)
    table = "report_day" if scope.days else "report_hour"
    rows = await db.fetch(
        f"SELECT {key} AS k, {_SUMS} FROM {table} WHERE {where} GROUP BY 1", *params
    )
    return {r["k"]: {c: int(r[c]) for c in COUNTS} for r in rows}


async def _period_counts(
    db: Db, scope: _Scope, filters: Filters
) -> tuple[dict[dt.date, dict[str, int]], Grid]:
    """Counts per local day, and the conversations created per weekday x local hour."""
    grid = [[0] * 24 for _ in range(7)]
    if not scope.days:
        out: dict[dt.date, dict[str, int]] = defaultdict(dict)
        for local, values in (await _counts(db, scope, filters, "local")).items():
            _add_counts(out[local.date()], values)
            grid[local.weekday()][local.hour] += values["created"]
        return out, grid
    params: list[Any] = []
    where = scope.where(params, filters, "local")
    rows = await db.fetch(
        f"SELECT day, {_SUMS}, {_HEAT} FROM report_day WHERE {where} GROUP BY 1", *params
    )
    for r in rows:
        cells = grid[r["day"].weekday()]
        for h in range(24):
            cells[h] += int(r[f"h{h}"])
    return {r["day"]: {c: int(r[c]) for c in COUNTS} for r in rows}, grid


# Medians and p90s from the histograms in the database: the range's rows summed per group,
# metric and bucket (plus, with GROUPING SETS, over the whole range: k NULL), then per group and
# metric the first bucket whose running count reaches the nearest rank — buckets.quantile's
# rule, in the same float arithmetic — so a report receives one row per group and metric
# instead of every bucket of every day.
_QUANTILES = (
    "WITH h AS (SELECT {key} AS k, metric, bucket, sum(n)::bigint AS n,"
    " sum(total)::bigint AS total FROM {table} WHERE {where} GROUP BY {grouping}),"
    " c AS (SELECT k, metric, bucket, total,"
    " sum(n) OVER (PARTITION BY k, metric ORDER BY bucket) AS running,"
    " (sum(n) OVER (PARTITION BY k, metric))::float8 AS count FROM h)"
    " SELECT k, metric, max(count)::bigint AS n, sum(total)::bigint AS total,"
    " min(bucket) FILTER (WHERE running >= greatest(1, ceil(0.5::float8 * count))) AS median,"
    " min(bucket) FILTER (WHERE running >= greatest(1, ceil(0.9::float8 * count))) AS p90"
    " FROM c GROUP BY k, metric"
)


def _period_key(local_day: str, period: str) -> str:
    if period == "day":
        return local_day
    return f"date_trunc('{period}', ({local_day})::timestamp)::date"  # weeks begin on Monday


async def _durations(
    db: Db,
    scope: _Scope,
    filters: Filters,
    group: str | None,
    *,
    period: str = "day",
    with_total: bool = False,
) -> dict[Any, Durations]:
    """Per value of `group` (a dimension, or "local": the period's first day) and metric:
    (count, sum of seconds, median bucket, p90 bucket); under None the whole range's when
    `with_total`."""
    params: list[Any] = []
    if group == "local":
        if scope.days:
            local_day = "day"
        else:
            params.append(scope.rng.tz)
            local_day = f"(hour AT TIME ZONE ${len(params)})::date"
        key = _period_key(local_day, period)
    else:
        key = scope.key(group, params, "day")
    where = scope.where(params, filters, group)
    grouping = "GROUPING SETS ((k, metric, bucket), (metric, bucket))" if with_total else "1, 2, 3"
    table = "report_day_duration" if scope.days else "report_duration"
    sql = _QUANTILES.format(key=key, table=table, where=where, grouping=grouping)
    out: dict[Any, Durations] = defaultdict(dict)
    for r in await db.fetch(sql, *params):
        out[r["k"]][r["metric"]] = (int(r["n"]), int(r["total"]), r["median"], r["p90"])
    return out


async def open_at(
    db: Db, scope: _Scope, filters: Filters, group: str | None, *, at_end: bool
) -> dict[Any, int]:
    """Conversations not resolved at the start (or end) of the scope's range, per value of
    `group` (one total under None): the backlog now less the backlog rows since then."""
    key = "NULL::text" if group is None else group
    params: list[Any] = []
    where = filters.where(params, tag_rows=group == "tag")
    now = await db.fetch(f"SELECT {key} AS k, sum(open)::bigint AS n FROM report_open WHERE {where} GROUP BY 1", *params)  # fmt: skip
    rng = scope.rng
    if scope.days:
        params = [rng.last + dt.timedelta(days=1) if at_end else rng.first]
        where = "day >= $1 AND " + filters.where(
            params, tag_rows=group == "tag", level=_level(filters, group)
        )
        table = "report_day"
    else:
        params = [rng.end if at_end else rng.start]
        where = "hour >= $1 AND " + filters.where(params, tag_rows=group == "tag")
        table = "report_hour"
    later = await db.fetch(
        f"SELECT {key} AS k, sum(backlog)::bigint AS n FROM {table} WHERE {where} GROUP BY 1",
        *params,
    )
    out: dict[Any, int] = defaultdict(int)
    for r in now:
        out[r["k"]] += int(r["n"] or 0)
    for r in later:
        out[r["k"]] -= int(r["n"] or 0)
    return out


def _add_counts(into: dict[str, int], more: dict[str, int]) -> None:
    for name, value in more.items():
        into[name] = into.get(name, 0) + value


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _middle(bucket: int | None) -> float | None:
    return None if bucket is None else round(middle(bucket), 1)


def derive(counts: dict[str, int], durations: Durations) -> dict[str, Any]:
    """The metrics of one group from its summed counts and its durations' quantile buckets."""
    out: dict[str, Any] = {name: counts.get(name, 0) for name in FLOWS}
    for name, metric in DURATIONS.items():
        n, total, median, p90 = durations.get(metric, (0, 0, None, None))
        out[f"{name}_count"] = n
        out[f"{name}_median"] = _middle(median) if n else None
        out[f"{name}_p90"] = _middle(p90) if n else None
        out[f"{name}_avg"] = round(total / n, 1) if n else None
    for target in SLA_TARGETS:
        met = counts.get(f"sla_{target}_met", 0)
        breached = counts.get(f"sla_{target}_breached", 0)
        out[f"sla_{target}_met"] = met
        out[f"sla_{target}_breached"] = breached
        out[f"sla_{target}_compliance"] = _percent(met, met + breached)
    sent, received = counts.get("csat_sent", 0), counts.get("csat_received", 0)
    out["csat_sent"] = sent
    out["csat_received"] = received
    out["csat_score"] = _percent(counts.get("csat_positive", 0), received)
    out["csat_average"] = round(counts.get("csat_sum", 0) / received, 2) if received else None
    out["csat_response_rate"] = _percent(received, sent)
    return out


METRICS = (*derive({}, {}).keys(), "backlog")


async def by_period(
    db: Db, rng: Range, filters: Filters, period: str, *, days: bool | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any], Grid]:
    """(one row per day / week / month of the range, empty ones included, with the backlog at
    each period's end; the range's totals with the backlog at its end; the heatmap: conversations
    created per weekday (Monday first) x local hour). `days` forces the daily (True) or hourly
    (False) rows; by default the daily ones when they are in the range's zone."""
    if days is None:
        days = await days_in_zone(db, rng)
    scope = _Scope(rng, days)
    (per_day, grid), durations, open_start = await asyncio.gather(
        _period_counts(db, scope, filters),
        _durations(db, scope, filters, "local", period=period, with_total=True),
        open_at(db, scope, filters, None, at_end=False),
    )
    opening = open_start.get(None, 0)
    counts: dict[dt.date, dict[str, int]] = defaultdict(dict)
    total_counts: dict[str, int] = {}
    for day, values in per_day.items():
        _add_counts(counts[period_start(day, period)], values)
        _add_counts(total_counts, values)
    rows = []
    open_ = opening
    for first in rng.periods(period):
        row = derive(counts.get(first, {}), durations.get(first, {}))
        open_ += counts.get(first, {}).get("backlog", 0)
        row["backlog"] = open_
        last = min(next_period(first, period) - dt.timedelta(days=1), rng.last)
        rows.append({"period": first.isoformat(), "period_end": last.isoformat(), **row})
    total = derive(total_counts, durations.get(None, {}))
    total["backlog"] = opening + total_counts.get("backlog", 0)
    return rows, total, grid


async def by_dimension(
    db: Db, rng: Range, filters: Filters, dimension: str, *, days: bool | None = None
) -> dict[Any, dict[str, Any]]:
    """Metrics per value of `dimension`; `backlog` is what was open at the end of the range."""
    if days is None:
        days = await days_in_zone(db, rng)
    scope = _Scope(rng, days)
    counts, durations, open_at_end = await asyncio.gather(
        _counts(db, scope, filters, dimension),
        _durations(db, scope, filters, dimension),
        open_at(db, scope, filters, dimension, at_end=True),
    )
    keys = set(counts) | set(durations) | {k for k, v in open_at_end.items() if v}
    out = {}
    for k in keys:
        row = derive(counts.get(k, {}), durations.get(k, {}))
        row["backlog"] = open_at_end.get(k, 0)
        out[k] = row
    return out
