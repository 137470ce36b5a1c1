"""Reports (rollups read by hub.reports), their CSV forms, the conversation export, transcripts."""

from __future__ import annotations

import zoneinfo
from typing import Annotated, Any

from litestar import MediaType, Response, get
from litestar.params import Parameter
from litestar.response import Stream

from hub.auth import access, audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.reports import export, metrics, transcript, views
from hub.reports.filters import Filters, Range, ReportInputError, parse_period, parse_range
from hub.system import clock
from hub.system.services import current
from web.errors import ApiError

Text = Annotated[str | None, Parameter(default=None)]
Id = Annotated[int | None, Parameter(default=None, gt=0)]
From = Annotated[str | None, Parameter(query="from", default=None, description="YYYY-MM-DD")]
To = Annotated[str | None, Parameter(query="to", default=None, description="YYYY-MM-DD, inclusive")]
# `?format=csv` answers text/csv; kept out of the OpenAPI document, which describes the JSON
# answers only (one media type per status there); docs/api.md documents the CSV.
Format = Annotated[str, Parameter(default="json", pattern="^(json|csv)$", include_in_schema=False)]


def _tz() -> str:
    return current().settings.timezone


def scope(raw_from: str | None, raw_to: str | None) -> Range:
    tz = _tz()
    today = clock.now().astimezone(zoneinfo.ZoneInfo(tz)).date()
    try:
        return parse_range(raw_from, raw_to, tz, today)
    except ReportInputError as exc:
        raise ApiError(
            422, f"{exc.field}: {exc}", code="invalid_input", details={"path": exc.field}
        ) from None


def period(raw: str | None) -> str:
    try:
        return parse_period(raw)
    except ReportInputError as exc:
        raise ApiError(
            422, f"{exc.field}: {exc}", code="invalid_input", details={"path": exc.field}
        ) from None


def _csv(body: str, name: str) -> Response[str]:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )


@get("/api/v1/reports/summary", tags=["reports"], permission=Permission.VIEW_REPORTS)
async def summary(
    principal: Principal, from_: From, to: To, inbox: Id, channel: Text, team: Id, agent: Id,
    tag: Text, priority: Text, format: Format,
) -> Any:  # fmt: skip
    """Every metric for the range, and the busiest hours (weekday x local hour)."""
    rng, filters = scope(from_, to), Filters(inbox, channel, team, agent, tag, priority)
    answer = await views.summary(rng, filters)
    if format == "csv":
        return _csv(export.summary_csv(answer), "summary")
    return answer


@get("/api/v1/reports/busiest-hours", tags=["reports"], permission=Permission.VIEW_REPORTS)
async def busiest_hours(
    principal: Principal, from_: From, to: To, inbox: Id, channel: Text, team: Id, agent: Id,
    tag: Text, priority: Text, format: Format,
) -> Any:  # fmt: skip
    """Conversations created per weekday (Monday first) x local hour."""
    answer = await views.summary(
        scope(from_, to), Filters(inbox, channel, team, agent, tag, priority)
    )
    if format == "csv":
        return _csv(export.heatmap_csv(answer["busiest_hours"]), "busiest-hours")
    return {"busiest_hours": answer["busiest_hours"]}


@get("/api/v1/reports/timeseries", tags=["reports"], permission=Permission.VIEW_REPORTS)
async def timeseries(
    principal: Principal, metric: str, from_: From, to: To, group_by: Text, inbox: Id,
    channel: Text, team: Id, agent: Id, tag: Text, priority: Text, format: Format,
) -> Any:  # fmt: skip
    """One metric per day / week / month (`group_by`); empty periods are zeros."""
    rng, filters = scope(from_, to), Filters(inbox, channel, team, agent, tag, priority)
    try:
        answer = await views.timeseries(rng, filters, metric, period(group_by))
    except ReportInputError as exc:
        raise ApiError(
            422, f"{exc.field}: {exc}", code="invalid_input", details={"path": exc.field}
        ) from None
    if format == "csv":
        return _csv(export.records_csv(answer["points"], ("period", "period_end", "value")), metric)
    return answer


