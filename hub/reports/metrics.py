"""Metrics read from the rollups: grouped by period or dimension, never from messages.

Every query is a GROUP BY over `report_hour` / `report_duration` rows of the range (hours are
UTC; a period is the local day, week or month its hour starts in, via AT TIME ZONE). The
backlog is a running sum of +1/-1 rows: the sum before the range start, then per period.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import asyncpg

from hub.reports.buckets import quantile
from hub.reports.filters import PERIODS, Filters, Range, next_period
from hub.reports.fold import COUNTS, DURATIONS, SLA_TARGETS

FLOWS = ("created", "resolved", "reopened", "messages_in", "messages_out")


def _group_sql(group: str | None, params: list[Any], tz: str) -> str:
    if group is None:
        return "NULL::text"
    if group in PERIODS:
        params.append(tz)
        return f"date_trunc('{group}', hour AT TIME ZONE ${len(params)})::date"
    return group  # a dimension column (checked by the caller against DIMENSIONS)


async def _counts(
    conn: asyncpg.Connection, rng: Range, filters: Filters, group: str | None
) -> dict[Any, dict[str, int]]:
    params: list[Any] = [rng.start, rng.end]
    key = _group_sql(group, params, rng.tz)
    where = filters.where(params, tag_rows=group == "tag")
    sums = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTS)
    rows = await conn.fetch(
        f"SELECT {key} AS k, {sums} FROM report_hour WHERE hour >= $1 AND hour < $2 AND {where}"
        " GROUP BY 1",
        *params,
    )
    return {r["k"]: {c: int(r[c]) for c in COUNTS} for r in rows}


async def _durations(
    conn: asyncpg.Connection, rng: Range, filters: Filters, group: str | None
) -> dict[Any, dict[int, tuple[dict[int, int], int]]]:
    params: list[Any] = [rng.start, rng.end]
    key = _group_sql(group, params, rng.tz)
    where = filters.where(params, tag_rows=group == "tag")
    rows = await conn.fetch(
        f"SELECT {key} AS k, metric, bucket, sum(n)::bigint AS n, sum(total)::bigint AS total"
        f" FROM report_duration WHERE hour >= $1 AND hour < $2 AND {where} GROUP BY 1, 2, 3",
        *params,
    )
    out: dict[Any, dict[int, tuple[dict[int, int], int]]] = defaultdict(dict)
    for r in rows:
        hist, total = out[r["k"]].get(r["metric"], ({}, 0))
        hist[r["bucket"]] = int(r["n"])
        out[r["k"]][r["metric"]] = (hist, total + int(r["total"]))
    return out


async def _backlog_before(
    conn: asyncpg.Connection, before: dt.datetime, filters: Filters, group: str | None
) -> dict[Any, int]:
    params: list[Any] = [before]
    key = "NULL::text" if group is None or group in PERIODS else group
    where = filters.where(params, tag_rows=group == "tag")
    rows = await conn.fetch(
        f"SELECT {key} AS k, sum(backlog)::bigint AS open FROM report_hour"
        f" WHERE hour < $1 AND {where} GROUP BY 1",
        *params,
    )
    return {r["k"]: int(r["open"] or 0) for r in rows}


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def derive(
    counts: dict[str, int], durations: dict[int, tuple[dict[int, int], int]]
) -> dict[str, Any]:
    """The metrics of one group from its summed counts and histograms."""
    out: dict[str, Any] = {name: counts.get(name, 0) for name in FLOWS}
    for name, metric in DURATIONS.items():
        hist, total = durations.get(metric, ({}, 0))
        n = sum(hist.values())
        out[f"{name}_count"] = n
        out[f"{name}_median"] = _round(quantile(hist, 0.5))
        out[f"{name}_p90"] = _round(quantile(hist, 0.9))
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


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


METRICS = (*derive({}, {}).keys(), "backlog")


async def by_period(
    conn: asyncpg.Connection, rng: Range, filters: Filters, period: str
) -> list[dict[str, Any]]:
    """One row per day / week / month of the range (empty periods included), with the backlog
    open at each period's end."""
    counts = await _counts(conn, rng, filters, period)
    durations = await _durations(conn, rng, filters, period)
    open_ = (await _backlog_before(conn, rng.start, filters, None)).get(None, 0)
    rows = []
    for first in rng.periods(period):
        row = derive(counts.get(first, {}), durations.get(first, {}))
        open_ += counts.get(first, {}).get("backlog", 0)
        row["backlog"] = open_
        last = min(next_period(first, period) - dt.timedelta(days=1), rng.last)
        rows.append({"period": first.isoformat(), "period_end": last.isoformat(), **row})
    return rows


async def by_dimension(
    conn: asyncpg.Connection, rng: Range, filters: Filters, dimension: str | None
) -> dict[Any, dict[str, Any]]:
    """Metrics per value of `dimension` (or one total under None); `backlog` is what was open
    at the end of the range."""
    counts = await _counts(conn, rng, filters, dimension)
    durations = await _durations(conn, rng, filters, dimension)
    open_at_end = await _backlog_before(conn, rng.end, filters, dimension)
    keys = set(counts) | set(durations) | {k for k, v in open_at_end.items() if v}
    if dimension is None:
        keys.add(None)
    out = {}
    for k in keys:
        row = derive(counts.get(k, {}), durations.get(k, {}))
        row["backlog"] = open_at_end.get(k, 0)
        out[k] = row
    return out


async def heatmap(
    conn: asyncpg.Connection, rng: Range, filters: Filters, metric: str = "created"
) -> list[list[int]]:
    """7 x 24 counts (Monday first, local hours) of conversations created (or messages in)."""
    params: list[Any] = [rng.start, rng.end, rng.tz]
    where = filters.where(params)
    column = "messages_in" if metric == "messages_in" else "created"
    rows = await conn.fetch(
        "SELECT extract(isodow FROM hour AT TIME ZONE $3)::int AS d,"
        f" extract(hour FROM hour AT TIME ZONE $3)::int AS h, sum({column})::bigint AS n"
        f" FROM report_hour WHERE hour >= $1 AND hour < $2 AND {where} GROUP BY 1, 2",
        *params,
    )
    grid = [[0] * 24 for _ in range(7)]
    for r in rows:
        grid[r["d"] - 1][r["h"]] += int(r["n"])
    return grid
