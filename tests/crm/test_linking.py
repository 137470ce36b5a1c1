"""Linking CRM customers to contacts by every address they share, an agent's own decisions,
the customer card data in the API, search, and merging contacts across channels."""

from __future__ import annotations

from typing import Any

from hub.db.engine import connection_pool
from tests.conftest import inbound, make_api_inbox
from tests.crm.conftest import Crm


async def contact_of(
    crm: Crm, inbox: dict[str, Any], external_id: str, kind: str, address: str
) -> int:
    response = await inbound(
        crm.client, crm.headers, inbox["id"], external_id, sender=address, kind=kind
    )
    assert response.status_code == 201, response.text
    return int(response.json()["author"]["id"])


def customer_5(crm: Crm) -> None:
    # Several emails (one in odd case), a billing email, and phones typed the local way.
    crm.fake.add(
        "customer",
        id=5,
        login="jensen",
        name="Maria Jensen",
        status="active",
        email="Maria@Example.NET, m.jensen@work.example",
        billing_email="billing@jensen.example",
        phone="20 12 34 56, +45 3012 3456",
        category="person",
        last_update=crm.fake.stamp(1),
    )
    crm.fake.add(
        "internet_service",
        id=50,
        customer_id=5,
        tariff_id=2,
        status="active",
        description="Fiber 300/300",
        quantity=1,
        unit_price="29.00",
        login="jensen",
        updated_at=crm.fake.stamp(1),
    )
    crm.fake.add(
        "invoice",
        id=500,
        customer_id=5,
        number="INV-500",
        status="not_paid",
        total="29.00",
        due="29.00",
        date_created=crm.fake.day(40),
        date_till=crm.fake.day(10),
        date_updated=crm.fake.stamp(1),
        items=[],
    )
    crm.fake.add(
        "invoice",
        id=501,
        customer_id=5,
        number="INV-501",
        status="not_paid",
        total="29.00",
        due="29.00",
        date_created=crm.fake.day(5),
        date_till=crm.fake.day(-9),
        date_updated=crm.fake.stamp(1),
        items=[],
    )
    crm.fake.add(
        "ticket",
        id=9,
        customer_id=5,
        subject="Slow since Monday",
        priority="high",
        status_id=1,
        closed=0,
        created_at=crm.fake.stamp(2),
        updated_at=crm.fake.stamp(1),
    )


async def test_whatsapp_and_email_contacts_link_to_one_customer(crm: Crm) -> None:
    customer_5(crm)
    await crm.sync(full=True)
    inbox = await make_api_inbox(crm.client, crm.headers)
    # WhatsApp delivers E.164; Splynx has "20 12 34 56" (Denmark, the source's region).
    whatsapp = await contact_of(crm, inbox, "wa-1", "phone", "+4520123456")
    email = await contact_of(crm, inbox, "em-1", "email", "m.jensen@work.example")
    billing = await contact_of(crm, inbox, "em-2", "email", "BILLING@jensen.example")
    second_phone = await contact_of(crm, inbox, "wa-2", "phone", "whatsapp:+4530123456")
    stranger = await contact_of(crm, inbox, "em-3", "email", "someone@else.example")
    for contact in (whatsapp, email, billing, second_phone):
        card = await crm.card(contact)
        assert card["customer"]["external_id"] == 5, card
        assert card["customer"]["phones"] == ["+4520123456", "+4530123456"]
    assert (await crm.card(stranger))["customer"] is None

    card = await crm.card(whatsapp)
    assert card["customer"]["name"] == "Maria Jensen"
    assert card["customer"]["url"].endswith("/admin/customers/view?id=5")
    assert [s["description"] for s in card["services"]] == ["Fiber 300/300"]
    assert [(i["number"], i["overdue"]) for i in card["invoices"]] == [
        ("INV-500", True),
        ("INV-501", False),
    ]
    assert card["customer"]["overdue_amount"] == 29.0
    assert [t["subject"] for t in card["tickets"]] == ["Slow since Monday"]
    # One customer links four contacts: the hub suggests merging them.
    assert {m["contact_id"] for m in card["merge_suggestions"]} == {email, billing, second_phone}

    # What automation conditions read, in SQL.
    facts = await connection_pool().fetchrow(
        "SELECT customer_status, overdue_invoice_count, overdue_amount, service_statuses, ambiguous"
        " FROM crm_contact_facts WHERE contact = $1",
        whatsapp,
    )
    assert dict(facts) == {
        "customer_status": "active",
        "overdue_invoice_count": 1,
        "overdue_amount": 29,
        "service_statuses": ["active"],
        "ambiguous": False,
    }


