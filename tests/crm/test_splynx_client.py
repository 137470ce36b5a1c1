"""The Splynx client against its contract fake: auth, tokens, backoff, paging, data, hooks."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.splynx import (
    Customer,
    HookEvent,
    Invoice,
    Ping,
    SplynxClient,
    SplynxDataError,
    SplynxError,
    SplynxNotFound,
    Tokens,
    filters,
    parse_hook,
    signature,
    verify_hook,
)
from adapters.splynx.auth import NonceSource
from adapters.splynx.errors import retry_after
from tests.conftest import free_port
from tests.crm.conftest import API_KEY, API_SECRET, Sleeps
from tests.fakes.splynx import FakeClock, FakeSplynx

CUSTOMERS = "admin/customers/customer"


async def collect(batches: Any) -> list[Any]:
    return [record async for batch in batches for record in batch]


def client_for(fake: FakeSplynx, clock: FakeClock, sleeps: Sleeps, **options: Any) -> SplynxClient:
    return SplynxClient(
        fake.base_url + "/api/2.0/", API_KEY, API_SECRET, clock=clock, sleep=sleeps, **options
    )


# Contract test vectors ----------------------------------------------------------------------


def test_auth_signature_vector() -> None:
    assert (
        signature("apikey", "apisecret", 1700000000)
        == "2D3E9A7BE812F2228376C5808D5D621B492497502BB2B19A92B6C6DF55BDD132"
    )


def test_hook_signature_vector() -> None:
    body = b'{"type":"event"}'
    assert verify_hook("whsecret", body, "639bd8bf459f9b6f6467ab81f88134df46ebf3da")
    assert verify_hook("whsecret", body, " 639BD8BF459F9B6F6467AB81F88134DF46EBF3DA ")


def test_bad_hook_signature_rejected() -> None:
    good = "639bd8bf459f9b6f6467ab81f88134df46ebf3da"
    assert not verify_hook("whsecret", b'{"type":"event" }', good)
    assert not verify_hook("other", b'{"type":"event"}', good)
    assert not verify_hook("whsecret", b'{"type":"event"}', None)
    assert not verify_hook("whsecret", b'{"type":"event"}', "")
    assert not verify_hook("whsecret", b'{"type":"event"}', "zz\u00e9")


def test_tokens_stay_out_of_repr() -> None:
    tokens = Tokens.from_response(
        {
            "access_token": "A" * 32,
            "access_token_expiration": 10,
            "refresh_token": "R" * 32,
            "refresh_token_expiration": 20,
        }
    )
    assert "A" * 32 not in repr(tokens) and "R" * 32 not in repr(tokens)


def test_nonce_increases_even_when_the_clock_stands_still() -> None:
    clock = FakeClock(1700000000.0)
    nonces = NonceSource(clock)
    first, second = nonces.next(), nonces.next()
    assert first == 170000000000
    assert second == first + 1
    clock.advance(-10)
    assert nonces.next() == first + 2


# Tokens -------------------------------------------------------------------------------------


async def test_logs_in_once_then_reuses_the_token(
    fake_splynx: FakeSplynx, splynx: SplynxClient
) -> None:
    fake_splynx.seed(3)
    assert (await splynx.customer(1)).login == "cust0001"
    assert (await splynx.customer(2)).login == "cust0002"
    assert fake_splynx.logins == 1
    assert fake_splynx.renewals == 0


async def test_concurrent_first_calls_log_in_once(
    fake_splynx: FakeSplynx, splynx: SplynxClient
) -> None:
    fake_splynx.seed(5)
    found = await asyncio.gather(*(splynx.customer(i) for i in range(1, 6)))
    assert [c.id for c in found] == [1, 2, 3, 4, 5]
    assert fake_splynx.logins == 1


async def test_renews_when_the_access_token_nears_expiry(
    fake_splynx: FakeSplynx, splynx: SplynxClient, clock: FakeClock
) -> None:
    fake_splynx.seed(1)
    await splynx.customer(1)
    clock.advance(fake_splynx.access_ttl - 3)  # inside the 5 s margin
    await splynx.customer(1)
    assert (fake_splynx.logins, fake_splynx.renewals) == (1, 1)
    clock.advance(60)
    await splynx.customer(1)
    assert (fake_splynx.logins, fake_splynx.renewals) == (1, 1)


async def test_logs_in_again_once_the_refresh_token_expired(
    fake_splynx: FakeSplynx, splynx: SplynxClient, clock: FakeClock
) -> None:
    fake_splynx.seed(1)
    await splynx.customer(1)
    clock.advance(fake_splynx.refresh_ttl + 1)
    await splynx.customer(1)
    assert (fake_splynx.logins, fake_splynx.renewals) == (2, 0)


async def test_logs_in_again_when_renewal_answers_expired_refresh_token(
    fake_splynx: FakeSplynx, splynx: SplynxClient, clock: FakeClock
) -> None:
    fake_splynx.seed(1)
    await splynx.customer(1)
    fake_splynx.expire_refresh_tokens()
    clock.advance(fake_splynx.access_ttl)
    await splynx.customer(1)
    assert (fake_splynx.logins, fake_splynx.renewals) == (2, 1)


async def test_expired_access_token_mid_session_is_renewed_and_retried_once(
    fake_splynx: FakeSplynx, splynx: SplynxClient
) -> None:
    fake_splynx.seed(2)
    await splynx.customer(1)
    fake_splynx.expire_access_tokens()
    assert (await splynx.customer(2)).id == 2
    assert len(fake_splynx.calls(f"{CUSTOMERS}/2")) == 2
    assert (fake_splynx.logins, fake_splynx.renewals) == (1, 1)


async def test_wrong_secret_is_refused_without_retrying(
    fake_splynx: FakeSplynx, clock: FakeClock, sleeps: Sleeps
) -> None:
    async with SplynxClient(
        fake_splynx.base_url + "/api/2.0", API_KEY, "wrong", clock=clock, sleep=sleeps
    ) as client:
        with pytest.raises(SplynxError) as caught:
            await client.customer(1)
    assert caught.value.status == 401
    assert caught.value.internal_code == "UNAUTHORIZED"
    assert "wrong" not in str(caught.value)
    assert sleeps.calls == []


async def test_close_logs_out(fake_splynx: FakeSplynx, clock: FakeClock, sleeps: Sleeps) -> None:
    fake_splynx.seed(1)
    async with client_for(fake_splynx, clock, sleeps) as client:
        await client.customer(1)
    assert fake_splynx.logouts == 1
    assert fake_splynx.sessions == 0


async def test_no_secret_or_token_in_logs(
    fake_splynx: FakeSplynx, clock: FakeClock, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    fake_splynx.seed(1)
    caplog.set_level(logging.DEBUG, logger="adapters.splynx")
    async with client_for(fake_splynx, clock, sleeps) as client:
        await client.customer(1)
        tokens = fake_splynx.issued_tokens()
        clock.advance(fake_splynx.access_ttl)
        fake_splynx.fail_next(1, 500, path="admin/auth/tokens/")
        await client.customer(1)
        tokens += fake_splynx.issued_tokens()
    logged = caplog.text
    assert "retry" in logged
    for secret in [API_SECRET, *tokens]:
        assert secret not in logged


# Backoff ------------------------------------------------------------------------------------


async def test_backs_off_on_429_honouring_retry_after(
    fake_splynx: FakeSplynx, splynx: SplynxClient, sleeps: Sleeps
) -> None:
    fake_splynx.seed(1)
    fake_splynx.fail_next(2, 429, retry_after=3, path=CUSTOMERS)
    assert (await splynx.customer(1)).id == 1
    assert sleeps.calls == [3.0, 3.0]
    assert len(fake_splynx.calls(f"{CUSTOMERS}/1")) == 3


async def test_backs_off_exponentially_on_500_then_succeeds(
    fake_splynx: FakeSplynx, splynx: SplynxClient, sleeps: Sleeps
) -> None:
    fake_splynx.seed(1)
    fake_splynx.fail_next(3, 500, path=CUSTOMERS)
    assert (await splynx.customer(1)).id == 1
    assert len(sleeps.calls) == 3
    for attempt, delay in enumerate(sleeps.calls):
        ceiling = 0.5 * 2**attempt
        assert ceiling / 2 <= delay <= ceiling


async def test_login_is_retried_on_5xx(
    fake_splynx: FakeSplynx, splynx: SplynxClient, sleeps: Sleeps
) -> None:
    fake_splynx.seed(1)
    fake_splynx.fail_next(1, 502, path="admin/auth/tokens")
    assert (await splynx.customer(1)).id == 1
    assert fake_splynx.logins == 2
    assert len(sleeps.calls) == 1


async def test_gives_up_after_max_retries(
    fake_splynx: FakeSplynx, clock: FakeClock, sleeps: Sleeps
) -> None:
    fake_splynx.seed(1)
    fake_splynx.fail_next(10, 503, path=CUSTOMERS)
    async with client_for(fake_splynx, clock, sleeps, max_retries=2) as client:
        with pytest.raises(SplynxError) as caught:
            await client.customer(1)
    assert caught.value.status == 503
    assert caught.value.internal_code == "SERVER_ERROR"
    assert "Induced failure" in caught.value.message
    assert len(sleeps.calls) == 2
    assert len(fake_splynx.calls(f"{CUSTOMERS}/1")) == 3


async def test_transport_errors_are_retried_then_raised(clock: FakeClock, sleeps: Sleeps) -> None:
    client = SplynxClient(
        f"http://127.0.0.1:{free_port()}/api/2.0/",
        API_KEY,
        API_SECRET,
        clock=clock,
        sleep=sleeps,
        max_retries=2,
    )
    async with client:
        with pytest.raises(SplynxError) as caught:
            await client.customer(1)
    assert caught.value.status is None
    assert "ConnectError" in str(caught.value)
    assert len(sleeps.calls) == 2


async def test_forbidden_raises_immediately(
    fake_splynx: FakeSplynx, splynx: SplynxClient, sleeps: Sleeps
) -> None:
    fake_splynx.seed(2)
    fake_splynx.forbidden.add("admin/finance")
    with pytest.raises(SplynxError) as caught:
        await collect(splynx.invoices())
    assert (caught.value.status, caught.value.internal_code) == (403, "FORBIDDEN")
    assert caught.value.message == "Permission denied"
    assert sleeps.calls == []
    assert len(fake_splynx.calls("admin/finance/invoices")) == 1


async def test_not_found_raises_immediately(
    fake_splynx: FakeSplynx, splynx: SplynxClient, sleeps: Sleeps
) -> None:
    fake_splynx.seed(1)
    with pytest.raises(SplynxNotFound) as caught:
        await splynx.customer(999)
    assert (caught.value.status, caught.value.internal_code) == (404, "NOT_FOUND")
    assert sleeps.calls == []


# Paging and filters -------------------------------------------------------------------------


async def test_pages_until_a_short_page(fake_splynx: FakeSplynx, splynx: SplynxClient) -> None:
    fake_splynx.seed(25)
    batches = [batch async for batch in splynx.customers()]
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [c.id for batch in batches for c in batch] == list(range(1, 26))
    seen = fake_splynx.calls(CUSTOMERS)
    assert [s.params["offset"] for s in seen] == ["0", "10", "20"]
    assert all(s.params["limit"] == "10" and s.params["order[id]"] == "ASC" for s in seen)


async def test_a_full_last_page_costs_one_empty_request(
    fake_splynx: FakeSplynx, splynx: SplynxClient
) -> None:
    fake_splynx.seed(20)
    batches = [batch async for batch in splynx.customers()]
    assert [len(b) for b in batches] == [10, 10]
    assert len(fake_splynx.calls(CUSTOMERS)) == 3


async def test_services_are_read_across_customers(
    fake_splynx: FakeSplynx, splynx: SplynxClient
) -> None:
    fake_splynx.seed(8)
    services = await collect(splynx.internet_services())
    assert len(services) == 10  # customers 4 and 8 have two
    assert {s.customer_id for s in services} == set(range(1, 9))
    assert fake_splynx.calls("admin/customers/customer/0/internet-services")


async def test_incremental_reads_return_only_updated_records(
    fake_splynx: FakeSplynx, splynx: SplynxClient, clock: FakeClock
) -> None:
    fake_splynx.seed(30)
    mark = datetime.fromisoformat(fake_splynx.stamp())
    clock.advance(120)
    fake_splynx.update("customer", 7, name="Renamed")
    fake_splynx.update("customer", 21, status="blocked")
    fake_splynx.update("invoice", 5, status="paid", due="0.00")
    fake_splynx.update("ticket", 1, closed=1)
    fake_splynx.update("internet_service", 2, status="stopped")

    changed = await collect(splynx.customers(updated_since=mark))
    assert [(c.id, c.name, c.status) for c in changed] == [
        (7, "Renamed", "active"),
        (21, "Customer 21", "blocked"),
    ]
    params = fake_splynx.calls(CUSTOMERS)[-1].params
    assert params["main_attributes[last_update][0]"] == ">="
    assert params["main_attributes[last_update][1]"] == mark.strftime("%Y-%m-%d %H:%M:%S")
    assert [i.id for i in await collect(splynx.invoices(updated_since=mark))] == [5]
    assert [t.closed for t in await collect(splynx.tickets(updated_since=mark))] == [True]
    assert [s.id for s in await collect(splynx.internet_services(updated_since=mark))] == [2]
    assert len(await collect(splynx.customers())) == 30


def test_filters_build_php_query_pairs() -> None:
    assert filters(
        {
            "last_update": (">=", datetime(2025, 1, 1)),
            "status": "active",
            "id": ("IN", [3, 5]),
            "is_sent": True,
        }
    ) == [
        ("main_attributes[last_update][0]", ">="),
        ("main_attributes[last_update][1]", "2025-01-01 00:00:00"),
        ("main_attributes[status]", "active"),
        ("main_attributes[id][0]", "IN"),
        ("main_attributes[id][1][0]", "3"),
        ("main_attributes[id][1][1]", "5"),
        ("main_attributes[is_sent]", "1"),
    ]


async def test_fake_honours_like_in_and_head_count(
    fake_splynx: FakeSplynx, splynx: SplynxClient
) -> None:
    fake_splynx.seed(30)
    like = await collect(splynx.pages(CUSTOMERS, filters({"login": ("LIKE", "cust001")})))
    assert [r["id"] for r in like] == [str(i) for i in range(10, 20)]
    chosen = await collect(splynx.pages(CUSTOMERS, filters({"id": ("IN", [3, 12, 29])})))
    assert [r["id"] for r in chosen] == ["3", "12", "29"]
    assert await splynx.count(CUSTOMERS, filters({"status": "blocked"})) == 5
    assert await splynx.count(CUSTOMERS, filters({"id": ("<", 4)})) == 3


async def test_ticket_messages_are_filtered_by_ticket(
    fake_splynx: FakeSplynx, splynx: SplynxClient
) -> None:
    fake_splynx.seed(9)
    messages = await collect(splynx.ticket_messages(2))
    assert [(m.ticket_id, m.author_type) for m in messages] == [(2, "customer"), (2, "admin")]
    assert messages[0].customer_id == 6 and messages[0].admin_id is None
    assert messages[1].admin_id == 1
    assert isinstance(messages[0].sent_at, datetime)
    assert messages[0].sent_at.time().isoformat() == "09:30:00"


# Data conversion ----------------------------------------------------------------------------


async def test_customer_values_are_converted(fake_splynx: FakeSplynx, splynx: SplynxClient) -> None:
    fake_splynx.seed(10)
    customers = {c.id: c for c in await collect(splynx.customers())}
    five, six, eight, ten = customers[5], customers[6], customers[8], customers[10]
    assert five.email == ["cust5@example.com", "alt5@example.net"]
    assert five.raw["email"] == "Cust5@Example.COM, alt5@example.net,"
    assert five.mrr_total == Decimal("62.50")
    assert isinstance(five.date_add, date) and isinstance(five.last_update, datetime)
    assert ten.date_add is None
    assert eight.last_online is None
    assert eight.billing_email == ["billing8@example.com"]
    assert five.billing_email == []
    assert customers[3].phones == ["+4520000003", "+4530000003"]
    assert six.labels == ["VIP"] and five.labels == []
    assert (five.partner_id, five.location_id) == (1, 2)
    assert customers[7].category == "company"


async def test_invoice_ticket_service_and_billing_values(
    fake_splynx: FakeSplynx, splynx: SplynxClient, clock: FakeClock
) -> None:
    fake_splynx.seed(6)
    today = date.fromisoformat(fake_splynx.day())
    invoices = await collect(splynx.invoices())
    overdue = sorted(i.customer_id for i in invoices if i.overdue(today))
    assert overdue == [3, 6]
    unpaid = next(i for i in invoices if i.customer_id == 3 and i.status == "not_paid")
    assert unpaid.total == unpaid.due == Decimal("29.00")
    assert unpaid.date_payment is None and unpaid.is_sent is True
    assert unpaid.items[0].price == Decimal("29.00") and unpaid.items[0].tax == Decimal("0")
    ticket = (await collect(splynx.tickets()))[0]
    assert (ticket.customer_id, ticket.assign_to, ticket.closed) == (3, None, False)
    service = (await collect(splynx.internet_services()))[0]
    assert service.end_date is None and service.ipv6 is None
    assert service.unit_price == Decimal("29.00") and service.quantity == Decimal("1")
    billing = await splynx.customer_billing(3)
    assert billing.customer_id == 3
    assert billing.deposit == Decimal("-29.00")
    assert billing.blocking_date is not None and billing.blocking_date < today
    assert billing.days_left is not None and billing.days_left < 0
    assert billing.payment_per_month == Decimal("29.00")
    assert fake_splynx.calls("admin/customers/billing-info/3")[0].params == {
        "format_values": "true"
    }
    clean = await splynx.customer_billing(2)
    assert clean.blocking_date is None and clean.deposit == Decimal("0")


async def test_unreadable_field_raises_naming_the_record(
    fake_splynx: FakeSplynx, splynx: SplynxClient
) -> None:
    fake_splynx.seed(5)
    fake_splynx.update("customer", 4, date_add="2024-13-40")
    with pytest.raises(SplynxDataError) as caught:
        await collect(splynx.customers())
    error = caught.value
    assert (error.kind, error.record_id, error.field) == ("customer", 4, "date_add")
    assert "customer 4" in str(error) and "date_add" in str(error)
    assert isinstance(error.raw, dict) and error.raw["login"] == "cust0004"


@pytest.mark.parametrize(
    ("field", "value"),
    [("mrr_total", "12,50"), ("partner_id", "one"), ("last_update", "yesterday")],
)
def test_unreadable_customer_fields(field: str, value: str) -> None:
    with pytest.raises(SplynxDataError) as caught:
        Customer.from_raw({"id": "9", "login": "x", field: value})
    assert (caught.value.record_id, caught.value.field) == (9, field)


def test_unreadable_invoice_item_names_the_item() -> None:
    raw = {"id": "3", "customer_id": "1", "items": [{"price": "1.00"}, {"price": "abc"}]}
    with pytest.raises(SplynxDataError) as caught:
        Invoice.from_raw(raw)
    assert (caught.value.kind, caught.value.field) == ("invoice", "items[1].price")
    assert caught.value.raw == raw


def test_zero_and_empty_values() -> None:
    customer = Customer.from_raw(
        {
            "id": 12,
            "partner_id": "0",
            "location_id": "",
            "date_add": "0000-00-00",
            "last_online": "0000-00-00 00:00:00",
            "email": " , ",
            "mrr_total": "",
        }
    )
    assert customer.id == 12
    assert customer.partner_id is None and customer.location_id is None
    assert customer.date_add is None and customer.last_online is None
    assert customer.email == [] and customer.mrr_total == Decimal("0")


# Hooks --------------------------------------------------------------------------------------

EVENT_JSON = (
    b'{"type":"event","call":"","data":{"source":"admin","model":"models\\\\admin\\\\customers'
    b'\\\\Customer","action":"create","date":"2017-09-20","time":"14:38:12",'
    b'"administrator_id":"1","customer_id":"5","result":"success","attributes":{"id":"5",'
    b'"name":"Tyler Durden"},"attributes_additional":[],"changed_attributes":null,"extra":null,'
    b'"errors":null,"ip":"192.168.77.233"}}'
)


def test_parse_json_hook() -> None:
    event = parse_hook(EVENT_JSON, "application/json; charset=utf-8")
    assert isinstance(event, HookEvent)
    assert event.model == "customer"
    assert event.model_class == "models\\admin\\customers\\Customer"
    assert (event.action, event.customer_id, event.record_id) == ("create", 5, 5)
    assert event.attributes == {"id": "5", "name": "Tyler Durden"}
    assert event.changed_attributes is None
    assert event.occurred_at == datetime(2017, 9, 20, 14, 38, 12)


def test_parse_form_hook() -> None:
    body = (
        b"type=event&data%5Bmodel%5D=models%5Cadmin%5Cfinance%5CInvoice&data%5Baction%5D=edit"
        b"&data%5Bcustomer_id%5D=7&data%5Battributes%5D%5Bid%5D=12"
        b"&data%5Battributes%5D%5Btotal%5D=10.00&data[changed_attributes][status]=paid"
        b"&data[attributes][tags][]=a&data[attributes][tags][]=b"
    )
    event = parse_hook(body, "application/x-www-form-urlencoded")
    assert isinstance(event, HookEvent)
    assert (event.model, event.action, event.customer_id, event.record_id) == (
        "invoice",
        "edit",
        7,
        12,
    )
    assert event.attributes == {"id": "12", "total": "10.00", "tags": ["a", "b"]}
    assert event.changed_attributes == {"status": "paid"}


@pytest.mark.parametrize(
    ("model_class", "kind"),
    [
        ("models\\admin\\customers\\CustomerInternetService", "internet_service"),
        ("models\\admin\\support\\Ticket", "ticket"),
        ("models\\common\\finance\\Payment", "payment"),
    ],
)
def test_hook_model_kinds(model_class: str, kind: str) -> None:
    body = httpx.QueryParams(
        {"type": "event", "data[model]": model_class, "data[action]": "delete"}
    )
    event = parse_hook(str(body).encode(), "application/x-www-form-urlencoded")
    assert isinstance(event, HookEvent) and event.model == kind


def test_ping_hooks() -> None:
    assert isinstance(parse_hook(b'{"type":"ping"}', "application/json"), Ping)
    assert isinstance(parse_hook(b"type=ping", "application/x-www-form-urlencoded"), Ping)


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "not an object"),
        (b'{"type":"other"}', "application/json", "'ping' or 'event'"),
        (b'{"type":"event","data":{"action":"create"}}', "application/json", "data.model"),
        (b'{"type":"event","data":"x"}', "application/json", "'data' is not an object"),
        (
            b'{"type":"event","data":{"model":"Customer","action":"edit","attributes":{"id":"x"}}}',
            "application/json",
            "not an id",
        ),
        (b"type=event&data=1&data[model]=x", "application/x-www-form-urlencoded", "plain value"),
        (b"type", "application/x-www-form-urlencoded", "not a valid form"),
        (b"<xml/>", "text/xml", "unsupported type"),
    ],
)
def test_malformed_hooks_are_rejected(body: bytes, content_type: str, says: str) -> None:
    with pytest.raises(SplynxDataError) as caught:
        parse_hook(body, content_type)
    assert says in str(caught.value)


def test_a_tz_naive_mark_is_sent_as_is() -> None:
    mark = datetime(2025, 1, 1) + timedelta(seconds=1)
    assert filters({"updated_at": (">=", mark)})[1][1] == "2025-01-01 00:00:01"


def test_an_aware_mark_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        filters({"updated_at": (">=", datetime(2025, 1, 1, tzinfo=UTC))})


async def test_a_long_retry_after_is_handed_to_the_caller(
    fake_splynx: FakeSplynx, splynx: SplynxClient, sleeps: Sleeps
) -> None:
    fake_splynx.seed(1)
    fake_splynx.fail_next(1, 429, retry_after=600, path=CUSTOMERS)
    with pytest.raises(SplynxError) as caught:
        await splynx.customer(1)
    assert (caught.value.status, caught.value.retry_after) == (429, 600.0)
    assert sleeps.calls == []


def test_retry_after_as_an_http_date() -> None:
    response = httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"})
    now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC).timestamp()
    assert retry_after(response, now) == 30.0
    assert retry_after(httpx.Response(503, headers={"Retry-After": "soon"}), now) is None
