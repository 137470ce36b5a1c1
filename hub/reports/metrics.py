"""Metrics read from the rollups: grouped by period or dimension, never from messages.

A period report is two GROUP BYs over the range's rows (counts per local hour, histograms per
local day; AT TIME ZONE turns the UTC hours into the account's), folded into days, weeks or
months, the totals and the weekday x hour heatmap in Python. The backlog at an instant is the
backlog now (`report_open`) minus the +1/-1 rows after that instant, so a recent range reads
its own rows and a handful more.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from typing import Any, TypeAlias

import asyncpg

from hub.reports.buckets import quantile
from hub.reports.filters import Filters, Range, next_period, period_start
from hub.reports.fold import COUNTS, DURATIONS, SLA_TARGETS

FLOWS = ("created", "resolved", "reopened", "messages_in", "messages_out")
# A pool: each query of a report takes its own connection, so they run at the same time.
Db: TypeAlias = asyncpg.Pool | asyncpg.Connection
Histograms = dict[int, tuple[dict[int, int], int]]  # metric -> ({bucket: n}, sum of seconds)
_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTS)


def _key_sql(group: str | None, params: list[Any], tz: str, unit: str = "hour") -> str:
    if group is None:
        return "NULL::text"
    if group == "local":
        params.append(tz)
        return f"date_trunc('{unit}', hour AT TIME ZONE ${len(params)})"
    return group  # a dimension column (the caller checked it)


async def _counts(
    db: Db, rng: Range, filters: Filters, group: str | None
) -> dict[Any, dict[str, int]]:
    params: list[Any] = [rng.start, rng.end]
    key = _key_sql(group, params, rng.tz)
    where = filters.where(params, tag_rows=group == "tag")
    rows = await db.fetch(
        f"SELECT {key} AS k, {_SUMS} FROM report_hour WHERE hour >= $1 AND hour < $2 AND {where}"
        " GROUP BY 1",
        *params,
    )
    return {r["k"]: {c: int(r[c]) for c in COUNTS} for r in rows}


async def _durations(
    db: Db, rng: Range, filters: Filters, group: str | None
) -> dict[Any, Histograms]:
    params: list[Any] = [rng.start, rng.end]
    key = _key_sql(group, params, rng.tz, "day")
    where = filters.where(params, tag_rows=group == "tag")
    rows = await db.fetch(
        f"SELECT {key} AS k, metric, bucket, sum(n)::bigint AS n, sum(total)::bigint AS total"
        f" FROM report_duration WHERE hour >= $1 AND hour < $2 AND {where} GROUP BY 1, 2, 3",
        *params,
    )
    out: dict[Any, Histograms] = defaultdict(dict)
    for r in rows:
        hist, total = out[r["k"]].get(r["metric"], ({}, 0))
        hist[r["bucket"]] = int(r["n"])
        out[r["k"]][r["metric"]] = (hist, total + int(r["total"]))
    return out


async def open_at(db: Db, when: dt.datetime, filters: Filters, group: str | None) -> dict[Any, int]:
    """Conversations not resolved at `when`, per value of `group` (one total under None)."""
    key = "NULL::text" if group is None else group
    params: list[Any] = []
    where = filters.where(params, tag_rows=group == "tag")
    now = await db.fetch(f"SELECT {key} AS k, sum(open)::bigint AS n FROM report_open WHERE {where} GROUP BY 1", *params)  # fmt: skip
    params = [when]
    where = filters.where(params, tag_rows=group == "tag")
    later = await db.fetch(
        f"SELECT {key} AS k, sum(backlog)::bigint AS n FROM report_hour WHERE hour >= $1"
        f" AND {where} GROUP BY 1",
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


def _add_histograms(into: Histograms, more: Histograms) -> None:
    for metric, (hist, total) in more.items():
        mine, my_total = into.get(metric, ({}, 0))
        mine = dict(mine)
        for bucket, n in hist.items():
            mine[bucket] = mine.get(bucket, 0) + n
        into[metric] = (mine, my_total + total)


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def derive(counts: dict[str, int], durations: Histograms) -> dict[str, Any]:
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


METRICS = (*derive({}, {}).keys(), "backlog")


async def by_period(
    db: Db, rng: Range, filters: Filters, period: str
) -> tuple[list[dict[str, Any]], dict[str, Any], list[list[int]]]:
    """(one row per day / week / month of the range, empty ones included, with the backlog at
    each period's end; the range's totals with the backlog at its end; the heatmap: conversations
    created per weekday (Monday first) x local hour)."""
    hourly, daily, open_start = await asyncio.gather(
        _counts(db, rng, filters, "local"),
        _durations(db, rng, filters, "local"),
        open_at(db, rng.start, filters, None),
    )
    opening = open_start.get(None, 0)
    counts: dict[dt.date, dict[str, int]] = defaultdict(dict)
    total_counts: dict[str, int] = {}
    grid = [[0] * 24 for _ in range(7)]
    for local, values in hourly.items():
        _add_counts(counts[period_start(local.date(), period)], values)
        _add_counts(total_counts, values)
        grid[local.weekday()][local.hour] += values["created"]
    histograms: dict[dt.date, Histograms] = defaultdict(dict)
    total_histograms: Histograms = {}
    for local, hists in daily.items():
        _add_histograms(histograms[period_start(local.date(), period)], hists)
        _add_histograms(total_histograms, hists)
    rows = []
    open_ = opening
    for first in rng.periods(period):
        row = derive(counts.get(first, {}), histograms.get(first, {}))
        open_ += counts.get(first, {}).get("backlog", 0)
        row["backlog"] = open_
        last = min(next_period(first, period) - dt.timedelta(days=1), rng.last)
        rows.append({"period": first.isoformat(), "period_end": last.isoformat(), **row})
    total = derive(total_counts, total_histograms)
    total["backlog"] = opening + total_counts.get("backlog", 0)
    return rows, total, grid


async def by_dimension(
    db: Db, rng: Range, filters: Filters, dimension: str
) -> dict[Any, dict[str, Any]]:
    """Metrics per value of `dimension`; `backlog` is what was open at the end of the range."""
    counts, durations, open_at_end = await asyncio.gather(
        _counts(db, rng, filters, dimension),
        _durations(db, rng, filters, dimension),
        open_at(db, rng.end, filters, dimension),
    )
    keys = set(counts) | set(durations) | {k for k, v in open_at_end.items() if v}
    out = {}
    for k in keys:
        row = derive(counts.get(k, {}), durations.get(k, {}))
        row["backlog"] = open_at_end.get(k, 0)
        out[k] = row
    return out
