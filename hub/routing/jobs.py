"""Jobs of routing: assignment after the events that matter, a sweep, and away after absence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from saq.types import Context

from hub.db.engine import connection_pool
from hub.jobs.registry import job
from hub.realtime.events import Event
from hub.realtime.subscribers import subscribe
from hub.routing import assign, availability
from hub.system.services import current


async def _teams_to_route(batch: Sequence[Event]) -> set[int]:
    """Teams whose queue may move: a conversation arrived, was unassigned or moved team, an agent
    freed capacity (resolved, pending → resolved) or became available."""
    teams: set[int] = set()
    agents: set[int] = set()
    for event in batch:
        data = event.data
        if event.type == "agent.updated":
            if data.get("availability") == "available":
                agents.add(int(data["id"]))
            continue
        team = data.get("team_id")
        if team is not None and data.get("assignee_id") is None and data.get("status") == "open":
            teams.add(int(team))
        previous = data.get("previous") or {}
        if previous.get("assignee"):
            agents.add(int(previous["assignee"]))
        if data.get("status") in ("resolved", "closed") and data.get("assignee_id"):
            agents.add(int(data["assignee_id"]))
    if agents:
        rows = await connection_pool().fetch(
            "SELECT DISTINCT team FROM team_member WHERE agent = ANY($1::int[])", sorted(agents)
        )
        teams.update(r["team"] for r in rows)
    return teams


async def route(batch: Sequence[Event]) -> None:
    for team in sorted(await _teams_to_route(batch)):
        await assign.assign_waiting(team)


subscribe("routing", ("conversation.created", "conversation.updated", "agent.updated"), route)


# The sweep catches what no event announced (capacity raised, a policy switched on) and retries
# a team another worker held at that moment.
@job(timeout=60, retries=1, cron="* * * * * */5")
async def route_waiting(ctx: Context) -> dict[str, Any]:
    return await assign.assign_all()


@job(timeout=60, retries=1, cron="* * * * * */30")
async def mark_absent_away(ctx: Context) -> list[int]:
    return await availability.mark_absent_away(current().settings.away_after_seconds)
