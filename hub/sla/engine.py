"""The SLA state of one conversation and how it moves: pure functions, no database.

A conversation that gets a policy keeps a snapshot of it (`Snapshot`), so later edits of the policy
do not move its running deadlines. Each target (first response, next response, resolution) keeps
its own clock: the business minutes consumed before the current running segment, and when that
segment started. Pausing folds the segment into `consumed`; resuming starts a new segment. The
deadline is then `deadline(calendar, segment_start, minutes - consumed)`, which is correct across
any number of pauses without keeping them.

Every change is a function of (state, fact, time) → state, so the event consumer, the sweep and the
tests drive one and the same machine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from hub.sla.calendar import BusinessCalendar, deadline, elapsed

TARGETS = ("first_response", "next_response", "resolution")
FINISHED = ("resolved", "closed")


class Snapshot(msgspec.Struct, frozen=True):
    """The policy as it was when the conversation got it."""

    id: int
    name: str
    targets: dict[str, dict[str, int | None]]  # priority (or "default") → target → minutes
    warning_percent: int = 80
    pause_when_pending: bool = True
    pause_when_snoozed: bool = True
    calendar: BusinessCalendar | None = None  # None: calendar time (24/7)

    def minutes(self, priority: str, target: str) -> int | None:
        chosen = self.targets.get(priority) or self.targets.get("default") or {}
        value = chosen.get(target)
        return None if value is None else int(value)

    def pauses_on(self, status: str) -> bool:
        return (status == "pending" and self.pause_when_pending) or (
            status == "snoozed" and self.pause_when_snoozed
        )


class Target(msgspec.Struct, kw_only=True):
    # idle (not started), running, paused, met, breached, stopped (conversation ended first)
    status: str = "idle"
    minutes: int | None = None
    consumed: float = 0.0  # business minutes before the current segment
    segment_start: dt.datetime | None = None
    started_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    warn_at: dt.datetime | None = None
    warned: bool = False
    breached_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None  # answered or resolved (also after a breach)
    business_minutes: float | None = None  # start to finish, pauses excluded


class State(msgspec.Struct, kw_only=True):
    policy: Snapshot
    priority: str = "none"
    status: str = "open"
    targets: dict[str, Target] = {}
    last_event: int = 0  # the last event applied: a redelivered event is a no-op


class Alert(msgspec.Struct, frozen=True):
    kind: str  # "warning" | "breached"
    target: str
    due_at: dt.datetime


def _running(target: Target) -> bool:
    return target.status == "running"


def _schedule(state: State, target: Target) -> None:
    """Due and warning times of a running target from its segment start and what is left."""
    assert target.segment_start is not None and target.minutes is not None
    calendar = state.policy.calendar
    left = max(0.0, target.minutes - target.consumed)
    target.due_at = deadline(calendar, target.segment_start, left)
    warn_left = max(0.0, target.minutes * state.policy.warning_percent / 100 - target.consumed)
    target.warn_at = deadline(calendar, target.segment_start, warn_left)


def _start(state: State, name: str, at: dt.datetime) -> None:
    minutes = state.policy.minutes(state.priority, name)
    if minutes is None:
        state.targets.pop(name, None)
        return
    target = Target(status="running", minutes=minutes, started_at=at, segment_start=at)
    state.targets[name] = target
    if state.policy.pauses_on(state.status):
        _pause(state, target, at)
    else:
        _schedule(state, target)


def _used(state: State, target: Target, at: dt.datetime) -> float:
    if target.segment_start is None:
        return target.consumed
    return target.consumed + elapsed(state.policy.calendar, target.segment_start, at)


def _pause(state: State, target: Target, at: dt.datetime) -> None:
    target.consumed = _used(state, target, at)
    target.segment_start = None
    target.due_at = target.warn_at = None
    target.status = "paused"


def _resume(state: State, target: Target, at: dt.datetime) -> None:
    target.segment_start = at
    target.status = "running"
    _schedule(state, target)


def _finish(state: State, target: Target, at: dt.datetime, *, met: bool) -> None:
    """The target's clock stops: met if it was not breached, else the breach stays the outcome."""
    target.business_minutes = target.consumed = _used(state, target, at)
    target.finished_at = at
    target.segment_start = None
    target.due_at = target.warn_at = None
    if target.status in ("running", "paused"):
        target.status = "met" if met else "stopped"


def new_state(
    policy: Snapshot, *, created_at: dt.datetime, priority: str, status: str, now: dt.datetime
) -> State:
    """A policy applied to a conversation: first response and resolution run from its creation."""
    state = State(policy=policy, priority=priority, status="open")
    for name in ("first_response", "resolution"):
        _start(state, name, created_at)
    # A conversation that is already pending or resolved gets there now, from a running start.
    set_status(state, status, now)
    return state


