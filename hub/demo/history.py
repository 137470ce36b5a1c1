"""Four weeks of past conversations for the reports: created, answered and resolved at
back-dated times, written with the same event shapes the live pipeline emits.

They belong to a team without an SLA policy (the SLA subscriber leaves them alone) and carry
their SLA outcomes in their own snapshots, so the report's SLA page has history too. Each event
goes through hub_emit, and its commit time is moved back in the same transaction: the rollup
job then counts it in the hour it pretends to have happened.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import asyncpg

from hub.db.engine import connection_pool

DAYS = 28
PER_DAY = 9
TAGS = ("billing", "outage", "router", "fiber", "")
FIRST_RESPONSE_TARGET = 60 * 60  # the demo's policy: one hour for the first response


def _times(rng: random.Random, now: dt.datetime) -> list[dt.datetime]:
    """When customers wrote: weekdays busier, office hours busiest."""
    out = []
    for day in range(DAYS, 0, -1):
        date = (now - dt.timedelta(days=day)).replace(hour=0, minute=0, second=0, microsecond=0)
        count = PER_DAY if date.weekday() < 5 else PER_DAY // 3
        for _ in range(rng.randint(count - 2, count + 2)):
            hour = min(23, max(0, int(rng.gauss(12, 3.5))))
            out.append(date + dt.timedelta(hours=hour, minutes=rng.randint(0, 59)))
    return sorted(out)


async def _emit(conn: asyncpg.Connection, event: dict[str, Any], at: dt.datetime) -> None:
    ids = await conn.fetchval(
        "SELECT array_agg((e->>'id')::bigint) FROM jsonb_array_elements("
        "hub_emit(jsonb_build_array($1::jsonb), 'system', NULL)) e",
        json.dumps(event, default=str),
    )
    await conn.execute("UPDATE event SET created_at = $1 WHERE id = ANY($2::bigint[])", at, ids)


async def load_history(inbox_ids: list[int], agent_ids: list[int], now: dt.datetime) -> int:
    """Create the past conversations; returns how many."""
    rng = random.Random(18)
    async with connection_pool().acquire() as conn, conn.transaction():
        team = await conn.fetchval("INSERT INTO team (name) VALUES ('Billing desk') RETURNING id")
        contacts = [
            await conn.fetchval(
                "INSERT INTO contact (name) VALUES ($1) RETURNING id", f"Customer {n}"
            )
            for n in range(1, 41)
        ]
        for tag in TAGS[:-1]:
            await conn.execute("INSERT INTO tag (name) VALUES ($1) ON CONFLICT DO NOTHING", tag)
        times = _times(rng, now)
        for at in times:
            await _conversation(conn, rng, at, now, team, inbox_ids, agent_ids, contacts)
    return len(times)


async def _conversation(
    conn: asyncpg.Connection,
    rng: random.Random,
    at: dt.datetime,
    now: dt.datetime,
    team: int,
    inbox_ids: list[int],
    agent_ids: list[int],
    contacts: list[int],
) -> None:
    inbox = rng.choice(inbox_ids)
    agent = rng.choice(agent_ids)
    tag = rng.choice(TAGS)
    priority = rng.choices(("normal", "high", "urgent"), (8, 3, 1))[0]
    first_response = dt.timedelta(seconds=int(rng.lognormvariate(7.3, 0.9)))  # median ≈ 25 min
    resolution = first_response + dt.timedelta(seconds=int(rng.lognormvariate(9.2, 1.0)))
    resolved = at + resolution < now - dt.timedelta(hours=2)
    cid = await conn.fetchval(
        "INSERT INTO conversation (inbox, contact, status, priority, subject, assignee, team,"
        " created_at, updated_at, last_message_at, last_inbound_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8, $8) RETURNING id",
        inbox,
        rng.choice(contacts),
        "resolved" if resolved else "open",
        priority,
        f"Question about {tag or 'my service'}",
        agent,
        team,
        at,
    )
    if tag:
        await conn.execute(
            "INSERT INTO conversation_tag (conversation, tag) SELECT $1, id FROM tag WHERE name = $2",
            cid,
            tag,
        )
    snapshot = json.loads(await conn.fetchval("SELECT hub_conversation_json($1)", cid))
    where = {"conversation": cid, "inbox": inbox}
    await _emit(
        conn, {**where, "type": "conversation.created", "data": {**snapshot, "status": "open"}}, at
    )
    lines = [(at, "in", "Hi, I have a question."), (at + first_response, "out", "Happy to help.")]
    for when, direction, text in lines:
        mid = await conn.fetchval(
            "INSERT INTO message (conversation, inbox, kind, direction, author_type, author_id,"
            " text, html, status, error, attempts, meta, created_at, updated_at)"
            " VALUES ($1, $2, 'message', $3, $4, $5, $6, '', $7, '', 0, '{}'::jsonb, $8, $8)"
            " RETURNING id",
            cid,
            inbox,
            direction,
            "contact" if direction == "in" else "agent",
            snapshot["contact"]["id"] if direction == "in" else agent,
            text,
            "received" if direction == "in" else "sent",
            when,
        )
        message = json.loads(await conn.fetchval("SELECT hub_message_json($1)", mid))
        await _emit(conn, {**where, "type": "message.created", "data": message}, when)
    if not resolved:
        return
    met = first_response.total_seconds() <= FIRST_RESPONSE_TARGET
    sla = {
        "first_response_status": "met" if met else "breached",
        "resolution_status": "met" if resolution < dt.timedelta(hours=24) else "breached",
        "next_response_status": None,
        "first_response_seconds": int(first_response.total_seconds() * 0.8),
        "resolution_seconds": int(resolution.total_seconds() * 0.6),
    }
    done = at + resolution
    await _emit(
        conn, {**where, "type": "conversation.updated", "data": {**snapshot, "sla": sla}}, done
    )
    if rng.random() < 0.8:
        await _emit(conn, {**where, "type": "csat.sent", "data": {"conversation": cid}}, done)
        if rng.random() < 0.55:
            rating = rng.choices((5, 4, 3, 2, 1), (50, 25, 10, 8, 7))[0]
            reply = done + dt.timedelta(minutes=rng.randint(2, 600))
            await _emit(
                conn,
                {**where, "type": "csat.received", "data": {"rating": rating, "comment": None}},
                reply,
            )
