"""The `notifications` event subscriber: who is told what about each committed event.

- `conversation.updated` with a new assignee → `assigned` to that agent (not when they took it
  themselves);
- `message.created`, a customer message → `message` to the conversation's assignee;
- `message.created`, a private note with structured mentions → `mention` to each mentioned agent
  and the members of each mentioned team (not the note's author);
- `sla.warning` / `sla.breached` → to the assignee, or to the team's members while unassigned.

Every recipient must be able to see the conversation's inbox: a notification shows its subject
and customer. Idempotent: hub.notifications.store skips what was already stored per (event,
agent, kind).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from hub.db.engine import connection_pool
from hub.notifications.kinds import Kind
from hub.notifications.store import Draft, can_see, deliver, team_members
from hub.realtime.events import Event

SUBSCRIBER = "notifications"
EVENT_TYPES = ("conversation.updated", "message.created", "sla.warning", "sla.breached")
TARGETS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}
EXCERPT = 200


def _excerpt(text: Any) -> str:
    value = " ".join(str(text or "").split())
    return value if len(value) <= EXCERPT else value[: EXCERPT - 1] + "…"


def mentioned(data: dict[str, Any]) -> tuple[list[int], list[int]]:
    """The agents and teams a note's structured mentions name (message meta `mentions`)."""
    meta = data.get("meta") or {}
    agents: list[int] = []
    teams: list[int] = []
    for item in meta.get("mentions") or []:
        if isinstance(item, dict) and isinstance(item.get("id"), int):
            (teams if item.get("type") == "team" else agents).append(int(item["id"]))
    return agents, teams


class _Batch:
    """What the batch's events need from the database, read once."""

    def __init__(self, conn: asyncpg.Connection, batch: Sequence[Event]) -> None:
        self.conn = conn
        self.batch = batch
        self.conversations: dict[int, asyncpg.Record] = {}
        self.actors: dict[int, tuple[str, int | None]] = {}
        self.teams: dict[int, list[int]] = {}
        self.owner: dict[int, tuple[int | None, int | None]] = {}
        self.later: list[tuple[int, dict[str, Any]]] = []

    async def load(self) -> None:
        ids = sorted({e.conversation_id for e in self.batch if e.conversation_id is not None})
        for row in await self.conn.fetch(
            "SELECT c.id, c.ref, c.subject, c.inbox, c.assignee, c.team, c.priority,"
            " ct.name AS contact_name FROM conversation c JOIN contact ct ON ct.id = c.contact"
            " WHERE c.id = ANY($1::int[])",
            ids,
        ):
            self.conversations[row["id"]] = row
        # Changes committed after this batch are already in the rows just read: they are undone
        # first, so the walk back starts from the state at the batch's end (deliveries follow
        # commits closely, so a later assignment is often there already).
        last = max((e.id for e in self.batch), default=0)
        for row in await self.conn.fetch(
            "SELECT conversation, data::text AS data FROM event WHERE conversation = ANY($1::int[])"
            " AND id > $2 AND type = 'conversation.updated' ORDER BY id",
            ids,
            last,
        ):
            self.later.append((row["conversation"], msgspec.json.decode(row["data"])))
        for row in await self.conn.fetch(
            "SELECT id, actor_type, actor_id FROM event WHERE id = ANY($1::bigint[])",
            [e.id for e in self.batch],
        ):
            self.actors[row["id"]] = (row["actor_type"], row["actor_id"])
        team_ids: set[int] = {c["team"] for c in self.conversations.values() if c["team"]}
        for event in self.batch:
            if event.type == "message.created" and event.data.get("kind") == "note":
                team_ids.update(mentioned(event.data)[1])
        self._owners()
        team_ids.update(t for _, t in self.owner.values() if t is not None)
        self.teams = await team_members(self.conn, sorted(team_ids))

    def _owners(self) -> None:
        """Each event's (assignee, team) as they were when it happened: walking the batch back
        from the conversation's row, undoing each change. A message that arrived before the
        conversation was assigned to Ann is not Ann's news."""
        now = {cid: (c["assignee"], c["team"]) for cid, c in self.conversations.items()}
        for cid, data in reversed(self.later):
            changed = data.get("changed") or {}
            previous = data.get("previous") or {}
            if cid in now and isinstance(changed, dict):
                assignee, team = now[cid]
                if "assignee" in changed:
                    assignee = previous.get("assignee")
                if "team" in changed:
                    team = previous.get("team")
                now[cid] = (assignee, team)
        for event in reversed(self.batch):
            cid = event.conversation_id
            if cid is None or cid not in now:
                continue
            if event.type == "conversation.updated":
                changed = event.data.get("changed") or {}
                previous = event.data.get("previous") or {}
                assignee, team = now[cid]
                if isinstance(changed, dict) and "assignee" in changed:
                    assignee = previous.get("assignee")
                if isinstance(changed, dict) and "team" in changed:
                    team = previous.get("team")
                self.owner[event.id] = now[cid]  # after this change
                now[cid] = (assignee, team)
            else:
                self.owner[event.id] = now[cid]

    def actor_agent(self, event: Event) -> int | None:
        kind, actor = self.actors.get(event.id, ("system", None))
        return actor if kind == "agent" else None


