"""Typed Splynx records, converted from the API's string-valued JSON.

Splynx sends nearly every value as a string ("id": "1", "total": "12.50"), uses "" and
"0000-00-00" for "no value", and 0 for "no reference" in foreign keys. Conversion is strict: a
value that cannot be read raises `SplynxDataError` naming the record, so the sync layer can park
the raw record instead of storing a wrong one. Every struct keeps the record it came from in `raw`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from adapters.splynx.convert import Reader


class Customer(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    login: str
    status: str
    name: str
    email: list[str]
    phones: list[str]
    category: str
    partner_id: int | None
    location_id: int | None
    street_1: str
    zip_code: str
    city: str
    date_add: date | None
    mrr_total: Decimal
    last_online: datetime | None
    last_update: datetime | None
    billing_email: list[str]
    labels: list[str]
    raw: dict[str, Any]

    @classmethod
    def from_raw(cls, raw: Any) -> Customer:
        r = Reader("customer", raw)
        return cls(
            id=r.integer("id"),
            login=r.text("login"),
            status=r.text("status"),
            name=r.text("name"),
            email=r.emails("email"),
            phones=r.phones("phone"),
            category=r.text("category"),
            partner_id=r.reference("partner_id"),
            location_id=r.reference("location_id"),
            street_1=r.text("street_1"),
            zip_code=r.text("zip_code"),
            city=r.text("city"),
            date_add=r.optional_date("date_add"),
            mrr_total=r.decimal("mrr_total"),
            last_online=r.optional_datetime("last_online"),
            last_update=r.optional_datetime("last_update"),
            billing_email=r.emails("billing_email"),
            labels=r.labels("customer_labels"),
            raw=r.raw,
        )


class InternetService(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    customer_id: int
    tariff_id: int | None
    status: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    start_date: date | None
    end_date: date | None
    login: str
    router_id: int | None
    ipv4: str | None
    ipv6: str | None
    mac: str | None
    type: str
    raw: dict[str, Any]

    @classmethod
    def from_raw(cls, raw: Any) -> InternetService:
        r = Reader("internet_service", raw)
        return cls(
            id=r.integer("id"),
            customer_id=r.integer("customer_id"),
            tariff_id=r.reference("tariff_id"),
            status=r.text("status"),
            description=r.text("description"),
            quantity=r.decimal("quantity"),
            unit_price=r.decimal("unit_price"),
            start_date=r.optional_date("start_date"),
            end_date=r.optional_date("end_date"),
            login=r.text("login"),
            router_id=r.reference("router_id"),
            ipv4=r.optional_text("ipv4"),
            ipv6=r.optional_text("ipv6"),
            mac=r.optional_text("mac"),
            type=r.text("type") or "internet",
            raw=r.raw,
        )


class InvoiceItem(msgspec.Struct, frozen=True, kw_only=True):
    description: str
    quantity: Decimal
    unit: str
    price: Decimal
    tax: Decimal
    period_from: date | None
    period_to: date | None


class Invoice(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    customer_id: int
    number: str
    date_created: date | None
    date_updated: datetime | None
    date_till: date | None
    date_payment: date | None
    status: str
    type: str
    total: Decimal
    due: Decimal
    is_sent: bool
    note: str
    memo: str
    items: list[InvoiceItem]
    raw: dict[str, Any]

    def overdue(self, today: date) -> bool:
        return self.status == "not_paid" and self.date_till is not None and self.date_till < today

    @classmethod
    def from_raw(cls, raw: Any) -> Invoice:
        r = Reader("invoice", raw)
        items: list[InvoiceItem] = []
        for index, item in enumerate(r.objects("items")):
            # Item errors are reported against the invoice: items have no endpoint of their own.
            ir = Reader(
                "invoice", item, record_id=r.record_id, prefix=f"items[{index}].", record=r.raw
            )
            items.append(
                InvoiceItem(
                    description=ir.text("description"),
                    quantity=ir.decimal("quantity"),
                    unit=ir.text("unit"),
                    price=ir.decimal("price"),
                    tax=ir.decimal("tax"),
                    period_from=ir.optional_date("period_from"),
                    period_to=ir.optional_date("period_to"),
                )
            )
        return cls(
            id=r.integer("id"),
            customer_id=r.integer("customer_id"),
            number=r.text("number"),
            date_created=r.optional_date("date_created"),
            date_updated=r.optional_datetime("date_updated"),
            date_till=r.optional_date("date_till"),
            date_payment=r.optional_date("date_payment"),
            status=r.text("status"),
            type=r.text("type"),
            total=r.decimal("total"),
            due=r.decimal("due"),
            is_sent=r.flag("is_sent"),
            note=r.text("note"),
            memo=r.text("memo"),
            items=items,
            raw=r.raw,
        )


class Ticket(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    customer_id: int | None
    reporter_id: int | None
    reporter_type: str
    assign_to: int | None
    status_id: int | None
    group_id: int | None
    type_id: int | None
    subject: str
    priority: str
    closed: bool
    created_at: datetime | None
    updated_at: datetime | None
    source: str
    note: str
    raw: dict[str, Any]

    @classmethod
    def from_raw(cls, raw: Any) -> Ticket:
        r = Reader("ticket", raw)
        return cls(
            id=r.integer("id"),
            customer_id=r.reference("customer_id"),
            reporter_id=r.reference("reporter_id"),
            reporter_type=r.text("reporter_type"),
            assign_to=r.reference("assign_to"),
            status_id=r.reference("status_id"),
            group_id=r.reference("group_id"),
            type_id=r.reference("type_id"),
            subject=r.text("subject"),
            priority=r.text("priority"),
            closed=r.flag("closed"),
            created_at=r.optional_datetime("created_at"),
            updated_at=r.optional_datetime("updated_at"),
            source=r.text("source"),
            note=r.text("note"),
            raw=r.raw,
        )


class TicketMessage(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    ticket_id: int
    customer_id: int | None
    admin_id: int | None
    sent_at: datetime | None  # Splynx's separate `date` and `time` fields, joined
    message: str
    hide_for_customer: bool
    author_type: str
    message_type: str
    files: list[dict[str, Any]]
    raw: dict[str, Any]

    @classmethod
    def from_raw(cls, raw: Any) -> TicketMessage:
        r = Reader("ticket_message", raw)
        day = r.optional_date("date")
        sent_at: datetime | None = None
        if day is not None:
            clock = r.text("time").strip() or "00:00:00"
            try:
                sent_at = datetime.fromisoformat(f"{day.isoformat()} {clock}")
            except ValueError as exc:
                raise r.fail("time", clock, str(exc)) from None
        return cls(
            id=r.integer("id"),
            ticket_id=r.integer("ticket_id"),
            customer_id=r.reference("customer_id"),
            admin_id=r.reference("admin_id"),
            sent_at=sent_at,
            message=r.text("message"),
            hide_for_customer=r.flag("hide_for_customer"),
            author_type=r.text("author_type"),
            message_type=r.text("message_type"),
            files=r.objects("files"),
            raw=r.raw,
        )


class Billing(msgspec.Struct, frozen=True, kw_only=True):
    """`billing-info/{id}?format_values=true`: the customer's balance and blocking outlook."""

    customer_id: int
    deposit: Decimal
    blocking_date: date | None
    days_left: int | None
    payment_per_month: Decimal | None
    raw: dict[str, Any]

    @classmethod
    def from_raw(cls, customer_id: int, raw: Any) -> Billing:
        # The billing-info answer does not repeat the customer id: the caller supplies it.
        r = Reader("billing", raw, record_id=customer_id)
        return cls(
            customer_id=customer_id,
            deposit=r.decimal("deposit"),
            blocking_date=r.optional_date("blocking_date"),
            days_left=r.optional_int("howManyDaysLeft"),
            payment_per_month=r.optional_decimal("paymentPerMonth"),
            raw=r.raw,
        )
