"""The report endpoints' answers: summary, time series, agent / team / tag tables, SLA."""

from __future__ import annotations

from typing import Any

from hub.db.engine import connection_pool
from hub.reports import metrics
from hub.reports.filters import Filters, Range, ReportInputError
from hub.reports.fold import SLA_TARGETS

TABLE_COLUMNS = (
    "created", "resolved", "reopened", "backlog", "messages_in", "messages_out",
    "first_response_median", "first_response_p90", "first_response_avg",
    "first_response_business_median", "resolution_median", "resolution_p90", "resolution_avg",
    "resolution_business_median", "sla_first_response_compliance",
    "sla_resolution_compliance", "csat_score", "csat_response_rate",
)  # fmt: skip


def _meta(rng: Range, filters: Filters) -> dict[str, Any]:
    return {
        "from": rng.first.isoformat(),
        "to": rng.last.isoformat(),
        "timezone": rng.tz,
        "filters": {k: v for k, v in vars(filters).items() if v is not None},
    }


async def summary(rng: Range, filters: Filters) -> dict[str, Any]:
    _rows, total, grid = await metrics.by_period(connection_pool(), rng, filters, "day")
    return {**_meta(rng, filters), "metrics": total, "busiest_hours": grid}


async def timeseries(rng: Range, filters: Filters, metric: str, period: str) -> dict[str, Any]:
    if metric not in metrics.METRICS:
        raise ReportInputError("metric", f"must be one of {', '.join(metrics.METRICS)}")
    rows, _total, _grid = await metrics.by_period(connection_pool(), rng, filters, period)
    return {
        **_meta(rng, filters),
        "metric": metric,
        "group_by": period,
        "points": [
            {"period": r["period"], "period_end": r["period_end"], "value": r[metric]} for r in rows
        ],
    }


async def overview(rng: Range, filters: Filters, period: str) -> dict[str, Any]:
    """What the overview page draws: totals, every metric per period, the heatmap."""
    rows, total, grid = await metrics.by_period(connection_pool(), rng, filters, period)
    return {**_meta(rng, filters), "metrics": total, "periods": rows, "busiest_hours": grid}


_NAMES = {
    "agent": "SELECT id, name FROM agent",
    "team": "SELECT id, name FROM team",
    "inbox": "SELECT id, name FROM inbox",
}


async def table(rng: Range, filters: Filters, dimension: str) -> dict[str, Any]:
    """One row per agent / team / tag, busiest first."""
    pool = connection_pool()
    grouped = await metrics.by_dimension(pool, rng, filters, dimension)
    names: dict[Any, str] = {}
    if dimension in _NAMES:
        names = {r["id"]: r["name"] for r in await pool.fetch(_NAMES[dimension])}
    rows = []
    for key, values in grouped.items():
        if dimension in _NAMES:
            name = names.get(key, f"#{key}") if key else f"(no {dimension})"
            ident: dict[str, Any] = {"id": key or None, "name": name}
        else:
            ident = {"name": key}
        rows.append({**ident, **values})
    rows.sort(key=lambda r: (-r["created"], -r["resolved"], str(r["name"])))
    return {**_meta(rng, filters), "group_by": dimension, "rows": rows}


async def sla(rng: Range, filters: Filters, period: str) -> dict[str, Any]:
    """Compliance per target for the range, and per period."""
    rows, total, _grid = await metrics.by_period(connection_pool(), rng, filters, period)

    def targets(values: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "target": t,
                "met": values[f"sla_{t}_met"],
                "breached": values[f"sla_{t}_breached"],
                "compliance": values[f"sla_{t}_compliance"],
            }
            for t in SLA_TARGETS
        ]

    return {
        **_meta(rng, filters),
        "group_by": period,
        "targets": targets(total),
        "periods": [{"period": r["period"], "targets": targets(r)} for r in rows],
    }