def _base(conv: asyncpg.Record) -> dict[str, Any]:
    return {
        "ref": conv["ref"],
        "subject": conv["subject"] or "",
        "contact_name": conv["contact_name"] or "",
        "inbox_id": conv["inbox"],
        "priority": conv["priority"],
    }


def _for_event(
    b: _Batch, event: Event, conv: asyncpg.Record
) -> list[tuple[int, str, dict[str, Any]]]:
    """(agent, kind, data) for one event, before the access check."""
    data = event.data
    ref = conv["ref"]
    base = _base(conv)
    assignee_then, team_then = b.owner.get(event.id, (conv["assignee"], conv["team"]))
    out: list[tuple[int, str, dict[str, Any]]] = []
    if event.type == "conversation.updated":
        changed = data.get("changed") or {}
        assignee = changed.get("assignee") if isinstance(changed, dict) else None
        if isinstance(assignee, int) and assignee != b.actor_agent(event):
            title = f"#{ref} was assigned to you"
            out.append((assignee, Kind.ASSIGNED, {**base, "title": title, "body": base["subject"]}))
    elif event.type == "message.created" and data.get("kind") == "message":
        if data.get("direction") == "in" and assignee_then is not None:
            who = (data.get("author") or {}).get("name") or conv["contact_name"] or "the customer"
            body = _excerpt(data.get("text"))
            title = f"New message from {who} in #{ref}"
            out.append((assignee_then, Kind.MESSAGE, {**base, "title": title, "body": body}))
    elif event.type == "message.created" and data.get("kind") == "note":
        author = b.actor_agent(event) or (data.get("author") or {}).get("id")
        name = (data.get("author") or {}).get("name") or "Someone"
        agents, teams = mentioned(data)
        body = _excerpt(data.get("text"))
        recipients: dict[int, str] = {a: f"{name} mentioned you in #{ref}" for a in agents}
        for team in teams:
            for member in b.teams.get(team, []):
                recipients.setdefault(member, f"{name} mentioned your team in #{ref}")
        for agent, title in recipients.items():
            if agent != author:
                extra = {"message_id": data.get("id"), "author_name": name}
                out.append((agent, Kind.MENTION, {**base, **extra, "title": title, "body": body}))
    elif event.type in ("sla.warning", "sla.breached"):
        kind = Kind.SLA_WARNING if event.type == "sla.warning" else Kind.SLA_BREACHED
        target = TARGETS.get(str(data.get("target")), str(data.get("target")))
        what = "at risk" if kind == Kind.SLA_WARNING else "breached"
        payload = {
            **base,
            "title": f"SLA {what} on #{ref}: {target}",
            "body": base["subject"],
            "target": data.get("target"),
            "due_at": data.get("due_at"),
            "policy_name": data.get("policy_name"),
        }
        if assignee_then is not None:
            out.append((assignee_then, kind, payload))
        elif team_then is not None:
            out.extend((m, kind, payload) for m in b.teams.get(team_then, []))
    return out


async def handle(batch: Sequence[Event]) -> None:
    """The subscriber's handler: turn the batch's events into notifications."""
    async with connection_pool().acquire() as conn:
        b = _Batch(conn, batch)
        await b.load()
        drafts: list[Draft] = []
        for event in batch:
            conv = b.conversations.get(event.conversation_id or 0)
            if conv is None:
                continue
            wanted = _for_event(b, event, conv)
            if not wanted:
                continue
            allowed = await can_see(conn, conv["inbox"], sorted({a for a, _, _ in wanted}))
            drafts.extend(
                Draft(agent, str(kind), conv["id"], event.id, data)
                for agent, kind, data in wanted
                if agent in allowed
            )
    await deliver(drafts)