async def test_a_shared_email_is_ambiguous_until_an_agent_chooses(crm: Crm) -> None:
    for customer_id, name in ((1, "Anna Berg"), (2, "Berg Consulting ApS")):
        crm.fake.add(
            "customer",
            id=customer_id,
            login=f"berg{customer_id}",
            name=name,
            status="active",
            email="anna@berg.example",
            phone="",
            last_update=crm.fake.stamp(1),
        )
    await crm.sync(full=True)
    inbox = await make_api_inbox(crm.client, crm.headers)
    contact = await contact_of(crm, inbox, "m-1", "email", "anna@berg.example")
    card = await crm.card(contact)
    assert card["ambiguous"] is True
    assert card["customer"] is None  # never silently picked
    assert [c["name"] for c in card["candidates"]] == ["Anna Berg", "Berg Consulting ApS"]

    chosen = card["candidates"][1]["id"]
    response = await crm.client.post(
        f"/api/v1/contacts/{contact}/crm-links", json={"customer_id": chosen}, headers=crm.headers
    )
    assert response.status_code == 204, response.text
    card = await crm.card(contact)
    assert card["customer"]["name"] == "Berg Consulting ApS"
    assert card["ambiguous"] is False

    # Unlinking blocks the match, even though the email is shared.
    other = (
        card["candidates"][0]["id"]
        if card["candidates"][0]["id"] != chosen
        else card["candidates"][1]["id"]
    )
    response = await crm.client.delete(
        f"/api/v1/contacts/{contact}/crm-links/{other}", headers=crm.headers
    )
    assert response.status_code == 204
    card = await crm.card(contact)
    assert [c["id"] for c in card["candidates"]] == [chosen]
    actions = [
        r["action"]
        for r in await connection_pool().fetch("SELECT action FROM audit_log ORDER BY id")
    ]
    assert "crm.linked" in actions and "crm.unlinked" in actions


async def test_search_by_name_login_email_and_phone(crm: Crm) -> None:
    customer_5(crm)
    crm.fake.seed(3)
    await crm.sync(full=True)

    async def found(q: str) -> list[int]:
        response = await crm.client.get(
            "/api/v1/crm/customers", params={"q": q}, headers=crm.headers
        )
        assert response.status_code == 200, response.text
        return [c["external_id"] for c in response.json()["items"]]

    assert await found("jensen") == [5]
    assert await found("MARIA@example.net") == [5]
    assert await found("+45 20 12 34 56") == [5]
    assert await found("20123456") == [5]
    assert await found("cust0002") == [2]
    assert await found("nobody at all") == []
    one = (
        await crm.client.get("/api/v1/crm/customers", params={"q": "jensen"}, headers=crm.headers)
    ).json()
    detail = await crm.client.get(
        f"/api/v1/crm/customers/{one['items'][0]['id']}", headers=crm.headers
    )
    assert detail.status_code == 200
    assert detail.json()["services"][0]["description"] == "Fiber 300/300"


async def test_merge_moves_identities_and_conversations_and_can_be_undone(crm: Crm) -> None:
    customer_5(crm)
    await crm.sync(full=True)
    inbox = await make_api_inbox(crm.client, crm.headers)
    whatsapp = await contact_of(crm, inbox, "wa-1", "phone", "+4520123456")
    email = await contact_of(crm, inbox, "em-1", "email", "maria@example.net")
    assert {m["contact_id"] for m in (await crm.card(whatsapp))["merge_suggestions"]} == {email}

    response = await crm.client.post(
        f"/api/v1/contacts/{whatsapp}/merge", json={"other_id": email}, headers=crm.headers
    )
    assert response.status_code == 200, response.text
    contact = (await crm.client.get(f"/api/v1/contacts/{whatsapp}", headers=crm.headers)).json()
    assert sorted(i["address"] for i in contact["identities"]) == [
        "+4520123456",
        "maria@example.net",
    ]
    assert len(contact["conversations"]) == 2
    assert contact["crm"]["merge_suggestions"] == []
    # A new email from that address now lands on the merged contact.
    again = await inbound(
        crm.client, crm.headers, inbox["id"], "em-2", sender="maria@example.net", kind="email"
    )
    assert again.json()["author"]["id"] == whatsapp

    response = await crm.client.post(
        f"/api/v1/contacts/{whatsapp}/unmerge", json={}, headers=crm.headers
    )
    assert response.status_code == 200, response.text
    contact = (await crm.client.get(f"/api/v1/contacts/{whatsapp}", headers=crm.headers)).json()
    assert [i["address"] for i in contact["identities"]] == ["+4520123456"]
    assert len(contact["conversations"]) == 1
    other = (await crm.client.get(f"/api/v1/contacts/{email}", headers=crm.headers)).json()
    assert [i["address"] for i in other["identities"]] == ["maria@example.net"]
    actions = [
        r["action"]
        for r in await connection_pool().fetch("SELECT action FROM audit_log ORDER BY id")
    ]
    assert "contact.merged" in actions and "contact.unmerged" in actions
    # Nothing left to undo.
    response = await crm.client.post(
        f"/api/v1/contacts/{whatsapp}/unmerge", json={}, headers=crm.headers
    )
    assert response.status_code == 404
    response = await crm.client.post(
        f"/api/v1/contacts/{whatsapp}/merge", json={"other_id": whatsapp}, headers=crm.headers
    )
    assert response.status_code == 422