def customer_message(state: State, at: dt.datetime) -> bool:
    """A customer wrote: after the first response, an unanswered message starts next response."""
    first = state.targets.get("first_response")
    if first is not None and first.finished_at is None:
        return False  # still waiting for the first response: that clock covers this message
    current = state.targets.get("next_response")
    if current is not None and current.finished_at is None and current.status != "idle":
        return False  # already waiting: the clock runs from the first unanswered message
    if state.status in FINISHED:
        return False
    _start(state, "next_response", at)
    return "next_response" in state.targets


def agent_reply(state: State, at: dt.datetime) -> bool:
    changed = False
    for name in ("first_response", "next_response"):
        target = state.targets.get(name)
        if target is not None and target.finished_at is None and target.status != "idle":
            _finish(state, target, at, met=target.status != "breached")
            changed = True
    return changed


def set_status(state: State, status: str, at: dt.datetime) -> bool:
    if status == state.status:
        return False
    state.status = status
    for name, target in state.targets.items():
        if target.finished_at is not None:
            if name == "resolution" and status not in FINISHED and target.status == "met":
                # Reopened: resolution counts on from where it stopped; the earlier "met" no
                # longer holds until the conversation is resolved again.
                target.finished_at = None
                target.status = "paused"
                if not state.policy.pauses_on(status):
                    _resume(state, target, at)
            continue
        if status in FINISHED:
            met = name == "resolution" and target.status != "breached"
            if target.status == "breached":
                target.business_minutes = _used(state, target, at)
                target.finished_at = at
                target.segment_start = None
            else:
                _finish(state, target, at, met=met)
        elif state.policy.pauses_on(status):
            if _running(target):
                _pause(state, target, at)
        elif target.status == "paused":
            _resume(state, target, at)
    return True


def set_priority(state: State, priority: str, at: dt.datetime) -> bool:
    """Targets follow the new priority; time already consumed still counts."""
    if priority == state.priority:
        return False
    state.priority = priority
    for name, target in list(state.targets.items()):
        if target.finished_at is not None or target.status in ("breached", "idle"):
            continue
        minutes = state.policy.minutes(priority, name)
        if minutes is None:
            del state.targets[name]
            continue
        target.minutes = minutes
        target.warned = target.warned and _used(state, target, at) >= minutes * (
            state.policy.warning_percent / 100
        )
        if _running(target):
            _schedule(state, target)
    return True


def due_alerts(state: State, now: dt.datetime) -> list[Alert]:
    """Warnings and breaches due by `now`, each once: the state remembers what it has said."""
    alerts: list[Alert] = []
    for name, target in state.targets.items():
        if not _running(target) or target.due_at is None:
            continue
        if target.due_at <= now:
            target.status = "breached"
            target.breached_at = target.due_at
            target.warned = True
            alerts.append(Alert("breached", name, target.due_at))
        elif not target.warned and target.warn_at is not None and target.warn_at <= now:
            target.warned = True
            alerts.append(Alert("warning", name, target.due_at))
    return alerts


def columns(state: State | None) -> dict[str, Any]:
    """The conversation's SLA columns: what the list filters, the sweep and the reports read."""
    out: dict[str, Any] = {}
    for name in TARGETS:
        target = state.targets.get(name) if state is not None else None
        out[f"{name}_due_at"] = target.due_at if target is not None else None
        out[f"{name}_status"] = (
            target.status if target is not None and target.status != "idle" else None
        )
    for name in ("first_response", "resolution"):
        target = state.targets.get(name) if state is not None else None
        minutes = target.business_minutes if target is not None else None
        out[f"{name}_seconds"] = None if minutes is None else round(minutes * 60)
    running = [t for t in (state.targets.values() if state else ()) if _running(t)]
    dues = [t.due_at for t in running if t.due_at is not None]
    warns = [t.warn_at for t in running if t.warn_at is not None]
    checks = dues + [t.warn_at for t in running if t.warn_at is not None and not t.warned]
    open_breaches = [
        t.breached_at
        for t in (state.targets.values() if state else ())
        if t.status == "breached" and t.finished_at is None and t.breached_at is not None
    ]
    out["sla_due_at"] = min(dues) if dues else None
    out["sla_warn_at"] = min(warns) if warns else None
    out["sla_check_at"] = min(checks) if checks else None
    out["sla_breached_at"] = min(open_breaches) if open_breaches else None
    return out


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(State)


def encode(state: State) -> str:
    return _encoder.encode(state).decode()


def decode(raw: str | bytes) -> State:
    return _decoder.decode(raw)
