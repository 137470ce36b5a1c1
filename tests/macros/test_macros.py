"""Macros through the API: variables filled from a real conversation and CRM customer, unknown
variables refused, who sees which macro, and applying one (the reply sent by the worker, the
actions run)."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from hub.db.engine import connection_pool
from tests.conftest import (
    admin_key,
    api_key_for,
    eventually,
    inbound,
    make_api_inbox,
    unique,
)
from tests.crm.conftest import Crm
from tests.fakes.callback import CallbackReceiver


def overdue_customer(crm: Crm) -> None:
    crm.fake.add(
        "customer",
        id=7,
        login="nielsen7",
        name="Karen Nielsen",
        status="active",
        email="",
        phone="+45 2012 3456",
        category="person",
        last_update=crm.fake.stamp(1),
    )
    for number, due, days_ago in (("INV-70", "19.90", 30), ("INV-71", "25.10", 12)):
        crm.fake.add(
            "invoice",
            id=int(number[4:]),
            customer_id=7,
            number=number,
            status="not_paid",
            total=due,
            due=due,
            date_created=crm.fake.day(days_ago + 14),
            date_till=crm.fake.day(days_ago),
            date_updated=crm.fake.stamp(1),
            items=[],
        )


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["agent"] if "agent" in response.json() else response.json())


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], **macro: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/macros", json={"name": unique("macro"), **macro}, headers=headers
    )


async def test_variables_come_from_the_conversation_the_agent_and_the_crm(crm: Crm) -> None:
    overdue_customer(crm)
    await crm.sync(full=True)
    inbox = await make_api_inbox(crm.client, crm.headers)
    message = (
        await inbound(crm.client, crm.headers, inbox["id"], "m-1", sender="+4520123456")
    ).json()
    conversation = (
        await crm.client.get(
            f"/api/v1/conversations/{message['conversation_id']}", headers=crm.headers
        )
    ).json()
    agent = await me(crm.client, crm.headers)
    body = (
        "Hi {{ contact.first_name }} ({{ contact.phone }}), about #{{ conversation.ref }}: "
        "{{ crm.invoice.overdue_count }} invoices ({{ crm.invoice.overdue_total }}) are overdue "
        "on {{ crm.customer.login }}.{% if contact.email %} Mail: {{ contact.email }}{% endif %}"
        " — {{ agent.name }}"
    )
    response = await create(crm.client, crm.headers, body=body)
    assert response.status_code == 201, response.text
    macro = response.json()
    preview = await crm.client.post(
        f"/api/v1/macros/{macro['id']}/preview",
        json={"conversation_id": conversation["id"]},
        headers=crm.headers,
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["text"] == (
        f"Hi Customer (+4520123456), about #{conversation['ref']}: 2 invoices (45.00) are overdue"
        f" on nielsen7. — {agent['name']}"
    )

    # A contact with no CRM customer: the CRM variables are empty, not errors.
    other = (
        await inbound(crm.client, crm.headers, inbox["id"], "m-2", sender="+4599999999")
    ).json()
    preview = await crm.client.post(
        f"/api/v1/macros/{macro['id']}/preview",
        json={"conversation_id": other["conversation_id"]},
        headers=crm.headers,
    )
    assert preview.status_code == 200, preview.text
    assert "0 invoices" not in preview.json()["text"]
    assert " invoices () are overdue on ." in preview.json()["text"]


async def test_unknown_variables_and_bad_actions_are_refused_when_saved(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    response = await create(client, headers, body="Hi {{ contact.nmae }}, {{ crm.customer }}")
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "{{ contact.nmae }}" in message and "{{ crm.customer }}" in message
    for costly in ("{{ 9**9**9 }}", "{% for c in contact.name %}{{ c }}{% endfor %}",
                   "{{ contact.name | center(100000000) }}", '{{ "%999999999s" % contact.name }}'):  # fmt: skip
        response = await create(client, headers, body=costly)
        assert response.status_code == 422, (costly, response.text)
        assert "macros may not use" in response.text or "unknown filter" in response.text
    response = await create(client, headers, body="Hi {{ contact.name ")
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("body: line 1")
    response = await create(
        client,
        headers,
        body="ok",
        actions=[{"type": "tag", "tags": ["a"]}, {"type": "status", "status": "done"}],
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("actions[1].status")
    response = await create(client, headers, body="ok", actions=[{"type": "explode"}])
    assert response.status_code == 400, response.text
    # Nothing was stored by any of them.
    assert (await client.get("/api/v1/macros", headers=headers)).json() == []
    names = {
        v["name"] for v in (await client.get("/api/v1/macros/variables", headers=headers)).json()
    }
    assert {
        "contact.name",
        "conversation.ref",
        "agent.name",
        "crm.customer.login",
        "crm.invoice.overdue_total",
    } <= names


async def test_personal_team_and_everyone_visibility(client: httpx.AsyncClient) -> None:
    admin = await admin_key(client)
    ann = {"authorization": "Bearer " + await api_key_for(client, unique("ann") + "@example.com")}
    bob = {"authorization": "Bearer " + await api_key_for(client, unique("bob") + "@example.com")}
    ann_id = (await me(client, ann))["id"]
    team = (await client.post("/api/v1/teams", json={"name": "Billing"}, headers=admin)).json()
    response = await client.put(
        f"/api/v1/teams/{team['id']}/members", json={"agent_ids": [ann_id]}, headers=admin
    )
    assert response.status_code == 200, response.text

    mine = (await create(client, ann, name="Ann's own", body="Hello")).json()
    assert mine["visibility"] == "personal" and mine["owner_id"] == ann_id
    # An agent may not share macros: that is macros.manage.
    refused = await create(client, ann, name="shared?", body="Hello", visibility="everyone")
    assert refused.status_code == 403, refused.text
    team_macro = (
        await create(
            client, admin, name="Billing reply", body="Hi", visibility="team", team_id=team["id"]
        )
    ).json()
    everyone = (
        await create(client, admin, name="Greeting", body="Hi", visibility="everyone")
    ).json()
    admins_own = (await create(client, admin, name="Admin's own", body="Hi")).json()

    async def names(headers: dict[str, str], **params: Any) -> set[str]:
        response = await client.get("/api/v1/macros", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {m["name"] for m in response.json()}

    assert await names(ann) == {"Ann's own", "Billing reply", "Greeting"}
    assert await names(bob) == {"Greeting"}
    assert await names(admin) == {"Greeting", "Admin's own"}
    assert await names(admin, manageable="true") == {"Greeting", "Admin's own", "Billing reply"}
    # What one may not use is not found, for reading, changing and previewing alike.
    for macro in (mine, team_macro, admins_own):
        assert (await client.get(f"/api/v1/macros/{macro['id']}", headers=bob)).status_code == 404
    assert (await client.delete(f"/api/v1/macros/{mine['id']}", headers=bob)).status_code == 404
    assert (await client.get(f"/api/v1/macros/{everyone['id']}", headers=bob)).status_code == 200
    # Ann uses the team macro but may not change it.
    changed = await client.put(
        f"/api/v1/macros/{team_macro['id']}",
        json={"name": "Mine now", "body": "x", "visibility": "personal"},
        headers=ann,
    )
    assert changed.status_code == 403, changed.text
    renamed = await client.put(
        f"/api/v1/macros/{mine['id']}",
        json={"name": "Ann's renamed", "body": "Hello {{ contact.name }}"},
        headers=ann,
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["body"] == "Hello {{ contact.name }}"


async def test_applying_a_macro_sends_the_reply_through_the_worker_and_runs_its_actions(
    client: httpx.AsyncClient, callback_receiver: tuple[CallbackReceiver, str]
) -> None:
    receiver, url = callback_receiver
    receiver.secret = "macro test callback secret"
    headers = await admin_key(client)
    agent = await me(client, headers)
    inbox = await make_api_inbox(client, headers, callback_url=url, callback_secret=receiver.secret)
    message = (
        await inbound(client, headers, inbox["id"], "m-1", text="Is my router broken?")
    ).json()
    cid = int(message["conversation_id"])
    macro = (
        await create(
            client,
            headers,
            body="Thanks {{ contact.name }}, we are on it (#{{ conversation.ref }}).",
            actions=[
                {"type": "tag", "tags": ["router", "Hardware"]},
                {"type": "priority", "priority": "high"},
                {"type": "assign", "to_self": True},
                {"type": "status", "status": "pending"},
            ],
        )
    ).json()
    response = await client.post(
        f"/api/v1/conversations/{cid}/macros/{macro['id']}", headers=headers
    )
    assert response.status_code == 201, response.text
    applied = response.json()
    assert [a["ok"] for a in applied["actions"]] == [True, True, True, True]
    reply_id = applied["message"]["id"]

    async def sent() -> bool:
        return receiver.deliveries(reply_id) == 1

    await eventually(sent)  # dispatched by the app's worker to the integration
    ref = (await client.get(f"/api/v1/conversations/{cid}", headers=headers)).json()
    delivered = next(p for p in receiver.received if p["message"]["id"] == reply_id)
    assert delivered["message"]["text"] == f"Thanks Customer, we are on it (#{ref['ref']})."
    assert delivered["message"]["agent_name"] == agent["name"]
    assert sorted(ref["tags"]) == ["hardware", "router"]
    assert (ref["priority"], ref["assignee_id"], ref["status"]) == ("high", agent["id"], "pending")
    meta = await connection_pool().fetchval(
        "SELECT meta->'origin'->>'macro' FROM message WHERE id = $1", reply_id
    )
    assert meta == str(macro["id"])
    # Each action left its line in the timeline, by the agent who applied the macro.
    timeline = (await client.get(f"/api/v1/conversations/{cid}/messages", headers=headers)).json()[
        "items"
    ]
    lines = [m["text"] for m in timeline if m["kind"] == "event"]
    assert any("added tag hardware, router" in line for line in lines), lines
    assert any("set priority to high" in line for line in lines), lines


async def test_a_macro_without_an_agent_is_sent_by_the_hub(
    client: httpx.AsyncClient, callback_receiver: tuple[CallbackReceiver, str]
) -> None:
    """What automation calls: apply_macro with no agent (and an origin)."""
    from hub.macros import store

    receiver, url = callback_receiver
    receiver.secret = "macro test callback secret"
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers, callback_url=url, callback_secret=receiver.secret)
    message = (await inbound(client, headers, inbox["id"], "m-1")).json()
    cid = int(message["conversation_id"])
    macro = (
        await create(
            client,
            headers,
            body="Hello from {{ agent.name | default('the team', true) }}",
            actions=[{"type": "status", "status": "resolved"}],
        )
    ).json()
    async with connection_pool().acquire() as conn:
        result = await store.apply_macro(conn, macro["id"], cid, None, origin={"rule": 3})
    reply_id = result["message"]["id"]
    await eventually(lambda: _sent(receiver, reply_id))
    sent = next(p for p in receiver.received if p["message"]["id"] == reply_id)
    assert sent["message"]["text"] == "Hello from the team"
    row = await connection_pool().fetchrow(
        "SELECT author_type, author_id, meta->'origin' AS origin FROM message WHERE id = $1",
        reply_id,
    )
    assert (row["author_type"], row["author_id"]) == ("system", None)
    assert msgspec.json.decode(row["origin"]) == {"macro": macro["id"], "rule": 3}
    status = (await client.get(f"/api/v1/conversations/{cid}", headers=headers)).json()["status"]
    assert status == "resolved"


async def _sent(receiver: CallbackReceiver, message_id: int) -> bool:
    return receiver.deliveries(message_id) == 1
