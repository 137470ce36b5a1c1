"""The rollup's arithmetic: events in, per-conversation state and per-hour deltas out.

Pure (no I/O), so the incremental job and the rebuild run exactly the same code and only differ
in how many events one call gets; every delta is a sum, so any batching gives the same rows.
An event counts in the hour of its `created_at` (commit time), under the dimensions the
conversation had right then: a reassignment moves the open conversation's backlog from the old
agent to the new one in that hour, and later counts go to the new agent.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hub.realtime.events import Event
from hub.reports.buckets import bucket_of

EVENT_TYPES = (
    "conversation.created",
    "conversation.updated",
    "message.created",
    "csat.sent",
    "csat.received",
)
COUNTS = (
    "created",
    "resolved",
    "reopened",
    "messages_in",
    "messages_out",
    "backlog",
    "sla_first_response_met",
    "sla_first_response_breached",
    "sla_next_response_met",
    "sla_next_response_breached",
    "sla_resolution_met",
    "sla_resolution_breached",
    "csat_sent",
    "csat_received",
    "csat_sum",
    "csat_positive",
)
_INDEX = {name: n for n, name in enumerate(COUNTS)}
# Duration metrics (report_duration.metric).
FIRST_RESPONSE, FIRST_RESPONSE_BUSINESS, RESOLUTION, RESOLUTION_BUSINESS = 1, 2, 3, 4
DURATIONS = {
    "first_response": FIRST_RESPONSE,
    "first_response_business": FIRST_RESPONSE_BUSINESS,
    "resolution": RESOLUTION,
    "resolution_business": RESOLUTION_BUSINESS,
}
SLA_TARGETS = ("first_response", "next_response", "resolution")
OUTCOMES = ("met", "breached")
FINISHED = frozenset({"resolved", "closed"})

# (hour as epoch seconds, inbox, channel, team, agent, priority, tag)
Key = tuple[int, int, str, int, int, str, str]


@dataclass
class State:
    """What the rollup remembers of one conversation (a report_conversation row)."""

    id: int
    inbox: int
    channel: str
    team: int
    agent: int
    priority: str
    tags: tuple[str, ...]
    status: str
    created_at: dt.datetime
    first_reply_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    first_response_business: int | None = None
    resolution_business: int | None = None
    sla: dict[str, str | None] = field(default_factory=dict)
    csat: int | None = None
    messages_in: int = 0
    messages_out: int = 0

    def open(self) -> bool:
        return self.status not in FINISHED


@dataclass
class Deltas:
    counts: dict[Key, list[int]] = field(default_factory=dict)
    durations: dict[tuple[Key, int, int], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )

    def add(
        self,
        state: State,
        hour: int,
        name: str,
        value: int = 1,
        tags: tuple[str, ...] | None = None,
    ) -> None:
        for tag in ("", *state.tags) if tags is None else tags:
            key = (hour, state.inbox, state.channel, state.team, state.agent, state.priority, tag)
            row = self.counts.get(key)
            if row is None:
                row = self.counts[key] = [0] * len(COUNTS)
            row[_INDEX[name]] += value

    def duration(self, state: State, hour: int, metric: int, seconds: float) -> None:
        seconds = max(0, round(seconds))
        bucket = bucket_of(seconds)
        for tag in ("", *state.tags):
            key = (hour, state.inbox, state.channel, state.team, state.agent, state.priority, tag)
            cell = self.durations[(key, metric, bucket)]
            cell[0] += 1
            cell[1] += seconds

    def nonzero_counts(self) -> dict[Key, list[int]]:
        return {k: v for k, v in self.counts.items() if any(v)}


def at(raw: str) -> dt.datetime:
    return dt.datetime.fromisoformat(raw)


def _hour(when: dt.datetime) -> int:
    seconds = int(when.timestamp())
    return seconds - seconds % 3600


def _dims(data: dict[str, Any], old: State | None) -> dict[str, Any]:
    """The dimensions a conversation snapshot names (fields it leaves out stay as they were)."""

    def pick(key: str, default: Any) -> Any:
        return data.get(key, default)

    return {
        "inbox": int(pick("inbox_id", old.inbox if old else 0) or 0),
        "channel": str(pick("channel", old.channel if old else "") or ""),
        "team": int(pick("team_id", old.team if old else 0) or 0),
        "agent": int(pick("assignee_id", old.agent if old else 0) or 0),
        "priority": str(pick("priority", old.priority if old else "") or ""),
        "tags": tuple(sorted(set(pick("tags", old.tags if old else ()) or ()))),
    }


def _conversation(event: Event, state: State | None, deltas: Deltas, when: dt.datetime) -> State:
    data = event.data
    hour = _hour(when)
    dims = _dims(data, state)
    status = str(data.get("status") or (state.status if state else "open"))
    if state is None:
        raw = data.get("created_at")
        created = when if event.type == "conversation.created" or not raw else at(str(raw))
        # First seen through an update (its creation is not in the log): it joins as it is now,
        # without a creation or a resolution of its own to count.
        joined = "open" if event.type == "conversation.created" else status
        state = State(id=int(event.conversation_id or 0), status=joined, created_at=created, **dims)
        if event.type == "conversation.created":
            deltas.add(state, hour, "created")
        if state.open():
            deltas.add(state, hour, "backlog")
    elif any(getattr(state, k) != v for k, v in dims.items()):
        if state.open():
            deltas.add(state, hour, "backlog", -1)
        before = set(state.tags)
        for k, v in dims.items():
            setattr(state, k, v)
        if state.open():
            deltas.add(state, hour, "backlog")
        # Tags come after the conversation: a tag's "created" counts the conversations carrying
        # it, in the hour they were created (a removed tag takes its count back).
        created_hour = _hour(state.created_at)
        added, removed = set(state.tags) - before, before - set(state.tags)
        if added:
            deltas.add(state, created_hour, "created", 1, tuple(sorted(added)))
        if removed:
            deltas.add(state, created_hour, "created", -1, tuple(sorted(removed)))
    if status != state.status:
        was_open = state.open()
        state.status = status
        if was_open and not state.open():
            deltas.add(state, hour, "resolved")
            deltas.add(state, hour, "backlog", -1)
            state.resolved_at = when
            deltas.duration(state, hour, RESOLUTION, (when - state.created_at).total_seconds())
        elif not was_open and state.open():
            deltas.add(state, hour, "reopened")
            deltas.add(state, hour, "backlog")
    sla = data.get("sla") if "sla" in data else None
    if isinstance(sla, dict):
        for target in SLA_TARGETS:
            outcome = sla.get(f"{target}_status")
            if outcome != state.sla.get(target):
                state.sla[target] = outcome
                if outcome in OUTCOMES:
                    deltas.add(state, hour, f"sla_{target}_{outcome}")
        first = sla.get("first_response_seconds")
        if first is not None and first != state.first_response_business:
            state.first_response_business = int(first)
            deltas.duration(state, hour, FIRST_RESPONSE_BUSINESS, int(first))
        resolution = sla.get("resolution_seconds")
        if resolution is not None and resolution != state.resolution_business:
            state.resolution_business = int(resolution)
            deltas.duration(state, hour, RESOLUTION_BUSINESS, int(resolution))
    return state


def _message(event: Event, state: State, deltas: Deltas, when: dt.datetime) -> None:
    data = event.data
    if data.get("kind") != "message":
        return  # notes and timeline lines are not traffic
    hour = _hour(when)
    if data.get("direction") == "in":
        state.messages_in += 1
        deltas.add(state, hour, "messages_in")
    elif data.get("direction") == "out":
        state.messages_out += 1
        deltas.add(state, hour, "messages_out")
        author = data.get("author") or {}
        if state.first_reply_at is None and author.get("type") == "agent":
            state.first_reply_at = when
            seconds = (when - state.created_at).total_seconds()
            deltas.duration(state, hour, FIRST_RESPONSE, seconds)


def _csat(event: Event, state: State, deltas: Deltas, when: dt.datetime) -> None:
    hour = _hour(when)
    if event.type == "csat.sent":
        deltas.add(state, hour, "csat_sent")
        return
    rating = event.data.get("rating")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        return  # not a rating the survey can give: nothing to count
    old = state.csat
    # A later answer replaces the earlier one: the difference is counted in the later hour.
    deltas.add(state, hour, "csat_received", 0 if old is not None else 1)
    deltas.add(state, hour, "csat_sum", rating - (old or 0))
    deltas.add(state, hour, "csat_positive", int(rating >= 4) - int((old or 0) >= 4))
    state.csat = rating


def apply(states: dict[int, State], events: Iterable[Event], deltas: Deltas) -> set[int]:
    """Fold `events` (in id order) into `states` and `deltas`; returns the conversations changed."""
    touched: set[int] = set()
    for event in events:
        cid = event.conversation_id
        if cid is None or event.type not in EVENT_TYPES:
            continue
        when = at(event.created_at)
        state = states.get(cid)
        if event.type.startswith("conversation."):
            states[cid] = _conversation(event, state, deltas, when)
        elif state is None:
            continue  # a message or survey of a conversation the log never introduced
        elif event.type == "message.created":
            _message(event, state, deltas, when)
        else:
            _csat(event, state, deltas, when)
        touched.add(cid)
    return touched
