"""Splynx hooks into the hub: ping, signature, records updated at once, redelivery, unknown
customers, deletions, and the live event an open card listens to."""

from __future__ import annotations

import json

from hub.db.engine import connection_pool
from tests.conftest import inbound, make_api_inbox
from tests.crm.conftest import Crm, hook_event


async def stored() -> dict[str, int]:
    pool = connection_pool()
    return {
        table: int(await pool.fetchval(f"SELECT count(*) FROM {table}"))
        for table in ("crm_customer", "crm_service", "crm_invoice", "crm_bad_record", "event")
    }


async def test_ping_is_answered_ok(crm: Crm) -> None:
    for url in (f"/webhooks/splynx/{crm.source['id']}", "/webhooks/splynx"):
        response = await crm.client.post(
            url, content=b'{"type":"ping"}', headers={"content-type": "application/json"}
        )
        assert response.status_code == 200
        assert response.text == "ok"


async def test_a_bad_signature_is_refused_and_nothing_stored(crm: Crm) -> None:
    crm.fake.seed(3)
    before, served = await stored(), sum(crm.fake.served.values())
    event = hook_event("customers\\Customer", "edit", {"id": "2", "status": "blocked"})
    response = await crm.hook(event, secret="not the hook secret")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "bad_signature"
    unsigned = await crm.client.post(
        "/webhooks/splynx",
        content=json.dumps(event).encode(),
        headers={"content-type": "application/json"},
    )
    assert unsigned.status_code == 403
    assert await stored() == before
    assert sum(crm.fake.served.values()) == served  # not even a fetch


async def test_a_customer_hook_updates_the_record_and_tells_the_open_card(crm: Crm) -> None:
    crm.fake.add(
        "customer",
        id=2,
        login="ola",
        name="Ola Nordmann",
        status="active",
        email="ola@example.no",
        phone="",
    )
    await crm.sync(full=True)
    inbox = await make_api_inbox(crm.client, crm.headers)
    message = (
        await inbound(
            crm.client, crm.headers, inbox["id"], "m1", sender="ola@example.no", kind="email"
        )
    ).json()
    pool = connection_pool()
    last_event = await pool.fetchval("SELECT max(id) FROM event")

    crm.fake.update("customer", 2, status="blocked")
    # The hook carries only the id and what changed: the hub reads the record itself.
    event = hook_event("customers\\Customer", "edit", {"id": "2", "status": "blocked"})
    response = await crm.hook(event)
    assert response.status_code == 200, response.text
    assert response.json()["changed"] is True
    assert await pool.fetchval("SELECT status FROM crm_customer WHERE external_id = 2") == "blocked"
    assert (await crm.card(message["author"]["id"]))["customer"]["status"] == "blocked"
    assert (await crm.card(message["author"]["id"]))["customer"]["balance"] == 0
    live = await pool.fetch("SELECT type, conversation, data FROM event WHERE id > $1", last_event)
    assert [(e["type"], e["conversation"]) for e in live] == [
        ("crm.updated", message["conversation_id"])
    ]

    # Redelivery: nothing changes, nothing is announced.
    last_event = await pool.fetchval("SELECT max(id) FROM event")
    again = await crm.hook(event)
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert await pool.fetchval("SELECT count(*) FROM event WHERE id > $1", last_event) == 0


async def test_a_hook_for_an_unknown_customer_fetches_it(crm: Crm) -> None:
    crm.fake.add(
        "customer",
        id=8,
        login="new",
        name="New Customer",
        status="new",
        email="new@example.com",
        phone="",
    )
    crm.fake.add(
        "invoice",
        id=80,
        customer_id=8,
        number="INV-80",
        status="not_paid",
        total="10.00",
        due="10.00",
        date_till=crm.fake.day(3),
        date_updated=crm.fake.stamp(),
        items=[],
    )
    response = await crm.hook(
        hook_event("finance\\Invoice", "create", {"id": "80", "customer_id": "8"})
    )
    assert response.status_code == 200, response.text
    pool = connection_pool()
    assert (
        await pool.fetchval("SELECT name FROM crm_customer WHERE external_id = 8") == "New Customer"
    )
    assert await pool.fetchval("SELECT due FROM crm_invoice WHERE external_id = 80") == 10


async def test_service_and_delete_hooks(crm: Crm) -> None:
    crm.fake.seed(2)
    await crm.sync(full=True)
    crm.fake.update("internet_service", 1, status="stopped")
    response = await crm.hook(
        hook_event("customers\\CustomerInternetService", "edit", {"id": "1", "customer_id": "1"})
    )
    assert response.status_code == 200, response.text
    pool = connection_pool()
    assert await pool.fetchval("SELECT status FROM crm_service WHERE external_id = 1") == "stopped"

    crm.fake.remove("invoice", 1)
    response = await crm.hook(
        hook_event("finance\\Invoice", "delete", {"id": "1", "customer_id": "1"})
    )
    assert response.status_code == 200
    assert await pool.fetchval(
        "SELECT deleted_at IS NOT NULL FROM crm_invoice WHERE external_id = 1"
    )
    # A model the hub does not keep is acknowledged and ignored.
    response = await crm.hook(hook_event("tariffs\\Internet", "edit", {"id": "3"}))
    assert response.status_code == 200
    assert response.json() == {"ignored": "internet"}


async def test_splynx_down_answers_503_and_the_inbox_still_works(crm: Crm) -> None:
    crm.fake.seed(1)
    await crm.sync(full=True)
    inbox = await make_api_inbox(crm.client, crm.headers)
    message = (
        await inbound(
            crm.client, crm.headers, inbox["id"], "m1", sender="cust1@example.com", kind="email"
        )
    ).json()
    crm.fake.fail_next(50, 503)
    response = await crm.hook(hook_event("customers\\Customer", "edit", {"id": "1"}))
    assert response.status_code == 503
    # The card is still served from the hub's tables, saying when they were last refreshed.
    card = await crm.card(message["author"]["id"])
    assert card["customer"]["source"]["last_synced_at"] is not None
    page = await crm.client.get(
        f"/api/v1/conversations/{message['conversation_id']}", headers=crm.headers
    )
    assert page.status_code == 200
