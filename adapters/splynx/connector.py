"""The hub's CRM connector for Splynx (entry point `hub.crm: splynx`).

It reads lists with keyset paging (`main_attributes[id][>]=<last id>`, ordered by id) rather
than offsets: a page costs the same at record 190,000 as at record 0, a sync can continue from
the last id it stored, and records created while paging cannot shift a page. Each record is
converted on its own, so one unreadable record is set aside and the rest of its page is kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlparse

from adapters.splynx import client as api
from adapters.splynx.client import SplynxClient
from adapters.splynx.convert import Reader
from adapters.splynx.errors import SplynxAuthError, SplynxDataError, SplynxError, SplynxNotFound
from adapters.splynx.hooks import HookEvent, parse_hook, verify_hook
from adapters.splynx.models import Customer, InternetService, Invoice, Ticket
from adapters.splynx.query import filters
from hub.crm.contract import (
    BadRecord,
    CrmAuthError,
    CrmConnector,
    CrmCustomer,
    CrmError,
    CrmInvoice,
    CrmRecordError,
    CrmService,
    CrmTicket,
    Entity,
    HookChange,
    HookPing,
    Page,
    Record,
)

T = TypeVar("T")

API_PREFIX = "/api/2.0"
_PATHS: dict[str, str] = {
    "customer": api.CUSTOMERS_PATH,
    "service": api.SERVICES_PATH,
    "invoice": api.INVOICES_PATH,
    "ticket": api.TICKETS_PATH,
}
_UPDATED: dict[str, str] = {
    "customer": api.CUSTOMERS_UPDATED,
    "service": api.SERVICES_UPDATED,
    "invoice": api.INVOICES_UPDATED,
    "ticket": api.TICKETS_UPDATED,
}
_HOOK_KINDS: dict[str, Entity] = {
    "customer": "customer",
    "internet_service": "service",
    "invoice": "invoice",
    "ticket": "ticket",
}


def _root(base_url: str) -> str:
    """The installation's URL, whether the admin gave it with or without /api/2.0."""
    root = base_url.strip().rstrip("/")
    return root[: -len(API_PREFIX)] if root.endswith(API_PREFIX) else root


def customer(c: Customer) -> CrmCustomer:
    emails = list(dict.fromkeys([*c.email, *c.billing_email]))
    return CrmCustomer(
        external_id=c.id,
        login=c.login,
        name=c.name,
        status=c.status,
        category=c.category,
        email_raw=str(c.raw.get("email") or ""),
        phone_raw=str(c.raw.get("phone") or ""),
        emails=emails,
        phones_raw=c.phones,
        street=c.street_1,
        zip_code=c.zip_code,
        city=c.city,
        mrr_total=c.mrr_total,
        date_add=c.date_add,
        last_online=c.last_online,
        changed_at=c.last_update,
        raw=c.raw,
    )


def service(s: InternetService) -> CrmService:
    return CrmService(
        external_id=s.id,
        customer_external_id=s.customer_id,
        status=s.status,
        description=s.description,
        tariff_id=s.tariff_id,
        quantity=s.quantity,
        unit_price=s.unit_price,
        start_date=s.start_date,
        end_date=s.end_date,
        login=s.login,
        ipv4=s.ipv4,
        # Not a field of the typed model (its name is UNCONFIRMED in the contract).
        changed_at=Reader("internet_service", s.raw).optional_datetime(api.SERVICES_UPDATED),
        raw=s.raw,
    )


def invoice(i: Invoice) -> CrmInvoice:
    return CrmInvoice(
        external_id=i.id,
        customer_external_id=i.customer_id,
        number=i.number,
        status=i.status,
        total=i.total,
        due=i.due,
        date_created=i.date_created,
        date_till=i.date_till,
        date_payment=i.date_payment,
        changed_at=i.date_updated,
        raw=i.raw,
    )


def ticket(t: Ticket) -> CrmTicket:
    return CrmTicket(
        external_id=t.id,
        customer_external_id=t.customer_id,
        subject=t.subject,
        priority=t.priority,
        status_id=t.status_id,
        closed=t.closed,
        opened_at=t.created_at,
        changed_at=t.updated_at,
        raw=t.raw,
    )


_CONVERT: dict[str, Callable[[Any], Record]] = {
    "customer": lambda raw: customer(Customer.from_raw(raw)),
    "service": lambda raw: service(InternetService.from_raw(raw)),
    "invoice": lambda raw: invoice(Invoice.from_raw(raw)),
    "ticket": lambda raw: ticket(Ticket.from_raw(raw)),
}


def _raw_id(raw: Any) -> int | None:
    try:
        return int(str(raw.get("id"))) if isinstance(raw, Mapping) else None
    except ValueError:
        return None


def _bad(entity: str, raw: Any, exc: Exception) -> BadRecord:
    return BadRecord(entity=entity, external_id=str(_raw_id(raw) or ""), error=str(exc), raw=raw)


async def _call(call: Awaitable[T]) -> T:
    """Splynx's errors as the hub's (their messages carry no tokens or secrets)."""
    try:
        return await call
    except SplynxAuthError as exc:
        raise CrmAuthError(f"Splynx refused the credentials: {exc}") from None
    except SplynxError as exc:
        raise CrmError(f"Splynx: {exc}") from None


