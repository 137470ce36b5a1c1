"""Random event streams, applied by the incremental job in random batches, give exactly the rows
a rebuild from scratch gives, hourly and daily; and the daily rows are the hourly ones summed per
local day (what a change of zone rebuilds them from)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.db.engine import connection_pool
from hub.realtime import events
from hub.reports import rollup
from tests.conftest import admin_key, inbound, make_api_inbox
from tests.reports.helpers import snapshot

BASE = dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC)

actions = st.one_of(
    st.tuples(st.just("in"), st.none()),
    st.tuples(st.just("out"), st.sampled_from(["agent", "system"])),
    st.tuples(st.just("note"), st.none()),
    st.tuples(st.just("status"), st.sampled_from(["open", "pending", "snoozed", "resolved"])),
    st.tuples(st.just("assignee"), st.sampled_from([None, 1, 2])),
    st.tuples(st.just("team"), st.sampled_from([None, 1])),
    st.tuples(st.just("priority"), st.sampled_from(["low", "normal", "urgent"])),
    st.tuples(st.just("tags"), st.lists(st.sampled_from(["a", "b", "c"]), max_size=2)),
    st.tuples(
        st.just("sla"),
        st.tuples(
            st.sampled_from([None, "running", "met", "breached"]),
            st.sampled_from([None, "running", "met", "breached"]),
            st.sampled_from([None, 60, 600, 7200]),
        ),
    ),
    st.tuples(st.just("csat.sent"), st.none()),
    st.tuples(st.just("csat.received"), st.integers(0, 6)),
)
streams = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 30 * 3600), actions), min_size=1, max_size=40
)


def _event(
    conversation: int, inbox: int, snapshot: dict[str, Any], action: tuple[str, Any]
) -> dict[str, Any]:
    kind, value = action
    where = {"conversation": conversation, "inbox": inbox}
    if kind in ("in", "out", "note"):
        author = "contact" if kind == "in" else (value or "agent")
        return {
            **where,
            "type": "message.created",
            "data": {
                "kind": "note" if kind == "note" else "message",
                "direction": None if kind == "note" else kind,
                "author": {"type": author, "id": 1},
            },
        }
    if kind.startswith("csat."):
        data = (
            {"rating": value, "comment": None}
            if kind == "csat.received"
            else {"conversation": conversation}
        )
        return {**where, "type": kind, "data": data}
    if kind == "status":
        snapshot["status"] = value
    elif kind == "assignee":
        snapshot["assignee_id"] = value
    elif kind == "team":
        snapshot["team_id"] = value
    elif kind == "priority":
        snapshot["priority"] = value
    elif kind == "tags":
        snapshot["tags"] = sorted(set(value))
    elif kind == "sla":
        first, resolution, seconds = value
        snapshot["sla"] = {
            "first_response_status": first,
            "next_response_status": None,
            "resolution_status": resolution,
            "first_response_seconds": seconds,
            "resolution_seconds": seconds and seconds * 3,
        }
    return {**where, "type": "conversation.updated", "data": dict(snapshot)}


async def _write(
    stream: list[tuple[int, int, tuple[str, Any]]],
    conversations: list[int],
    inbox: int,
    introduced: int,
) -> None:
    """The first `introduced` conversations start with conversation.created (the others appear
    through updates alone, as conversations older than the log would); then the stream, each
    event through events.emit with its own commit time (moved back in the same transaction)."""
    snapshots = [
        {"inbox_id": inbox, "channel": "api", "status": "open", "priority": "normal",
         "assignee_id": None, "team_id": None, "tags": [], "sla": None}
        for _ in conversations
    ]  # fmt: skip
    pending = [
        (n * 3600, {"type": "conversation.created", "conversation": c, "inbox": inbox,
                    "data": dict(snapshots[n])})
        for n, c in enumerate(conversations[:introduced])
    ]  # fmt: skip
    for which, offset, action in stream:
        pending.append(
            (3 * 3600 + offset, _event(conversations[which], inbox, snapshots[which], action))
        )
    async with connection_pool().acquire() as conn:
        for offset, event in pending:
            async with conn.transaction():
                emitted = await events.emit(conn, [event])
                await conn.execute(
                    "UPDATE event SET created_at = $1 WHERE id = $2",
                    BASE + dt.timedelta(seconds=offset),
                    emitted[0].id,
                )


@given(
    stream=streams,
    batches=st.lists(st.integers(1, 7), min_size=1, max_size=5),
    introduced=st.sampled_from([3, 3, 2]),
    # UTC; half-hour offset (hours straddle local midnight); the day ahead of UTC
    zone=st.sampled_from(["UTC", "Asia/Kolkata", "Pacific/Auckland", "America/New_York"]),
)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
async def test_incremental_rollup_equals_rebuild(
    quiet_client: httpx.AsyncClient,
    stream: list[Any],
    batches: list[int],
    introduced: int,
    zone: str,
) -> None:
    client = quiet_client
    pool = connection_pool()
    if not await pool.fetchval("SELECT count(*) FROM conversation"):
        headers = await admin_key(client)
        inbox = await make_api_inbox(client, headers)
        for n in range(3):
            await inbound(client, headers, inbox["id"], f"prop-{n}", sender=f"+452000000{n}")
    conversations = [r["id"] for r in await pool.fetch("SELECT id FROM conversation ORDER BY id")]
    inbox_id = int(await pool.fetchval("SELECT inbox FROM conversation LIMIT 1"))
    await pool.execute("DELETE FROM event")
    await rollup.reset()

    await _write(stream, conversations, inbox_id, introduced)
    # The incremental job: small batches of varying size until it has caught up.
    n = 0
    while True:
        result = await rollup.advance(batch=batches[n % len(batches)], zone=zone)
        assert result is not None
        n += 1
        if result[0] == 0:
            break
    incremental = await snapshot()
    assert incremental["states"], "the stream's conversations have report state"
    assert incremental["zone"] == zone
    assert bool(incremental["days"]) == bool(incremental["hours"])
    assert bool(incremental["day_durations"]) == bool(incremental["durations"])

    # The daily rows recomputed from the hourly ones (as a change of zone does) are the same.
    await pool.execute("UPDATE report_mark SET zone = NULL WHERE id = 1")
    assert await rollup.switch_zone(zone) is True
    assert await snapshot() == incremental

    applied = await rollup.rebuild(batch=10_000, zone=zone)
    assert applied == await rollup.count_events()
    assert await snapshot() == incremental
