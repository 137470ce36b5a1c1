"""Time rules: a cron sweep finds the conversations each time trigger is due for.

Each trigger is one indexed query (a partial index per trigger, walked oldest first, at most
`limit` rows a rule a tick) against one bound: now minus X, or X business minutes ago on the
rule's calendar (one instant for every conversation, so the index still serves). A conversation
acts once per rule and occurrence (the timestamp the trigger counts from: resolved again later
is a new occurrence): the run row is the claim, and a second worker's insert finds it taken.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from hub.automation import calendars, conditions, context, model, rules
from hub.automation.engine import apply, rule_calendars
from hub.automation.validation import Compiled
from hub.db.engine import connection_pool
from hub.system import clock

# trigger → (where, the timestamp it counts from); each matches a partial index of the migration.
_DUE: dict[type[model.TimeTrigger], tuple[str, str]] = {
    model.ResolvedFor: ("c.status = 'resolved'", "c.resolved_at"),
    model.PendingFor: ("c.status = 'pending'", "c.status_since"),
    model.NoAgentReply: ("c.waiting_since IS NOT NULL AND c.status = 'open'", "c.waiting_since"),
    model.NoCustomerMessage: (
        "c.waiting_since IS NULL AND c.status IN ('open', 'pending')",
        "c.last_message_at",
    ),
}


def _query(trigger: model.TimeTrigger, scoped: bool) -> str:
    where, column = _DUE[type(trigger)]
    stamp = f"floor(extract(epoch FROM {column}) * 1000000)::bigint::text"
    scope = " AND c.inbox = ANY($4::int[])" if scoped else ""
    return (
        f"SELECT c.id, {stamp} AS occurrence FROM conversation c WHERE {where}"
        f" AND {column} <= $2{scope} AND NOT EXISTS (SELECT 1 FROM automation_run r"
        f" WHERE r.rule = $1 AND r.conversation = c.id AND r.occurrence = {stamp})"
        f" ORDER BY {column}, c.id LIMIT $3"
    )


async def _bound(rule: Compiled, now: dt.datetime) -> dt.datetime:
    trigger = rule.rule.trigger
    assert isinstance(trigger, model.TIME_TRIGGERS)
    if trigger.business_hours_id is None:
        return now - dt.timedelta(minutes=trigger.minutes)
    async with connection_pool().acquire() as conn:
        loaded = await calendars.load(conn, [trigger.business_hours_id])
    calendar = loaded.get(trigger.business_hours_id)
    if calendar is None:
        return dt.datetime.min.replace(tzinfo=dt.UTC)  # its calendar was deleted: never due
    return calendars.business_cutoff(calendar, now, trigger.minutes)


async def due(rule: Compiled, *, limit: int = 500) -> list[tuple[int, str]]:
    """(conversation, occurrence) pairs due for a time rule and not yet run."""
    trigger = rule.rule.trigger
    assert isinstance(trigger, model.TIME_TRIGGERS)
    bound = await _bound(rule, clock.now())
    args: list[Any] = [rule.id, bound, limit]
    if rule.rule.inbox_ids is not None:
        args.append(rule.rule.inbox_ids)
    rows = await connection_pool().fetch(_query(trigger, rule.rule.inbox_ids is not None), *args)
    return [(r["id"], r["occurrence"]) for r in rows]


async def sweep(*, limit: int = 500) -> dict[str, int]:
    """One tick over every enabled time rule; returns how many conversations each rule acted on."""
    async with connection_pool().acquire() as conn:
        rule_list = await rules.enabled(conn, timed=True)
    done: dict[str, int] = {}
    if not rule_list:
        return done
    cals = await rule_calendars(rule_list)
    for rule in rule_list:
        pairs = await due(rule, limit=limit)
        if not pairs:
            continue
        async with connection_pool().acquire() as conn:
            facts = await context.load(conn, [c for c, _ in pairs])
        acted = 0
        now = clock.now()
        for conversation_id, occurrence in pairs:
            found = facts.get(conversation_id)
            if found is None:
                continue
            trace: list[dict[str, Any]] = []
            if not conditions.evaluate(rule.tree, dataclasses.replace(found), now, cals, trace):
                continue
            status = await apply(rule, found, chain=[], trace=trace, occurrence=occurrence)
            acted += status is not None
        done[str(rule.id)] = acted
    return done