@get("/api/v1/reports/overview", tags=["reports"], permission=Permission.VIEW_REPORTS)
async def overview(
    principal: Principal, from_: From, to: To, group_by: Text, inbox: Id, channel: Text,
    team: Id, agent: Id, tag: Text, priority: Text, format: Format,
) -> Any:  # fmt: skip
    """Totals, every metric per period and the heatmap in one answer (what the overview draws)."""
    rng, filters = scope(from_, to), Filters(inbox, channel, team, agent, tag, priority)
    answer = await views.overview(rng, filters, period(group_by))
    if format == "csv":
        return _csv(export.records_csv(answer["periods"], ("period", *metrics.METRICS)), "overview")
    return answer


def _table_handler(dimension: str, path: str) -> Any:
    @get(
        path,
        tags=["reports"],
        name=f"reports-{dimension}",
        description=f"Metrics per {dimension} for the range, busiest first.",
        permission=Permission.VIEW_REPORTS,
    )
    async def handler(
        principal: Principal, from_: From, to: To, inbox: Id, channel: Text, team: Id,
        agent: Id, tag: Text, priority: Text, format: Format,
    ) -> Any:  # fmt: skip
        rng, filters = scope(from_, to), Filters(inbox, channel, team, agent, tag, priority)
        answer = await views.table(rng, filters, dimension)
        if format == "csv":
            columns = (
                ("id", "name", *views.TABLE_COLUMNS)
                if dimension != "tag"
                else ("name", *views.TABLE_COLUMNS)
            )
            return _csv(export.records_csv(answer["rows"], columns), f"{dimension}s")
        return answer

    return handler


@get("/api/v1/reports/sla", tags=["reports"], permission=Permission.VIEW_REPORTS)
async def sla(
    principal: Principal, from_: From, to: To, group_by: Text, inbox: Id, channel: Text,
    team: Id, agent: Id, tag: Text, priority: Text, format: Format,
) -> Any:  # fmt: skip
    """Met / breached / compliance % per SLA target, for the range and per period."""
    rng, filters = scope(from_, to), Filters(inbox, channel, team, agent, tag, priority)
    answer = await views.sla(rng, filters, period(group_by))
    if format == "csv":
        return _csv(export.sla_csv(answer), "sla")
    return answer


@get(
    "/api/v1/reports/conversations",
    tags=["reports"],
    permission=Permission.VIEW_REPORTS,
    media_type="text/csv",
)
async def export_conversations(
    principal: Principal, from_: From, to: To, inbox: Id, channel: Text, team: Id, agent: Id,
    tag: Text, priority: Text,
) -> Stream:  # fmt: skip
    """CSV of the conversations created in the range with their metrics, streamed."""
    rng, filters = scope(from_, to), Filters(inbox, channel, team, agent, tag, priority)
    await audit.record(
        "reports.export", actor_id=principal.agent.id, target_type="conversations",
        data={"from": rng.first.isoformat(), "to": rng.last.isoformat()},
    )  # fmt: skip
    return Stream(
        export.conversations_csv(rng, filters),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="conversations.csv"'},
    )


@get(
    "/api/v1/conversations/{conversation_id:int}/transcript",
    tags=["conversations"],
    permission=Permission.READ_CONVERSATIONS,
    media_type="text/plain",
)
async def conversation_transcript(
    principal: Principal,
    conversation_id: int,
    # `html` answers an HTML page; the document describes the plain-text default.
    format: Annotated[
        str, Parameter(default="text", pattern="^(text|html)$", include_in_schema=False)
    ],
) -> Response[str]:
    """The conversation's messages and notes in order, as plain text or an HTML page."""
    await access.check_conversation(principal.agent, conversation_id)
    head, messages = await transcript.load(conversation_id)
    name = f"conversation-{head['ref']}"
    if format == "html":
        return Response(transcript.as_html(head, messages, _tz()), media_type=MediaType.HTML)
    return Response(
        transcript.as_text(head, messages, _tz()),
        media_type="text/plain; charset=utf-8",
        headers={"content-disposition": f'inline; filename="{name}.txt"'},
    )


handlers = [
    summary,
    busiest_hours,
    timeseries,
    overview,
    _table_handler("agent", "/api/v1/reports/agents"),
    _table_handler("team", "/api/v1/reports/teams"),
    _table_handler("tag", "/api/v1/reports/tags"),
    _table_handler("inbox", "/api/v1/reports/inboxes"),
    sla,
    export_conversations,
    conversation_transcript,
]