class SplynxConnector(CrmConnector):
    kind = "splynx"
    secret_fields = frozenset({"api_secret", "hook_secret"})

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        cleaned = dict(config)
        url = str(cleaned.get("base_url") or "").strip()
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("base_url must be the Splynx address, e.g. https://splynx.example.com")
        cleaned["base_url"] = _root(url)
        for key in ("api_key", "api_secret"):
            if not str(cleaned.get(key) or "").strip():
                raise ValueError(f"{key} is required (Splynx: Config → API keys)")
        page_size = cleaned.get("page_size", 500)
        if not isinstance(page_size, int) or not 1 <= page_size <= 5000:
            raise ValueError("page_size must be a whole number from 1 to 5000")
        cleaned["page_size"] = page_size
        backoff = cleaned.get("retry_backoff_seconds", 0.5)
        if not isinstance(backoff, int | float) or not 0 <= backoff <= 30:
            raise ValueError("retry_backoff_seconds must be a number from 0 to 30")
        return cleaned

    @classmethod
    def customer_url(cls, config: Mapping[str, Any]) -> str:
        return f"{_root(str(config['base_url']))}/admin/customers/view?id={{id}}"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.page_size = int(self.config.get("page_size", 500))
        self.client = SplynxClient(
            _root(str(self.config["base_url"])) + API_PREFIX + "/",
            str(self.config["api_key"]),
            str(self.config["api_secret"]),
            page_size=self.page_size,
            backoff_base=float(self.config.get("retry_backoff_seconds", 0.5)),
        )

    def _spec(self, entity: str, since: datetime | None, after_id: int) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if since is not None:
            spec[_UPDATED[entity]] = (">=", since)
        if after_id:
            spec["id"] = (">", after_id)
        return spec

    async def pages(
        self, entity: Entity, *, since: datetime | None = None, after_id: int = 0
    ) -> AsyncIterator[Page]:
        convert = _CONVERT[entity]
        while True:
            query = [
                *filters(self._spec(entity, since, after_id)),
                ("order[id]", "ASC"),
                ("limit", str(self.page_size)),
            ]
            batch = await _call(self.client.get_json(_PATHS[entity], query))
            if not isinstance(batch, list):
                raise CrmError(
                    f"Splynx: {_PATHS[entity]} answered {type(batch).__name__}, not a list"
                )
            if not batch:
                return
            records: list[Record] = []
            bad: list[BadRecord] = []
            for raw in batch:
                try:
                    records.append(convert(raw))
                except SplynxDataError as exc:
                    bad.append(_bad(entity, raw, exc))
            ids = [i for i in (_raw_id(raw) for raw in batch) if i is not None]
            if not ids or max(ids) <= after_id:
                raise CrmError(f"Splynx: a page of {_PATHS[entity]} has no id past {after_id}")
            after_id = max(ids)
            full = len(batch) >= self.page_size
            yield Page(entity=entity, records=records, bad=bad, last_id=after_id, full=full)
            if not full:
                return

    async def count(self, entity: Entity, *, since: datetime | None = None) -> int | None:
        return await _call(self.client.count(_PATHS[entity], filters(self._spec(entity, since, 0))))

    async def _one(self, entity: Entity, path: str) -> Record | None:
        try:
            raw = await self.client.get_json(path)
        except SplynxNotFound:
            return None
        except SplynxAuthError as exc:
            raise CrmAuthError(f"Splynx refused the credentials: {exc}") from None
        except SplynxError as exc:
            raise CrmError(f"Splynx: {exc}") from None
        try:
            return _CONVERT[entity](raw)
        except SplynxDataError as exc:
            raise CrmRecordError(_bad(entity, raw, exc)) from None

    async def fetch(
        self, entity: Entity, external_id: int, *, customer_external_id: int | None = None
    ) -> Record | None:
        record_id = int(external_id)
        if entity == "service":
            if customer_external_id:
                path = f"admin/customers/customer/{int(customer_external_id)}/internet-services--{record_id}"
                return await self._one(entity, path)
            # Without the customer: the list across customers, narrowed to the one id.
            page = await _call(self.client.get_json(_PATHS[entity], filters({"id": record_id})))
            if not isinstance(page, list) or not page:
                return None
            try:
                return _CONVERT[entity](page[0])
            except SplynxDataError as exc:
                raise CrmRecordError(_bad(entity, page[0], exc)) from None
        return await self._one(entity, f"{_PATHS[entity]}/{record_id}")

    async def balance(self, customer_external_id: int) -> Decimal | None:
        try:
            billing = await self.client.customer_billing(customer_external_id)
        except SplynxNotFound:
            return None
        except SplynxDataError as exc:
            raise CrmError(
                f"Splynx: unreadable billing of customer {customer_external_id}: {exc}"
            ) from None
        except SplynxError as exc:
            raise CrmError(f"Splynx: {exc}") from None
        return billing.deposit

    def verify_hook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        secret = str(self.config.get("hook_secret") or "")
        return verify_hook(secret, body, headers.get("x-splynx-signature"))

    def parse_hook(self, body: bytes, content_type: str) -> HookPing | HookChange:
        try:
            parsed = parse_hook(body, content_type)
        except SplynxDataError as exc:
            raise ValueError(str(exc)) from None
        if not isinstance(parsed, HookEvent):
            return HookPing()
        return HookChange(
            entity=_HOOK_KINDS.get(parsed.model),
            model=parsed.model,
            action=parsed.action.lower(),
            external_id=parsed.record_id,
            customer_external_id=parsed.customer_id,
        )

    async def check(self) -> None:
        await _call(self.client.get_json(api.CUSTOMERS_PATH, [("limit", "1")]))

    async def aclose(self) -> None:
        await self.client.aclose()
