"""Demo CRM data: a Splynx source marked `demo` with customers that match the demo contacts, so
`hub serve --demo` shows the customer card without a Splynx to read from.

Written through the same upserts as a sync (hub.crm.store). The source is never synced (the
schedule skips demo sources) and the card says the data is demo data.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hub.crm import store
from hub.crm.contract import CrmCustomer, CrmInvoice, CrmService, CrmTicket
from hub.db.engine import connection_pool

_NAME = "Splynx (demo)"


def _customers(now: dt.datetime) -> list[CrmCustomer]:
    stamp = now.replace(tzinfo=None, microsecond=0)

    def customer(
        cid: int, login: str, name: str, status: str, email: str, phone: str, city: str
    ) -> CrmCustomer:
        return CrmCustomer(
            external_id=cid,
            login=login,
            name=name,
            status=status,
            category="person",
            email_raw=email,
            phone_raw=phone,
            emails=[e.strip().lower() for e in email.split(",") if e.strip()],
            phones_raw=[p.strip() for p in phone.split(",") if p.strip()],
            street=f"{cid} Fiber Street",
            zip_code="2200",
            city=city,
            mrr_total=Decimal("29.00"),
            changed_at=stamp - dt.timedelta(hours=cid),
            raw={"id": str(cid), "login": login, "demo": True},
        )

    return [
        customer(
            101,
            "mjensen",
            "Maria Jensen",
            "active",
            "maria.jensen@example.net",
            "+45 31 22 33 44",
            "København N",
        ),
        # Jonas writes from WhatsApp; Splynx has his number the German way.
        customer(
            102,
            "jweber",
            "Jonas Weber",
            "blocked",
            "jonas.weber@example.de",
            "+49 151 12345678",
            "Flensburg",
        ),
        customer(
            103,
            "phansen",
            "Peter Hansen",
            "active",
            "peter@hansen.example",
            "20 12 34 56",
            "Aarhus C",
        ),
        customer(104, "lnovak", "Lena Novak", "active", "lena.novak@example.org", "", "Odense"),
    ]


async def seed_demo_crm() -> bool:
    """Create the demo CRM source and its customers; False when they are there already."""
    pool = connection_pool()
    if await pool.fetchval("SELECT 1 FROM crm_source WHERE demo AND name = $1", _NAME):
        return False
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    services = [
        CrmService(
            external_id=1001,
            customer_external_id=101,
            status="active",
            description="Fiber 300/300",
            tariff_id=2,
            unit_price=Decimal("29.00"),
            quantity=Decimal(1),
            login="mjensen",
        ),
        CrmService(
            external_id=1002,
            customer_external_id=102,
            status="stopped",
            description="Fiber 100/100",
            tariff_id=1,
            unit_price=Decimal("19.00"),
            quantity=Decimal(1),
            login="jweber",
        ),
        CrmService(
            external_id=1003,
            customer_external_id=103,
            status="active",
            description="Fiber 1000/1000",
            tariff_id=4,
            unit_price=Decimal("49.00"),
            quantity=Decimal(1),
            login="phansen",
        ),
        CrmService(
            external_id=1004,
            customer_external_id=103,
            status="active",
            description="Static IP",
            tariff_id=9,
            unit_price=Decimal("5.00"),
            quantity=Decimal(1),
            login="phansen-ip",
        ),
        CrmService(
            external_id=1005,
            customer_external_id=104,
            status="active",
            description="Fiber 500/500",
            tariff_id=3,
            unit_price=Decimal("39.00"),
            quantity=Decimal(1),
            login="lnovak",
        ),
    ]

    def invoice(
        iid: int, cid: int, number: str, status: str, amount: str, due_in_days: int
    ) -> CrmInvoice:
        total = Decimal(amount)
        return CrmInvoice(
            external_id=iid,
            customer_external_id=cid,
            number=number,
            status=status,
            total=total,
            due=total if status == "not_paid" else Decimal(0),
            date_created=today - dt.timedelta(days=30 - due_in_days),
            date_till=today + dt.timedelta(days=due_in_days),
        )

    invoices = [
        invoice(2001, 101, "2024-1101", "paid", "29.00", -40),
        invoice(2002, 101, "2024-1152", "not_paid", "29.00", -6),
        invoice(2003, 102, "2024-1187", "not_paid", "19.00", -12),
        invoice(2004, 102, "2024-1188", "not_paid", "19.00", -12),
        invoice(2005, 103, "2024-1201", "not_paid", "54.00", 9),
        invoice(2006, 104, "2024-1190", "paid", "39.00", -3),
    ]
    tickets = [
        CrmTicket(
            external_id=301,
            customer_external_id=101,
            subject="Outage Nørrebro (OUT-2231)",
            priority="urgent",
        ),
        CrmTicket(
            external_id=302,
            customer_external_id=102,
            subject="Charged twice in November",
            priority="high",
        ),
    ]
    async with pool.acquire() as conn, conn.transaction():
        source_id = await conn.fetchval(
            "INSERT INTO crm_source (kind, name, demo, phone_region, last_synced_at)"
            " VALUES ('splynx', $1, true, 'DK', now()) RETURNING id",
            _NAME,
        )
        await store.upsert(conn, source_id, "customer", _customers(now), region="DK")
        await store.upsert(conn, source_id, "service", services, region="DK")
        await store.upsert(conn, source_id, "invoice", invoices, region="DK")
        await store.upsert(conn, source_id, "ticket", tickets, region="DK")
        for cid, balance in ((101, "-29.00"), (102, "-38.00"), (103, "0.00"), (104, "12.50")):
            await store.set_balance(conn, source_id, cid, Decimal(balance))
    return True
