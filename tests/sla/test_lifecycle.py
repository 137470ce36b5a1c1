"""SLA through a conversation's life, end to end: the API, the in-process SAQ worker (the event
subscriber and the sweep), PostgreSQL, and a controllable clock instead of sleeping."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg
import httpx

from hub.sla import tracking
from hub.system import clock
from tests.conftest import admin_key, eventually, inbound, make_api_inbox, run_job, unique

ALWAYS_OPEN = {day: [["00:00", "24:00"]] for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}  # fmt: skip


async def _policy(client: httpx.AsyncClient, headers: dict[str, str], **targets: int) -> int:
    hours = await client.post(
        "/api/v1/business-hours",
        json={"name": unique("always"), "timezone": "Europe/Berlin", "weekly": ALWAYS_OPEN},
        headers=headers,
    )
    assert hours.status_code == 201, hours.text
    policy = await client.post(
        "/api/v1/sla-policies",
        json={
            "name": unique("standard"),
            "business_hours_id": hours.json()["id"],
            "targets": {"default": targets},
            "warning_percent": 80,
        },
        headers=headers,
    )
    assert policy.status_code == 201, policy.text
    return int(policy.json()["id"])


async def _sla(client: httpx.AsyncClient, headers: dict[str, str], cid: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/conversations/{cid}", headers=headers)
    assert response.status_code == 200
    return response.json().get("sla") or {}


async def _until(
    client: httpx.AsyncClient, headers: dict[str, str], cid: int, **want: Any
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        sla = await _sla(client, headers, cid)
        return sla if all(sla.get(k) == v for k, v in want.items()) else None

    result: dict[str, Any] = await eventually(check)
    return result


async def _sweep() -> dict[str, int]:
    return dict(await run_job("sla_sweep"))


async def _settled(database: str) -> None:
    """Wait until the SLA subscriber has read every event committed so far."""

    async def caught_up() -> bool:
        conn = await asyncpg.connect(database)
        try:
            return bool(
                await conn.fetchval(
                    "SELECT coalesce((SELECT last_id FROM event_cursor WHERE subscriber = 'sla'), 0)"
                    " >= (SELECT coalesce(max(id), 0) FROM event)"
                )
            )
        finally:
            await conn.close()

    await eventually(caught_up)


async def _events(database: str, kind: str, cid: int) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch(
            "SELECT data FROM event WHERE type = $1 AND conversation = $2 ORDER BY id", kind, cid
        )
    finally:
        await conn.close()
    import json

    return [json.loads(r["data"]) for r in rows]


async def test_a_conversation_through_its_life(
    client: httpx.AsyncClient, clean_db: str, callback_receiver: tuple[Any, str]
) -> None:
    headers = await admin_key(client)
    _, url = callback_receiver
    inbox = await make_api_inbox(client, headers, callback_url=url, callback_secret="s")
    policy = await _policy(client, headers, first_response=60, next_response=30, resolution=480)
    assert (
        await client.put(
            f"/api/v1/inboxes/{inbox['id']}/sla-policy", json={"policy_id": policy}, headers=headers
        )
    ).status_code == 204

    first = await inbound(client, headers, inbox["id"], unique("m"), "my line is down")
    cid = first.json()["conversation_id"]
    sla = await _until(client, headers, cid, first_response_status="running")
    created = dt.datetime.fromisoformat(first.json()["created_at"])
    due = dt.datetime.fromisoformat(sla["first_response_due_at"])
    # The conversation's creation starts the clock (the message and the row share one commit).
    assert abs((due - created) - dt.timedelta(minutes=60)) < dt.timedelta(seconds=2)
    assert sla["resolution_status"] == "running" and sla["next_response_status"] is None

    reply = await client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "Looking now"}, headers=headers
    )
    assert reply.status_code == 201, reply.text
    sla = await _until(client, headers, cid, first_response_status="met")
    assert sla["first_response_due_at"] is None and sla["first_response_seconds"] is not None

    await inbound(client, headers, inbox["id"], unique("m"), "still down")
    sla = await _until(client, headers, cid, next_response_status="running")

    # 25 of 30 minutes later the next response is in its warning window: warned once.
    clock.advance(dt.timedelta(minutes=25))
    assert (await _sweep())["warning"] == 1
    assert (await _sweep())["warning"] == 0
    listed = await client.get("/api/v1/conversations?sla=at_risk", headers=headers)
    assert [c["id"] for c in listed.json()["items"]] == [cid]

    # Waiting on the customer pauses the clock: two hours pass without a breach.
    assert (
        await client.patch(
            f"/api/v1/conversations/{cid}", json={"status": "pending"}, headers=headers
        )
    ).status_code == 200
    await _until(client, headers, cid, next_response_status="paused", resolution_status="paused")
    clock.advance(dt.timedelta(hours=2))
    assert await _sweep() == {"warning": 0, "breached": 0}

    # Back to open: the clock runs again from where it stopped, then the deadline passes.
    await client.patch(f"/api/v1/conversations/{cid}", json={"status": "open"}, headers=headers)
    sla = await _until(client, headers, cid, next_response_status="running")
    resumed_due = dt.datetime.fromisoformat(sla["next_response_due_at"])
    assert resumed_due > created + dt.timedelta(minutes=25)  # the paused time did not count
    clock.advance(dt.timedelta(minutes=40))
    assert (await _sweep())["breached"] == 1
    breached = await _events(clean_db, "sla.breached", cid)
    assert [e["target"] for e in breached] == ["next_response"]
    listed = await client.get("/api/v1/conversations?sla=breached", headers=headers)
    assert [c["id"] for c in listed.json()["items"]] == [cid]

    # Resolving meets the resolution target (8 hours, barely used) and ends the open breach.
    await client.patch(f"/api/v1/conversations/{cid}", json={"status": "resolved"}, headers=headers)
    sla = await _until(client, headers, cid, resolution_status="met")
    assert sla["next_response_status"] == "breached"  # the outcome stays for the reports
    assert sla["resolution_seconds"] is not None and sla["breached_at"] is None
    listed = await client.get("/api/v1/conversations?sla=breached", headers=headers)
    assert listed.json()["items"] == []
    assert len(await _events(clean_db, "sla.warning", cid)) == 1
    assert len(await _events(clean_db, "sla.breached", cid)) == 1


async def test_each_breach_is_announced_once_across_sweepers(
    client: httpx.AsyncClient, clean_db: str
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    policy = await _policy(client, headers, first_response=5)
    await client.put(
        f"/api/v1/inboxes/{inbox['id']}/sla-policy", json={"policy_id": policy}, headers=headers
    )
    ids = []
    for n in range(30):
        response = await inbound(
            client, headers, inbox["id"], unique("m"), sender=f"+45201234{n:02d}"
        )
        ids.append(response.json()["conversation_id"])
    for cid in ids:
        await _until(client, headers, cid, first_response_status="running")
    clock.advance(dt.timedelta(minutes=10))
    # Three sweeps at once (and the worker's own cron may join them): each breach exactly once.
    results = await asyncio.gather(tracking.sweep(limit=7), tracking.sweep(limit=7), _sweep())
    # The worker's own cron sweep may take some of them: the database says who announced what.
    assert sum(r["breached"] for r in results) <= 30
    conn = await asyncpg.connect(clean_db)
    try:
        counts = await conn.fetch(
            "SELECT conversation, count(*) AS n FROM event WHERE type = 'sla.breached' GROUP BY 1"
        )
    finally:
        await conn.close()
    assert sorted(r["conversation"] for r in counts) == sorted(ids)
    assert {r["n"] for r in counts} == {1}


async def test_bad_calendars_and_policies_are_refused_with_the_problem(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    cases = [
        ({"timezone": "Mars/Base", "weekly": {"monday": [["09:00", "17:00"]]}}, "unknown time zone 'Mars/Base'"),
        ({"timezone": "UTC", "weekly": {"monday": [["18:00", "09:00"]]}}, "monday: interval 18:00-09:00 ends before it starts"),
        ({"timezone": "UTC", "weekly": {"tuesday": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "tuesday: intervals 09:00-12:00 and 11:00-13:00 overlap"),
        ({"timezone": "UTC", "weekly": {"monday": [["09:00", "17:00"]]}, "holidays_ics": "not a calendar"}, "holiday file does not parse"),
    ]  # fmt: skip
    for body, problem in cases:
        response = await client.post(
            "/api/v1/business-hours", json={"name": unique("h"), **body}, headers=headers
        )
        assert response.status_code == 422, response.text
        assert problem in response.text
    assert (await client.get("/api/v1/business-hours", headers=headers)).json() == []
    bad = await client.post(
        "/api/v1/sla-policies",
        json={"name": "x", "targets": {"default": {"first_answer": 5}}},
        headers=headers,
    )
    assert bad.status_code == 422 and "unknown target 'first_answer'" in bad.text
    assert (await client.get("/api/v1/sla-policies", headers=headers)).json() == []


async def test_a_policy_edit_does_not_move_running_deadlines(
    client: httpx.AsyncClient, clean_db: str
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    policy = await _policy(client, headers, first_response=60)
    await client.put(
        f"/api/v1/inboxes/{inbox['id']}/sla-policy", json={"policy_id": policy}, headers=headers
    )
    cid = (await inbound(client, headers, inbox["id"], unique("m"))).json()["conversation_id"]
    before = await _until(client, headers, cid, first_response_status="running")
    current_policy = (await client.get(f"/api/v1/sla-policies/{policy}", headers=headers)).json()
    edited = await client.put(
        f"/api/v1/sla-policies/{policy}",
        json={
            "name": current_policy["name"],
            "business_hours_id": current_policy["business_hours_id"],
            "targets": {"default": {"first_response": 5}},
        },
        headers=headers,
    )
    assert edited.status_code == 200, edited.text
    await client.patch(f"/api/v1/conversations/{cid}", json={"priority": "high"}, headers=headers)
    await _settled(clean_db)
    after = await _sla(client, headers, cid)
    assert after["first_response_due_at"] == before["first_response_due_at"]
    # Asked explicitly, the conversation takes the policy as it is now.
    applied = await client.put(
        f"/api/v1/conversations/{cid}/sla", json={"policy_id": policy}, headers=headers
    )
    assert applied.status_code == 200, applied.text
    due = dt.datetime.fromisoformat(applied.json()["sla"]["first_response_due_at"])
    assert due < dt.datetime.fromisoformat(before["first_response_due_at"])
