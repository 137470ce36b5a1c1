"""The CRM customer card in Chromium: synced from the Splynx fake, beside the conversation,
and changed live by a Splynx hook that blocks the customer."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import ARTIFACTS, Desk, live, sign_in
from tests.conftest import eventually, serving
from tests.crm.conftest import API_KEY, API_SECRET, HOOK_SECRET, hook_event
from tests.fakes.splynx import FakeSplynx


@pytest.fixture
async def splynx() -> AsyncIterator[FakeSplynx]:
    fake = FakeSplynx(API_KEY, API_SECRET, clock=time.time)
    async with serving(fake.app()) as url:
        fake.base_url = url
        yield fake


def seed(fake: FakeSplynx) -> None:
    fake.add(
        "customer",
        id=5,
        login="mjensen",
        name="Maria Jensen",
        status="active",
        email="maria.jensen@example.net",
        phone="20 12 34 56",
        street_1="Nørrebrogade 1",
        zip_code="2200",
        city="København N",
        last_update=fake.stamp(1),
    )
    fake.add(
        "internet_service",
        id=51,
        customer_id=5,
        tariff_id=3,
        status="active",
        description="Fiber 500/500",
        quantity=1,
        unit_price="39.00",
        updated_at=fake.stamp(1),
    )
    for number, days in (("INV-2024-1187", 12), ("INV-2024-1230", -18)):
        fake.add(
            "invoice",
            customer_id=5,
            number=number,
            status="not_paid",
            total="39.00",
            due="39.00",
            date_till=fake.day(days),
            date_updated=fake.stamp(1),
            items=[],
        )
    fake.add(
        "ticket",
        id=77,
        customer_id=5,
        subject="ONT light is red",
        priority="high",
        closed=0,
        created_at=fake.stamp(1),
        updated_at=fake.stamp(1),
    )


async def connect(desk: Desk, fake: FakeSplynx) -> dict[str, Any]:
    response = await desk.client.post(
        "/api/v1/crm/sources",
        json={
            "name": "Splynx",
            "config": {
                "base_url": fake.base_url,
                "api_key": API_KEY,
                "api_secret": API_SECRET,
                "hook_secret": HOOK_SECRET,
            },
        },
        headers=desk.headers,
    )
    assert response.status_code == 201, response.text
    source = dict(response.json())
    run = await desk.client.post(
        "/api/v1/crm/sync", json={"source_id": source["id"], "full": True}, headers=desk.headers
    )
    run_id = run.json()["id"]

    async def done() -> bool:
        got = await desk.client.get(f"/api/v1/crm/sync-runs/{run_id}", headers=desk.headers)
        return bool(got.json()["status"] == "succeeded")

    await eventually(done, timeout=30)
    return source


async def test_the_customer_card_beside_the_conversation_changes_live(
    page: Page, desk: Desk, splynx: FakeSplynx
) -> None:
    seed(splynx)
    source = await connect(desk, splynx)
    message = await desk.customer_writes(
        "My internet is down again.", name="Maria Jensen", address="maria.jensen@example.net"
    )
    await sign_in(page)
    await page.goto(f"/inbox/conversations/{message['conversation_id']}")
    card = page.locator("#crm-card")
    await expect(card).to_contain_text("Maria Jensen")
    await expect(card).to_contain_text("mjensen")
    status = card.locator(".crm-name [data-crm-status]")
    await expect(status).to_have_attribute("data-crm-status", "active")
    await expect(card).to_contain_text("Fiber 500/500")
    overdue = card.locator("li.crm-overdue")
    await expect(overdue).to_have_count(1)
    await expect(overdue).to_contain_text("INV-2024-1187")
    await expect(card).to_contain_text("INV-2024-1230")
    await expect(card).to_contain_text("#77 ONT light is red")
    await expect(card).to_contain_text(re.compile(r"Refreshed \d+s ago"))
    link = card.get_by_role("link", name="Open in Splynx")
    await expect(link).to_have_attribute("href", f"{splynx.base_url}/admin/customers/view?id=5")
    # The status colour comes from the stylesheet (CSP: no inline styles).
    colour = await status.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(26, 127, 55)"
    await live(page)

    # Splynx blocks the customer and calls the hook: the open card follows without a reload.
    splynx.update("customer", 5, status="blocked")
    body = json.dumps(
        hook_event("customers\\Customer", "edit", {"id": "5", "status": "blocked"})
    ).encode()
    signature = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha1).hexdigest()
    response = await desk.client.post(
        f"/webhooks/splynx/{source['id']}",
        content=body,
        headers={"content-type": "application/json", "x-splynx-signature": signature},
    )
    assert response.status_code == 200, response.text
    await expect(status).to_have_attribute("data-crm-status", "blocked")
    colour = await card.locator(".crm-name [data-crm-status]").evaluate(
        "e => getComputedStyle(e).color"
    )
    assert colour == "rgb(180, 35, 24)"
    await page.screenshot(path=ARTIFACTS / "crm-card.png")


async def test_an_agent_chooses_between_two_matching_customers(
    page: Page, desk: Desk, splynx: FakeSplynx
) -> None:
    for customer_id, name in ((1, "Anna Berg"), (2, "Berg Consulting ApS")):
        splynx.add(
            "customer",
            id=customer_id,
            login=f"berg{customer_id}",
            name=name,
            status="active",
            email="anna@berg.example",
            phone="",
            last_update=splynx.stamp(1),
        )
    await connect(desk, splynx)
    message = await desk.customer_writes("Hello", name="Anna", address="anna@berg.example")
    await sign_in(page)
    await page.goto(f"/inbox/conversations/{message['conversation_id']}")
    card = page.locator("#crm-card")
    await expect(card).to_contain_text("More than one customer matches")
    await (
        card.locator("li", has_text="Berg Consulting ApS")
        .get_by_role("button", name="This one", exact=True)
        .click()
    )
    await expect(card.locator(".crm-name")).to_contain_text("Berg Consulting ApS")
