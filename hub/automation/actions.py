"""What rules do, through the domains that own each change, each change marked with its origin.

Every action goes through the code an agent's change goes through (hub.conversations.lifecycle,
hub.routing.assign, hub.sla.tracking, hub.notifications.store), so history, timeline lines and
events are the same; `origin` ({"rule", "name", "depth", "chain"}) rides on the events and names
the rule in the timeline ("Rule 'VIP' set priority to high"). An action that fails is reported,
and the rule's next actions still run.

Replying with a macro goes through hub.macros (rendered, sent by the outbox like an agent's
reply); an outgoing webhook through hub.webhooks (a signed delivery, retried by its job).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from hub.auth.access import NotFound
from hub.automation import model, reply_template
from hub.automation.context import Facts
from hub.conversations import lifecycle
from hub.conversations.lifecycle import Changes
from hub.db.engine import connection_pool
from hub.macros import store as macros
from hub.notifications import store as notifications
from hub.outbox.replies import InvalidReply
from hub.realtime import events
from hub.routing import assign, requirements
from hub.sla import tracking
from hub.system import clock
from hub.webhooks import deliveries

Result = dict[str, Any]


def describe(action: model.Action) -> str:
    """What the action does, in the words of the run log and the dry run."""
    match action:
        case model.AssignAgent():
            return f"assign to agent {action.agent_id}"
        case model.AssignTeam():
            policy = " and run its assignment policy" if action.run_policy else ""
            return f"assign to team {action.team_id}{policy}"
        case model.Unassign():
            return "unassign"
        case model.AddTags():
            return f"add tags {', '.join(action.tags)}"
        case model.RemoveTags():
            return f"remove tags {', '.join(action.tags)}"
        case model.SetPriority():
            return f"set priority to {action.priority}"
        case model.SetStatus():
            extra = f" for {action.snooze_minutes} minutes" if action.snooze_minutes else ""
            return f"set status to {action.status}{extra}"
        case model.ApplySla():
            return f"apply SLA policy {action.policy_id}" if action.policy_id else "remove SLA"
        case model.PrivateNote():
            return "add a private note"
        case model.Notify():
            return f"notify: {action.title}"
        case model.MarkSpam():
            return "mark as spam and close"
        case model.ReplyMacro():
            return f"reply with macro {action.macro_id}"
        case model.SetRequirements():
            verb = "require" if action.mode == "replace" else "also require"
            return f"{verb} {', '.join(action.requirements)}"
        case model.ReplyTemplate():
            return f"reply with template {action.name}"
        case model.SendWebhook():
            return f"send webhook to subscription {action.subscription_id}"
    return model.tag_of(action)


async def _assign_agent(facts: Facts, agent_id: int, origin: dict[str, Any]) -> str:
    async with connection_pool().acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT inbox, team, assignee FROM conversation WHERE id = $1 FOR UPDATE", facts.id
        )
        if row is None:
            raise LookupError(f"no conversation {facts.id}")
        if row["assignee"] == agent_id:
            return "skipped: already assigned to them"
        if not await notifications.can_see(conn, row["inbox"], [agent_id]):
            raise PermissionError(f"agent {agent_id} is inactive or cannot see this inbox")
        name = await conn.fetchval("SELECT name FROM agent WHERE id = $1", agent_id)
        move = assign.Move(
            facts.id,
            row["inbox"],
            row["team"],
            agent_id,
            row["assignee"],
            f"assigned the conversation to {name}",
        )
        emitted = await assign.assign(conn, [move], by_type="automation", origin=origin)
    await events.publish(emitted)
    return f"assigned to {name}"


async def _line(facts: Facts, text: str, changed: dict[str, Any], origin: dict[str, Any]) -> None:
    """A timeline line for an action whose domain writes none itself."""
    async with connection_pool().acquire() as conn, conn.transaction():
        emitted = await lifecycle.record_activity(
            conn, facts.id, facts.inbox, [text], actor=None, changed=changed, origin=origin
        )
    await events.publish(emitted)


async def _note(facts: Facts, text: str, origin: dict[str, Any]) -> None:
    async with connection_pool().acquire() as conn, conn.transaction():
        # The row first, then the event lock: the order every writer keeps.
        await conn.execute("SELECT 1 FROM conversation WHERE id = $1 FOR UPDATE", facts.id)
        message_id = await conn.fetchval(
            "INSERT INTO message (conversation, inbox, kind, direction, author_type, author_id,"
            " text, html, status, error, attempts, meta, created_at, updated_at)"
            " VALUES ($1, $2, 'note', NULL, 'system', NULL, $3, '', 'received', '', 0,"
            " $4::jsonb, now(), now()) RETURNING id",
            facts.id,
            facts.inbox,
            text,
            msgspec.json.encode({"origin": origin}).decode(),
        )
        data = msgspec.json.decode(await conn.fetchval("SELECT hub_message_json($1)", message_id))
        data["origin"] = origin
        emitted = await events.emit(
            conn,
            [
                {
                    "type": "message.created",
                    "conversation": facts.id,
                    "inbox": facts.inbox,
                    "data": data,
                }
            ],
        )
    await events.publish(emitted)


async def _status(facts: Facts, action: model.SetStatus, origin: dict[str, Any]) -> str:
    snooze: dt.datetime | msgspec.UnsetType = msgspec.UNSET
    if action.snooze_minutes:
        snooze = max(clock.now(), dt.datetime.now(dt.UTC)) + dt.timedelta(
            minutes=action.snooze_minutes
        )
    changes = Changes(status=action.status, snoozed_until=snooze)
    await lifecycle.update_conversation(facts.id, changes, actor=None, origin=origin)
    return f"status {action.status}"


async def _reply_macro(facts: Facts, macro_id: int, origin: dict[str, Any]) -> str:
    async with connection_pool().acquire() as conn:
        try:
            sent = await macros.apply_macro(conn, macro_id, facts.id, None, origin)
        except InvalidReply as exc:  # e.g. WhatsApp's window is closed: skipped, and logged
            await _line(facts, f"did not reply: {exc}", {"skipped": "reply_macro"}, origin)
            return f"skipped: {exc}"
    message = sent.get("message")
    return f"replied (message {message['id']})" if message else "macro applied (no text)"


async def _requirements(facts: Facts, action: model.SetRequirements, origin: dict[str, Any]) -> str:
    async with connection_pool().acquire() as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM conversation WHERE id = $1 FOR UPDATE", facts.id)
        wanted = await requirements.change(conn, facts.id, action.requirements, mode=action.mode)
        said = ", ".join(wanted) or "nothing"
        # The line's conversation.updated event also starts a round for a waiting conversation.
        emitted = await lifecycle.record_activity(
            conn, facts.id, facts.inbox, [f"set the requirements to {said}"], actor=None,
            changed={"requirements": wanted}, origin=origin,
        )  # fmt: skip
        emitted += await requirements.requeue_if_unfit(conn, facts.id, origin=origin)
    await events.publish(emitted)
    return f"requirements {said}"


async def _send_webhook(
    facts: Facts, subscription_id: int, origin: dict[str, Any], event_id: int | None
) -> str:
    payload = {
        "conversation_id": facts.id,
        "rule": {"id": origin["rule"], "name": origin.get("name")},
        "event_id": event_id,
    }
    async with connection_pool().acquire() as conn:
        queued = await deliveries.publish(
            conn, "automation.rule", payload, subscription_id=subscription_id
        )
    if not queued:
        raise ValueError(f"webhook subscription {subscription_id} is missing or disabled")
    return f"webhook queued to subscription {subscription_id}"


async def perform(
    action: model.Action, facts: Facts, origin: dict[str, Any], event_id: int | None
) -> str:
    """Do one action; returns what happened (raises when it could not)."""
    match action:
        case model.AssignAgent():
            return await _assign_agent(facts, action.agent_id, origin)
        case model.AssignTeam():
            changes = Changes(team_id=action.team_id)
            if action.run_policy:
                changes.assignee_id = None  # back to the team's queue, for its policy to place
            await lifecycle.update_conversation(facts.id, changes, actor=None, origin=origin)
            if action.run_policy:
                placed = await assign.assign_waiting(action.team_id)
                return "assigned by the team's policy" if placed else "queued for the team"
            return f"team {action.team_id}"
        case model.Unassign():
            changes = Changes(assignee_id=None)
            await lifecycle.update_conversation(facts.id, changes, actor=None, origin=origin)
            return "unassigned"
        case model.AddTags():
            await lifecycle.add_tags(facts.id, action.tags, actor=None, origin=origin)
            return "tagged"
        case model.RemoveTags():
            removed = 0
            for tag in action.tags:
                try:  # the conversation's tags now, not when the rule started: try each
                    await lifecycle.remove_tag(facts.id, tag, actor=None, origin=origin)
                    removed += 1
                except NotFound:
                    pass
            return f"removed {removed}"
        case model.SetPriority():
            changes = Changes(priority=action.priority)
            await lifecycle.update_conversation(facts.id, changes, actor=None, origin=origin)
            return f"priority {action.priority}"
        case model.SetStatus():
            return await _status(facts, action, origin)
        case model.ApplySla():
            await tracking.set_policy(facts.id, action.policy_id)
            what = (
                f"applied SLA policy {action.policy_id}" if action.policy_id else "removed the SLA"
            )
            await _line(facts, what, {"sla_policy": action.policy_id}, origin)
            return what
        case model.PrivateNote():
            await _note(facts, action.text, origin)
            return "note added"
        case model.Notify():
            sent = await notifications.notify(
                agent_ids=action.agent_ids,
                team_id=action.team_id,
                conversation_id=facts.id,
                title=action.title,
                body=action.body,
                event_id=event_id,
                data={"rule_id": origin["rule"]},
            )
            if sent:
                await _line(
                    facts, f"notified {len(sent)} agent(s)", {"notified": len(sent)}, origin
                )
            return f"notified {len(sent)}"
        case model.MarkSpam():
            await lifecycle.add_tags(facts.id, ["spam"], actor=None, origin=origin)
            changes = Changes(status="closed")
            await lifecycle.update_conversation(facts.id, changes, actor=None, origin=origin)
            return "spam, closed"
        case model.ReplyMacro():
            return await _reply_macro(facts, action.macro_id, origin)
        case model.SetRequirements():
            return await _requirements(facts, action, origin)
        case model.ReplyTemplate():
            return await reply_template.send(facts, action, origin, _line)
        case model.SendWebhook():
            return await _send_webhook(facts, action.subscription_id, origin, event_id)
    raise ValueError(f"unknown action {model.tag_of(action)}")


async def run_all(
    rule: model.Rule, facts: Facts, origin: dict[str, Any], event_id: int | None
) -> tuple[str, list[Result]]:
    """Every action of the rule in order; (status, results): ok, partial or failed."""
    results: list[Result] = []
    for action in rule.actions:
        entry: Result = {"type": model.tag_of(action), "action": describe(action)}
        try:
            entry["result"] = await perform(action, facts, origin, event_id)
            entry["ok"] = True
        except Exception as exc:  # one action's failure is logged, never raised into ingest
            entry["ok"] = False
            entry["error"] = f"{type(exc).__name__}: {exc}"[:500]
        results.append(entry)
    failures = sum(not r["ok"] for r in results)
    status = "ok" if not failures else ("failed" if failures == len(results) else "partial")
    return status, results
