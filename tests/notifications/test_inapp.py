"""In-app notifications end to end: the API, the in-process worker's `notifications` subscriber,
PostgreSQL. One test per kind, plus preferences, reading, isolation and idempotency."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import httpx

from hub.notifications import notify, subscriber
from hub.realtime.events import events_after
from hub.system import clock
from tests.conftest import admin_key, inbound, make_api_inbox, run_job, unique
from tests.notifications.helpers import (
    agent,
    members,
    notifications,
    settled,
    team,
    wait_for_kind,
)


async def _conversation(
    client: httpx.AsyncClient, admin: dict[str, str], inbox_id: int, sender: str = "+4520000001"
) -> int:
    response = await inbound(client, admin, inbox_id, unique("m"), text="my router", sender=sender)
    assert response.status_code == 201, response.text
    return int(response.json()["conversation_id"])


async def _patch(client: httpx.AsyncClient, headers: dict[str, str], cid: int, **body: Any) -> None:
    response = await client.patch(f"/api/v1/conversations/{cid}", json=body, headers=headers)
    assert response.status_code == 200, response.text


async def test_assigned_to_you(client: httpx.AsyncClient, clean_db: str) -> None:
    admin = await admin_key(client)
    inbox = await make_api_inbox(client, admin)
    ann, bob = await agent(client), await agent(client)
    await members(client, admin, inbox["id"], ann, bob)
    cid = await _conversation(client, admin, inbox["id"])
    await _patch(client, admin, cid, assignee_id=ann.id)
    [note] = await wait_for_kind(client, ann, "assigned")
    assert note["conversation_id"] == cid
    assert note["title"].endswith("was assigned to you")
    assert note["data"]["ref"] and note["read_at"] is None
    # Taking a conversation yourself is no news to you.
    await _patch(client, bob.headers, cid, assignee_id=bob.id)
    await settled(clean_db)
    assert (await notifications(client, bob))["items"] == []
    got = await notifications(client, ann)
    assert got["unread_count"] == 1, got


async def test_new_customer_message_in_your_conversation(
    client: httpx.AsyncClient, clean_db: str
) -> None:
    admin = await admin_key(client)
    inbox = await make_api_inbox(client, admin)
    ann, bob = await agent(client), await agent(client)
    await members(client, admin, inbox["id"], ann, bob)
    cid = await _conversation(client, admin, inbox["id"])
    await _patch(client, ann.headers, cid, assignee_id=ann.id)
    await inbound(
        client, admin, inbox["id"], unique("m"), text="still broken", sender="+4520000001"
    )
    [note] = await wait_for_kind(client, ann, "message")
    assert note["body"] == "still broken" and note["conversation_id"] == cid
    assert (await notifications(client, bob))["items"] == []


async def test_mentions_in_a_private_note(client: httpx.AsyncClient, clean_db: str) -> None:
    admin = await admin_key(client)
    inbox = await make_api_inbox(client, admin)
    ann, bob, cat, outsider = [await agent(client) for _ in range(4)]
    await members(client, admin, inbox["id"], ann, bob, cat)
    billing = await team(clean_db, unique("billing"), cat, ann)
    cid = await _conversation(client, admin, inbox["id"])
    response = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={
            "text": "@Bob @billing can you look?",
            "private": True,
            "mentions": [{"type": "agent", "id": bob.id}, {"type": "team", "id": billing}],
        },
        headers=ann.headers,
    )
    assert response.status_code == 201, response.text
    stored = response.json()
    assert [m["id"] for m in stored["meta"]["mentions"]] == [bob.id, billing]
    [to_bob] = await wait_for_kind(client, bob, "mention")
    [to_cat] = await wait_for_kind(client, cat, "mention")
    assert "mentioned you" in to_bob["title"] and "mentioned your team" in to_cat["title"]
    assert to_bob["body"] == "@Bob @billing can you look?"
    await settled(clean_db)
    assert (await notifications(client, ann))["items"] == []  # the author is in the team

    refused = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"text": "hey", "private": True, "mentions": [{"type": "agent", "id": outsider.id}]},
        headers=ann.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_mention"
    assert "cannot see the inbox" in refused.json()["error"]["message"]
    reply = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"text": "hey", "mentions": [{"type": "agent", "id": bob.id}]},
        headers=ann.headers,
    )
    assert reply.status_code == 422  # replies go to the customer: mentions are for notes


async def _sla_policy(client: httpx.AsyncClient, admin: dict[str, str], inbox_id: int) -> None:
    week = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    hours = await client.post(
        "/api/v1/business-hours",
        json={
            "name": unique("always"),
            "timezone": "UTC",
            "weekly": {d: [["00:00", "24:00"]] for d in week},
        },
        headers=admin,
    )
    policy = await client.post(
        "/api/v1/sla-policies",
        json={
            "name": unique("p"),
            "business_hours_id": hours.json()["id"],
            "targets": {"default": {"first_response": 10}},
        },
        headers=admin,
    )
    assert policy.status_code == 201, policy.text
    response = await client.put(
        f"/api/v1/inboxes/{inbox_id}/sla-policy",
        json={"policy_id": policy.json()["id"]},
        headers=admin,
    )
    assert response.status_code == 204


async def _sweep() -> None:
    await run_job("sla_sweep")


async def test_sla_warning_and_breach_on_yours_or_your_teams_unassigned(
    client: httpx.AsyncClient, clean_db: str
) -> None:
    admin = await admin_key(client)
    inbox = await make_api_inbox(client, admin)
    ann, bob, cat = [await agent(client) for _ in range(3)]
    await members(client, admin, inbox["id"], ann, bob, cat)
    await _sla_policy(client, admin, inbox["id"])
    support = await team(clean_db, unique("support"), bob, cat)
    mine = await _conversation(client, admin, inbox["id"], sender="+4520000001")
    teams = await _conversation(client, admin, inbox["id"], sender="+4520000002")
    await _patch(client, admin, mine, assignee_id=ann.id, team_id=support)
    await _patch(client, admin, teams, team_id=support)
    await settled(clean_db, "sla")
    clock.advance(dt.timedelta(minutes=9))
    await _sweep()
    [warning] = await wait_for_kind(client, ann, "sla_warning")
    assert warning["conversation_id"] == mine and "first response" in warning["title"]
    for member in (bob, cat):
        [team_warning] = await wait_for_kind(client, member, "sla_warning")
        assert team_warning["conversation_id"] == teams
    clock.advance(dt.timedelta(minutes=2))
    await _sweep()
    [breach] = await wait_for_kind(client, ann, "sla_breached")
    assert breach["data"]["target"] == "first_response"
    await wait_for_kind(client, bob, "sla_breached")


async def test_automation_notify(client: httpx.AsyncClient, clean_db: str) -> None:
    admin = await admin_key(client)
    inbox = await make_api_inbox(client, admin)
    ann, bob, outsider = [await agent(client) for _ in range(3)]
    await members(client, admin, inbox["id"], ann, bob)
    crew = await team(clean_db, unique("crew"), bob, outsider)
    cid = await _conversation(client, admin, inbox["id"])
    created = await notify(
        agent_ids=[ann.id], team_id=crew, conversation_id=cid, title="VIP wrote", event_id=1
    )
    # The outsider is in the team but cannot see the inbox.
    assert sorted(n["agent_id"] for n in created) == sorted([ann.id, bob.id])
    again = await notify(agent_ids=[ann.id], conversation_id=cid, title="VIP wrote", event_id=1)
    assert again == []  # the same triggering event notifies each agent once
    [note] = (await notifications(client, ann))["items"]
    assert note["kind"] == "automation" and note["title"] == "VIP wrote"
    assert (await notifications(client, outsider))["items"] == []


async def test_preferences_turn_a_kind_off(client: httpx.AsyncClient, clean_db: str) -> None:
    admin = await admin_key(client)
    inbox = await make_api_inbox(client, admin)
    ann = await agent(client)
    await members(client, admin, inbox["id"], ann)
    defaults = await client.get("/api/v1/notification-preferences", headers=ann.headers)
    assert defaults.json()["kinds"]["assigned"] == {"in_app": True, "email": True}
    changed = await client.put(
        "/api/v1/notification-preferences",
        json={"kinds": {"assigned": {"in_app": False, "email": False}}},
        headers=ann.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["kinds"]["assigned"] == {"in_app": False, "email": False}
    assert changed.json()["kinds"]["mention"] == {"in_app": True, "email": True}
    bad = await client.put(
        "/api/v1/notification-preferences",
        json={"kinds": {"weather": {"in_app": True, "email": False}}},
        headers=ann.headers,
    )
    assert bad.status_code == 422
    cid = await _conversation(client, admin, inbox["id"])
    await _patch(client, admin, cid, assignee_id=ann.id)
    await settled(clean_db)
    assert (await notifications(client, ann))["items"] == []


async def test_mark_one_and_all_read(client: httpx.AsyncClient, clean_db: str) -> None:
    ann, bob = await agent(client), await agent(client)
    ids = [(await notify(agent_ids=[ann.id], title=f"n{i}"))[0]["id"] for i in range(3)]
    [theirs] = await notify(agent_ids=[bob.id], title="bob's")
    one = await client.post(
        "/api/v1/notifications/read", json={"ids": [ids[0], theirs["id"]]}, headers=ann.headers
    )
    assert one.json() == {"unread_count": 2}
    unread = await notifications(client, ann, unread="true")
    assert [n["id"] for n in unread["items"]] == [ids[2], ids[1]]
    assert (await notifications(client, bob))["unread_count"] == 1  # not touched by ann
    everything = await client.post(
        "/api/v1/notifications/read", json={"all": True}, headers=ann.headers
    )
    assert everything.json() == {"unread_count": 0}
    assert len((await notifications(client, ann))["items"]) == 3
    both = await client.post(
        "/api/v1/notifications/read", json={"all": True, "ids": [1]}, headers=ann.headers
    )
    assert both.status_code == 400


async def test_a_redelivered_batch_notifies_once(client: httpx.AsyncClient, clean_db: str) -> None:
    admin = await admin_key(client)
    inbox = await make_api_inbox(client, admin)
    ann = await agent(client)
    await members(client, admin, inbox["id"], ann)
    cid = await _conversation(client, admin, inbox["id"])
    await _patch(client, admin, cid, assignee_id=ann.id)
    await wait_for_kind(client, ann, "assigned")
    # As after a crash before the cursor moved: the same events handed over again.
    await subscriber.handle(await events_after(0, limit=1000))
    assert len((await notifications(client, ann))["items"]) == 1
    conn = await asyncpg.connect(clean_db)
    try:
        pushed = await conn.fetchval(
            "SELECT count(*) FROM event WHERE type = 'notification.created' AND agent = $1", ann.id
        )
    finally:
        await conn.close()
    assert pushed == 1
