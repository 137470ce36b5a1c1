"""GET /api/v1/csat: filters, keyset pages, the summary, what an agent may see; the settings API."""

from __future__ import annotations

from typing import Any

import httpx

from hub.csat import answers
from tests.conftest import admin_key, api_key_for, inbound, make_api_inbox, unique
from tests.csat.conftest import enable, resolve_and_send


async def _answered(
    client: httpx.AsyncClient, headers: dict[str, str], inbox_id: int, sender: str, rating: int
) -> int:
    response = await inbound(client, headers, inbox_id, unique("ext"), sender=sender)
    conversation = int(response.json()["conversation_id"])
    survey = await resolve_and_send(client, headers, conversation)
    await answers.record(survey["id"], rating, f"rated {rating}", via="api")
    return conversation


async def test_list_filters_pages_and_scores(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    first = await make_api_inbox(client, headers)
    second = await make_api_inbox(client, headers)
    for inbox in (first, second):
        await enable(client, headers, inbox["id"])
    ratings = {1: [5, 4, 2], 2: [1]}
    made: dict[int, int] = {}
    for n, value in enumerate(ratings[1]):
        made[await _answered(client, headers, first["id"], f"+45300000{n}1", value)] = value
    for n, value in enumerate(ratings[2]):
        made[await _answered(client, headers, second["id"], f"+45300000{n}2", value)] = value

    everything = (await client.get("/api/v1/csat", headers=headers)).json()
    assert {i["conversation_id"]: i["rating"] for i in everything["items"]} == made
    assert everything["summary"] == {"count": 4, "average": 3.0, "score": 50.0}
    # Newest answer first.
    assert [i["rating"] for i in everything["items"]] == [1, 2, 4, 5]

    only_first = (
        await client.get("/api/v1/csat", params={"inbox_id": first["id"]}, headers=headers)
    ).json()
    assert sorted(i["rating"] for i in only_first["items"]) == [2, 4, 5]
    assert only_first["summary"]["score"] == 66.7
    happy = (
        await client.get("/api/v1/csat", params=[("rating", 4), ("rating", 5)], headers=headers)
    ).json()
    assert sorted(i["rating"] for i in happy["items"]) == [4, 5]

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/csat", params=params, headers=headers)).json()
        seen += [i["conversation_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["conversation_id"] for i in everything["items"]]

    ranged = await client.get(
        "/api/v1/csat", params={"since": "2999-01-01T00:00:00Z"}, headers=headers
    )
    assert ranged.json()["items"] == [] and ranged.json()["summary"]["count"] == 0
    assert (
        await client.get("/api/v1/csat", params={"rating": 9}, headers=headers)
    ).status_code == 400
    assert (
        await client.get("/api/v1/csat", params={"cursor": "!!"}, headers=headers)
    ).status_code == 400

    # An agent sees only the answers of inboxes they work.
    email = unique("a") + "@example.com"
    agent = {"authorization": f"Bearer {await api_key_for(client, email)}"}
    assert (await client.get("/api/v1/csat", headers=agent)).json()["items"] == []
    me = (await client.get("/api/v1/auth/me", headers=agent)).json()["agent"]
    members = await client.put(
        f"/api/v1/inboxes/{second['id']}/members", json={"agent_ids": [me["id"]]}, headers=headers
    )
    assert members.status_code == 200, members.text
    mine = (await client.get("/api/v1/csat", headers=agent)).json()
    assert [i["rating"] for i in mine["items"]] == [1]
    assert mine["summary"]["count"] == 1


async def test_settings_are_validated_and_admin_only(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    shown = (await client.get(f"/api/v1/inboxes/{inbox['id']}/csat", headers=headers)).json()
    assert shown == {
        "enabled": False,
        "delay_minutes": 0,
        "window_hours": 168,
        "question": "",
        "template": "",
    }
    bad = await client.put(
        f"/api/v1/inboxes/{inbox['id']}/csat",
        json={"enabled": True, "delay_minutes": 72 * 60 + 1},
        headers=headers,
    )
    assert bad.status_code == 400 and "delay_minutes" in bad.text
    agent = {"authorization": f"Bearer {await api_key_for(client, unique('a') + '@example.com')}"}
    refused = await client.put(
        f"/api/v1/inboxes/{inbox['id']}/csat", json={"enabled": True}, headers=agent
    )
    assert refused.status_code == 403
    assert (await client.get("/api/v1/inboxes/999999/csat", headers=headers)).status_code == 404


async def test_the_demo_has_answered_surveys_with_events(client: httpx.AsyncClient) -> None:
    from hub.db.engine import connection_pool
    from hub.demo.seed import load_demo

    assert await load_demo() is True
    headers = await admin_key(client)
    listed = (await client.get("/api/v1/csat", headers=headers)).json()
    assert listed["summary"]["count"] >= 4 and listed["summary"]["score"] is not None
    received = await connection_pool().fetchval(
        # The reports' back-dated weeks (hub/demo/history.py) carry CSAT in their events only.
        "SELECT count(*) FROM event WHERE type = 'csat.received'"
        " AND conversation IN (SELECT conversation FROM csat_response)"
    )
    assert received == listed["summary"]["count"]
    one = listed["items"][0]
    shown = await client.get(f"/api/v1/conversations/{one['conversation_id']}", headers=headers)
    assert shown.json()["status"] == "resolved"
    assert shown.json()["csat"]["response"]["rating"] == one["rating"]
    enabled = await connection_pool().fetchval("SELECT count(*) FROM csat_setting WHERE enabled")
    assert enabled == 5
