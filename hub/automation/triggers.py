"""Which event triggers an event fires, and where a change came from (its origin)."""

from __future__ import annotations

from typing import Any

from hub.automation import model
from hub.realtime.events import Event

EVENT_TYPES = (
    "conversation.created",
    "conversation.updated",
    "message.created",
    "sla.warning",
    "sla.breached",
    "crm.updated",
    "csat.received",
)
# The event type each event trigger listens to (the others are named after theirs).
EVENT_OF = {
    "conversation.assigned": "conversation.updated",
    "conversation.unassigned": "conversation.updated",
}
_FIELD_OF = {"tags_added": "tags", "tags_removed": "tags"}


def changed_fields(event: Event) -> set[str]:
    changed = event.data.get("changed")
    if not isinstance(changed, dict):
        return set()
    fields = {_FIELD_OF.get(str(key), str(key)) for key in changed}
    return fields & set(model.UPDATE_FIELDS)


def fires(trigger: model.Trigger, event: Event) -> bool:
    """Does this event fire this (event) trigger?"""
    if event.conversation_id is None:
        return False
    match trigger:
        case model.MessageCreated():
            data = event.data
            if event.type != "message.created" or data.get("kind") != "message":
                return False
            direction = {"in": "inbound", "out": "outbound"}.get(str(data.get("direction")))
            return direction is not None and trigger.direction in ("any", direction)
        case model.ConversationUpdated():
            if event.type != "conversation.updated":
                return False
            fields = changed_fields(event)
            return bool(fields & set(trigger.fields)) if trigger.fields else bool(fields)
        case model.Assigned() | model.Unassigned():
            changed = event.data.get("changed")
            if event.type != "conversation.updated" or not isinstance(changed, dict):
                return False
            if "assignee" not in changed:
                return False
            assigned = changed["assignee"] is not None
            return assigned if isinstance(trigger, model.Assigned) else not assigned
    return model.tag_of(trigger) == event.type


def origin_of(event: Event) -> dict[str, Any] | None:
    origin = event.data.get("origin")
    return origin if isinstance(origin, dict) and "rule" in origin else None


def chain_of(event: Event) -> list[int]:
    origin = origin_of(event)
    return [int(r) for r in origin.get("chain", [origin["rule"]])] if origin else []


def origin_for(rule_id: int, name: str, chain: list[int]) -> dict[str, Any]:
    """The origin a rule's changes carry: the rules behind them, this one last."""
    new_chain = [*chain, rule_id]
    return {"rule": rule_id, "name": name, "depth": len(new_chain), "chain": new_chain}
