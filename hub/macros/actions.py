"""What a macro does besides replying: tag, untag, set status or priority, assign.

Each action is a msgspec struct tagged by `type`, so a stored macro decodes into exactly these
shapes and a bad one is refused with the path of the bad field (`actions[1].status`). Running
them goes through hub.conversations.lifecycle, the same code as an agent's own changes, so each
leaves its timeline line and event, and assigning to a team with nobody named leaves the
conversation to that team's routing policy (hub.routing picks it up from the event).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from hub.auth.access import NotFound
from hub.auth.accounts import AgentInfo
from hub.conversations import lifecycle
from hub.conversations.lifecycle import Changes, Priority, Status


class Tag(msgspec.Struct, tag="tag", tag_field="type", forbid_unknown_fields=True):
    tags: list[str]


class Untag(msgspec.Struct, tag="untag", tag_field="type", forbid_unknown_fields=True):
    tags: list[str]


class SetStatus(msgspec.Struct, tag="status", tag_field="type", forbid_unknown_fields=True):
    status: str
    snooze_minutes: int | None = None  # with status "snoozed": for how long


class SetPriority(msgspec.Struct, tag="priority", tag_field="type", forbid_unknown_fields=True):
    priority: str


class Assign(msgspec.Struct, tag="assign", tag_field="type", forbid_unknown_fields=True):
    """To an agent (`agent_id`), to whoever applies the macro (`to_self`), and/or to a team
    (`team_id`; with no agent named, the team's routing policy assigns someone)."""

    agent_id: int | None = None
    to_self: bool = False
    team_id: int | None = None


Action = Tag | Untag | SetStatus | SetPriority | Assign


class InvalidAction(ValueError):
    pass


def check(actions: list[Action]) -> None:
    """Refuse what lifecycle would refuse later, naming the action's place."""
    for n, action in enumerate(actions):
        where = f"actions[{n}]"
        if isinstance(action, Tag | Untag):
            if not action.tags or any(not t.strip() or len(t) > 100 for t in action.tags):
                raise InvalidAction(f"{where}.tags: give 1 or more tags of 1 to 100 characters")
        elif isinstance(action, SetStatus):
            if action.status not in set(Status):
                raise InvalidAction(f"{where}.status: expected one of {', '.join(Status)}")
            if action.status == Status.SNOOZED and not (action.snooze_minutes or 0) > 0:
                raise InvalidAction(f"{where}.snooze_minutes: snoozing needs a number of minutes")
        elif isinstance(action, SetPriority):
            if action.priority not in set(Priority):
                raise InvalidAction(f"{where}.priority: expected one of {', '.join(Priority)}")
        elif action.agent_id is None and not action.to_self and action.team_id is None:
            raise InvalidAction(f"{where}: name agent_id, to_self or team_id")
        elif action.agent_id is not None and action.to_self:
            raise InvalidAction(f"{where}: agent_id and to_self exclude each other")


def decode(raw: Any) -> list[Action]:
    actions = msgspec.convert(raw, list[Action])
    check(actions)
    return actions


async def run(
    actions: list[Action], conversation_id: int, actor: AgentInfo | None
) -> list[dict[str, Any]]:
    """Apply the actions in order; one that fails is reported and the others still run (the
    reply is already on its way, so stopping half-way would only hide what did happen)."""
    results: list[dict[str, Any]] = []
    for action in actions:
        kind = type(action).__struct_config__.tag
        try:
            await _run_one(action, conversation_id, actor)
            results.append({"type": kind, "ok": True})
        except (lifecycle.InvalidChange, ValueError) as exc:
            results.append({"type": kind, "ok": False, "error": str(exc)})
    return results


async def _run_one(action: Action, conversation_id: int, actor: AgentInfo | None) -> None:
    if isinstance(action, Tag):
        await lifecycle.add_tags(conversation_id, action.tags, actor=actor)
    elif isinstance(action, Untag):
        for tag in action.tags:
            try:
                await lifecycle.remove_tag(conversation_id, tag, actor=actor)
            except NotFound:
                continue  # not tagged with it: nothing to remove
    elif isinstance(action, SetStatus):
        changes = Changes(status=action.status)
        if action.status == Status.SNOOZED:
            minutes = action.snooze_minutes or 0
            changes.snoozed_until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
        await lifecycle.update_conversation(conversation_id, changes, actor=actor)
    elif isinstance(action, SetPriority):
        await lifecycle.update_conversation(
            conversation_id, Changes(priority=action.priority), actor=actor
        )
    else:
        changes = Changes()
        if action.team_id is not None:
            changes.team_id = action.team_id
        if action.to_self:
            if actor is None:
                raise InvalidAction("to_self needs an agent; this macro ran without one")
            changes.assignee_id = actor.id
        elif action.agent_id is not None:
            changes.assignee_id = action.agent_id
        await lifecycle.update_conversation(conversation_id, changes, actor=actor)
