"""Evaluating a condition tree against a conversation's facts, with a trace of each leaf.

Groups short-circuit like Python's `all` / `any`; the trace lists the leaves that were looked at
and their outcome, which is what the run log and the dry run show.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from typing import Any

from hub.automation import model
from hub.automation.context import Facts
from hub.automation.validation import Node

Trace = list[dict[str, Any]]
Calendars = dict[int, Callable[[dt.datetime], bool]]  # business hours id → "open at t?"

_NUMBER: dict[str, Callable[[float, float], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _set(op: str, value: Any, wanted: frozenset[Any]) -> bool:
    if op == "is_set":
        return value is not None
    if op == "not_set":
        return value is None
    inside = (value.lower() if isinstance(value, str) else value) in wanted
    return inside if op == "in" else not inside


def _tags(op: str, have: set[str], want: frozenset[Any]) -> bool:
    """Tag names are stored lower-case (hub.conversations.lifecycle); so is `want`."""
    if op == "has_all":
        return want <= have
    if op == "has_none":
        return not (want & have)
    return bool(want & have)


def _text(node: Node, leaf: model.MessageText | model.Subject, text: str) -> bool:
    if leaf.op in ("matches", "not_matches"):
        found = node.pattern.search(text) is not None
        return found if leaf.op == "matches" else not found
    haystack, needle = (
        (text, leaf.value) if leaf.case_sensitive else (text.lower(), leaf.value.lower())
    )
    found = needle in haystack
    return found if leaf.op == "contains" else not found


def _attribute(leaf: model.ContactAttribute, attributes: dict[str, Any]) -> bool:
    value = attributes.get(leaf.key)
    if leaf.op == "is_set":
        return value not in (None, "")
    if leaf.op == "not_set":
        return value in (None, "")
    if leaf.op in ("gt", "lt"):
        try:
            number, bound = float(value), float(leaf.value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return number > bound if leaf.op == "gt" else number < bound
    if leaf.op == "contains":
        return str(leaf.value).lower() in str(value or "").lower()
    same = value == leaf.value or (
        isinstance(value, str)
        and isinstance(leaf.value, str)
        and value.lower() == leaf.value.lower()
    )
    return same if leaf.op == "eq" else not same


def _crm_number(facts: Facts, key: str, leaf: model._Number) -> bool:
    compare = _NUMBER[leaf.op]
    return any(compare(float(c.get(key) or 0), leaf.value) for c in facts.crm) or (
        not facts.crm and compare(0.0, leaf.value)
    )


def leaf_holds(node: Node, facts: Facts, now: dt.datetime, calendars: Calendars) -> bool:
    leaf = node.leaf
    match leaf:
        case model.Channel():
            return _set(leaf.op, facts.channel, node.wanted)
        case model.Inbox():
            return _set(leaf.op, facts.inbox, node.wanted)
        case model.Team():
            return _set(leaf.op, facts.team, node.wanted)
        case model.Assignee():
            return _set(leaf.op, facts.assignee, node.wanted)
        case model.StatusIs():
            return _set(leaf.op, facts.status, node.wanted)
        case model.PriorityIs():
            return _set(leaf.op, facts.priority, node.wanted)
        case model.Tags():
            return _tags(leaf.op, facts.tags, node.wanted)
        case model.MessageText():
            return _text(node, leaf, facts.text)
        case model.Subject():
            return _text(node, leaf, facts.subject)
        case model.SenderDomain():
            inside = bool(facts.domains & {d.lower().lstrip("@") for d in leaf.value})
            return inside if leaf.op == "in" else not inside
        case model.ContactAttribute():
            return _attribute(leaf, facts.attributes)
        case model.BusinessHours():
            is_open = calendars.get(leaf.business_hours_id)
            return is_open is not None and is_open(now) == leaf.value
        case model.SlaState():
            return _set(leaf.op, facts.sla_state(now), node.wanted)
        case model.CrmCustomerStatus():
            statuses = {str(c.get("status") or "").lower() for c in facts.crm}
            return bool(statuses & node.wanted) if leaf.op == "in" else not (statuses & node.wanted)
        case model.CrmOverdueCount():
            return _crm_number(facts, "overdue_count", leaf)
        case model.CrmOverdueAmount():
            return _crm_number(facts, "overdue_amount", leaf)
        case model.CrmServiceStatus():
            services = {str(s).lower() for c in facts.crm for s in c.get("services") or ()}
            return _tags(leaf.op, services, node.wanted)
        case model.CrmTariff():
            tariffs = {str(s).lower() for c in facts.crm for s in c.get("tariffs") or ()}
            return _tags(leaf.op, tariffs, node.wanted)
        case model.CsatRating():
            rating = facts.event_data.get("rating")
            return isinstance(rating, int | float) and _NUMBER[leaf.op](float(rating), leaf.value)
    return False


def evaluate(
    node: Node, facts: Facts, now: dt.datetime, calendars: Calendars, trace: Trace | None
) -> bool:
    """`trace` (when given) gets each leaf looked at, with its result."""
    if node.kind == "leaf":
        result = leaf_holds(node, facts, now, calendars)
        if trace is not None:
            assert node.leaf is not None
            trace.append({"path": node.path, "field": model.tag_of(node.leaf), "result": result})
        return result
    if node.kind == "not":
        return not evaluate(node.children[0], facts, now, calendars, trace)
    if node.kind == "any":
        return any(evaluate(c, facts, now, calendars, trace) for c in node.children)
    return all(evaluate(c, facts, now, calendars, trace) for c in node.children)


def quick(node: Node, *, text: str | None, inbox: int | None, data: dict[str, Any]) -> bool | None:
    """The tree decided from the event alone (its text, inbox, CSAT data), or None when it needs
    the conversation's facts: three-valued, so a false leaf anywhere under `all` decides without
    a query. Most events meet most rules here, which keeps the facts query to the few left."""
    if node.kind == "leaf":
        leaf = node.leaf
        if isinstance(leaf, model.MessageText) and text is not None:
            return _text(node, leaf, text)
        if isinstance(leaf, model.Inbox) and inbox is not None:
            return _set(leaf.op, inbox, node.wanted)
        if isinstance(leaf, model.CsatRating):
            rating = data.get("rating")
            return isinstance(rating, int | float) and _NUMBER[leaf.op](float(rating), leaf.value)
        return None
    if node.kind == "not":
        inner = quick(node.children[0], text=text, inbox=inbox, data=data)
        return None if inner is None else not inner
    results = [quick(c, text=text, inbox=inbox, data=data) for c in node.children]
    if node.kind == "any":
        return True if True in results else (None if None in results else False)
    return False if False in results else (None if None in results else True)
