"""Running rules: the `automation` event subscriber, the shared matcher, and the dry run.

Rules run in their order; the first matching rule with `stop_processing` ends the list for that
event. A rule never runs on a change that it (or any rule before it in the same chain) made,
and a chain longer than `automation_max_depth` stops; both are logged, neither raises. Rules run
in the subscriber's delivery job, after ingest committed: a slow or failing rule delays no
inbound message, and a failing action is a line in the run log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from hub.automation import actions, calendars, conditions, context, model, rules, runlog, triggers
from hub.automation.context import Facts
from hub.automation.validation import Compiled, leaves
from hub.db.engine import connection_pool
from hub.realtime.events import Event
from hub.system import clock
from hub.system.services import current

log = logging.getLogger(__name__)


def _in_scope(rule: Compiled, inbox: int | None) -> bool:
    return rule.rule.inbox_ids is None or inbox in rule.rule.inbox_ids


async def rule_calendars(rule_list: Sequence[Compiled]) -> conditions.Calendars:
    ids = {
        node.leaf.business_hours_id
        for r in rule_list
        for node in leaves(r.tree)
        if isinstance(node.leaf, model.BusinessHours)
    }
    if not ids:
        return {}
    async with connection_pool().acquire() as conn:
        return calendars.open_checks(await calendars.load(conn, ids))


def _max_depth() -> int:
    try:
        return current().settings.automation_max_depth
    except Exception:  # outside a started process (a script): the documented default
        return 5


async def apply(
    rule: Compiled,
    facts: Facts,
    *,
    chain: list[int],
    trace: list[dict[str, Any]],
    event_id: int | None = None,
    occurrence: str | None = None,
) -> str | None:
    """Log and run one matched rule; returns the run's status (None: already run elsewhere)."""
    depth = len(chain) + 1
    status = None
    if rule.id in chain:
        status = "loop_prevented"
    elif depth > _max_depth():
        status = "depth_limit"
    async with connection_pool().acquire() as conn:
        run_id = await runlog.claim(
            conn,
            rule_id=rule.id,
            rule_name=rule.rule.name,
            conversation_id=facts.id,
            trigger=rule.trigger,
            depth=depth,
            conditions=trace,
            event_id=event_id,
            occurrence=occurrence,
            status=status or "running",
        )
    if run_id is None or status is not None:
        return None if run_id is None else status
    origin = triggers.origin_for(rule.id, rule.rule.name, chain)
    result, done = await actions.run_all(rule.rule, facts, origin, event_id)
    async with connection_pool().acquire() as conn:
        await runlog.finish(conn, run_id, result, done)
    return result


async def _run_event(
    event: Event, candidates: list[Compiled], facts: Facts, cals: conditions.Calendars
) -> None:
    chain = triggers.chain_of(event)
    now = clock.now()
    text, data = _event_inputs(event)
    facts = dataclasses.replace(facts, event_text=text, event_data=data)
    for rule in candidates:
        trace: list[dict[str, Any]] = []
        try:
            # Without a trace first: most rules do not match, and only a match is logged.
            if not conditions.evaluate(rule.tree, facts, now, cals, None):
                continue
            conditions.evaluate(rule.tree, facts, now, cals, trace)
            status = await apply(rule, facts, chain=chain, trace=trace, event_id=event.id)
        except Exception:
            log.exception("automation rule %s failed on event %s", rule.id, event.id)
            continue
        if status in ("ok", "partial", "failed"):
            # The rule changed the conversation: later rules see what it did.
            async with connection_pool().acquire() as conn:
                fresh = (await context.load(conn, [facts.id])).get(facts.id)
            if fresh is None:
                return
            facts = dataclasses.replace(fresh, event_text=text, event_data=data)
            if rule.rule.stop_processing:
                return


def _event_inputs(event: Event) -> tuple[str | None, dict[str, Any]]:
    """What conditions read from the event itself: a message's text, a CSAT answer."""
    text = event.data.get("text") if event.type == "message.created" else None
    data = event.data if event.type == "csat.received" else {}
    return (text if isinstance(text, str) else None), data


def by_event_type(rule_list: Sequence[Compiled]) -> dict[str, list[Compiled]]:
    grouped: dict[str, list[Compiled]] = {}
    for rule in rule_list:
        grouped.setdefault(triggers.EVENT_OF.get(rule.trigger, rule.trigger), []).append(rule)
    return grouped


async def handle(batch: Sequence[Event]) -> None:
    """The `automation` subscriber: run the event rules each event fires."""
    async with connection_pool().acquire() as conn:
        rule_list = await rules.enabled(conn, timed=False)
    if not rule_list:
        return
    grouped = by_event_type(rule_list)
    work: list[tuple[Event, list[Compiled]]] = []
    for event in batch:
        text, data = _event_inputs(event)
        lower = text.lower() if text is not None else None
        fired = [
            r
            for r in grouped.get(event.type, ())
            if (lower is None or all(word in lower for word in r.words))
            and _in_scope(r, event.inbox_id)
            and triggers.fires(r.rule.trigger, event)
            and not (
                r.quick
                and conditions.quick(r.tree, text=text, inbox=event.inbox_id, data=data) is False
            )
        ]
        if fired:
            work.append((event, fired))
    if not work:
        return
    async with connection_pool().acquire() as conn:
        facts = await context.load(conn, [e.conversation_id for e, _ in work if e.conversation_id])
    cals = await rule_calendars(rule_list)
    for event, fired in work:
        assert event.conversation_id is not None
        found = facts.get(event.conversation_id)
        if found is not None:
            await _run_event(event, fired, found, cals)


async def dry_run(rule: Compiled, conversation_id: int) -> dict[str, Any]:
    """What the rule would do to the conversation now: its conditions and actions, nothing done."""
    async with connection_pool().acquire() as conn:
        found = (await context.load(conn, [conversation_id])).get(conversation_id)
    if found is None:
        from hub.auth.access import NotFound

        raise NotFound(f"no conversation {conversation_id}")
    trace: list[dict[str, Any]] = []
    cals = await rule_calendars([rule])
    matched = conditions.evaluate(rule.tree, found, clock.now(), cals, trace)
    in_scope = _in_scope(rule, found.inbox)
    return {
        "rule_id": rule.id,
        "conversation_id": conversation_id,
        "trigger": rule.trigger,
        "in_scope": in_scope,
        "matched": matched and in_scope,
        "conditions": trace,
        "actions": [
            {"type": model.tag_of(a), "action": actions.describe(a)} for a in rule.rule.actions
        ]
        if matched and in_scope
        else [],
        "checked_at": dt.datetime.now(dt.UTC).isoformat(),
    }
