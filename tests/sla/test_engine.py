"""The SLA state machine on its own: targets, pauses, priorities, reopening, alerts once."""

from __future__ import annotations

import datetime as dt

from hub.sla import engine
from hub.sla.engine import Snapshot
from hub.sla.hours import BusinessCalendar, Interval

UTC = dt.UTC
# Monday to Friday 09:00-17:00 in Berlin.
OFFICE = BusinessCalendar(
    timezone="Europe/Berlin",
    weekly=tuple((Interval("09:00", "17:00"),) if d < 5 else () for d in range(7)),
)


def policy(calendar: BusinessCalendar | None = OFFICE, **overrides: object) -> Snapshot:
    targets = {
        "default": {"first_response": 60, "next_response": 30, "resolution": 480},
        "urgent": {"first_response": 15, "next_response": 10, "resolution": 120},
    }
    return Snapshot(id=1, name="Standard", targets=targets, calendar=calendar, **overrides)  # type: ignore[arg-type]


def at(text: str) -> dt.datetime:
    """Berlin wall-clock time in winter (UTC+1) as a UTC instant."""
    return (
        dt.datetime.fromisoformat(text)
        .replace(tzinfo=dt.timezone(dt.timedelta(hours=1)))
        .astimezone(UTC)
    )


def test_a_message_late_on_friday_is_due_on_monday() -> None:
    state = engine.new_state(
        policy(),
        created_at=at("2026-12-04T16:30"),
        priority="none",
        status="open",
        now=at("2026-12-04T16:30"),
    )
    first = state.targets["first_response"]
    assert first.due_at == at("2026-12-07T09:30")  # 30 minutes on Friday, 30 on Monday
    assert first.warn_at == at("2026-12-07T09:18")  # 80 % of 60 minutes
    assert engine.columns(state)["sla_due_at"] == first.due_at


def test_pending_pauses_and_open_resumes_where_it_stopped() -> None:
    state = engine.new_state(
        policy(),
        created_at=at("2026-12-01T10:00"),
        priority="none",
        status="open",
        now=at("2026-12-01T10:00"),
    )
    engine.agent_reply(state, at("2026-12-01T10:20"))
    assert state.targets["first_response"].status == "met"
    assert engine.columns(state)["first_response_seconds"] == 20 * 60
    engine.customer_message(state, at("2026-12-01T11:00"))
    assert state.targets["next_response"].due_at == at("2026-12-01T11:30")
    engine.set_status(state, "pending", at("2026-12-01T11:10"))  # 10 of 30 minutes used
    assert state.targets["next_response"].status == "paused"
    assert engine.columns(state)["sla_due_at"] is None
    engine.set_status(state, "open", at("2026-12-02T16:50"))  # 10 minutes left today, 10 tomorrow
    assert state.targets["next_response"].due_at == at("2026-12-03T09:10")
    # Resolution used 70 minutes before the pause: 10 more on Wednesday, 400 from Thursday 09:00.
    assert state.targets["resolution"].due_at == at("2026-12-03T15:40")


def test_alerts_come_once_and_a_breach_stays_the_outcome() -> None:
    state = engine.new_state(
        policy(None),
        created_at=at("2026-12-01T10:00"),
        priority="none",
        status="open",
        now=at("2026-12-01T10:00"),
    )
    assert engine.due_alerts(state, at("2026-12-01T10:47")) == []
    alerts = engine.due_alerts(state, at("2026-12-01T10:49"))
    assert [(a.kind, a.target) for a in alerts] == [("warning", "first_response")]
    assert engine.due_alerts(state, at("2026-12-01T10:50")) == []
    alerts = engine.due_alerts(state, at("2026-12-01T11:01"))
    assert [(a.kind, a.target) for a in alerts] == [("breached", "first_response")]
    assert engine.due_alerts(state, at("2026-12-01T11:02")) == []
    assert engine.columns(state)["sla_breached_at"] == at("2026-12-01T11:00")
    engine.agent_reply(state, at("2026-12-01T11:30"))
    columns = engine.columns(state)
    assert columns["first_response_status"] == "breached"
    assert columns["sla_breached_at"] is None  # answered: no longer an open breach
    assert columns["first_response_seconds"] == 90 * 60


def test_a_higher_priority_shortens_running_targets_keeping_time_used() -> None:
    state = engine.new_state(
        policy(None),
        created_at=at("2026-12-01T10:00"),
        priority="none",
        status="open",
        now=at("2026-12-01T10:00"),
    )
    engine.set_priority(state, "urgent", at("2026-12-01T10:05"))
    assert state.targets["first_response"].due_at == at("2026-12-01T10:15")
    assert state.targets["resolution"].due_at == at("2026-12-01T12:00")


def test_resolving_meets_resolution_and_reopening_counts_on() -> None:
    state = engine.new_state(
        policy(None),
        created_at=at("2026-12-01T10:00"),
        priority="none",
        status="open",
        now=at("2026-12-01T10:00"),
    )
    engine.agent_reply(state, at("2026-12-01T10:10"))
    engine.set_status(state, "resolved", at("2026-12-01T11:00"))
    assert state.targets["resolution"].status == "met"
    assert engine.columns(state)["resolution_seconds"] == 3600
    engine.set_status(state, "open", at("2026-12-01T12:00"))
    resolution = state.targets["resolution"]
    assert resolution.status == "running" and resolution.due_at == at("2026-12-01T19:00")
    assert engine.customer_message(state, at("2026-12-01T12:00")) is True


def test_a_zero_minute_target_is_due_at_once() -> None:
    zero = Snapshot(id=2, name="Zero", targets={"default": {"first_response": 0}})
    state = engine.new_state(
        zero,
        created_at=at("2026-12-01T10:00"),
        priority="none",
        status="open",
        now=at("2026-12-01T10:00"),
    )
    assert state.targets["first_response"].due_at == at("2026-12-01T10:00")
    assert [a.kind for a in engine.due_alerts(state, at("2026-12-01T10:00"))] == ["breached"]


def test_a_conversation_created_resolved_ends_its_targets() -> None:
    state = engine.new_state(
        policy(None),
        created_at=at("2026-12-01T10:00"),
        priority="none",
        status="resolved",
        now=at("2026-12-01T12:00"),
    )
    columns = engine.columns(state)
    assert columns["resolution_status"] == "met" and columns["sla_check_at"] is None
    assert engine.decode(engine.encode(state)) == state
