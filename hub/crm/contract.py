"""The CRM connector contract: what a CRM adapter hands the hub, and how the hub finds adapters.

A connector reads one CRM (Splynx, …) and speaks the hub's records below; the hub owns the
tables, the sync runs, linking and the card. Connectors are found by kind through the entry-point
group `hub.crm` (pyproject), as channels are through `hub.channels`, so `hub/` never imports an
adapter and a new CRM is a new package.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib.metadata import entry_points
from typing import Any, ClassVar, Literal

import msgspec

Entity = Literal["customer", "service", "invoice", "ticket"]
# Sync order: customers first, so a card has its customer before its services and invoices.
ENTITIES: tuple[Entity, ...] = ("customer", "service", "invoice", "ticket")


class CrmCustomer(msgspec.Struct, frozen=True, kw_only=True):
    external_id: int
    login: str
    name: str
    status: str  # Splynx: new | active | blocked | disabled
    category: str = ""
    email_raw: str = ""  # as typed in the CRM, for display
    phone_raw: str = ""
    emails: list[str] = []  # lower-cased, email and billing email together
    phones_raw: list[
        str
    ] = []  # as typed; the hub normalises them to E.164 with the source's region
    street: str = ""
    zip_code: str = ""
    city: str = ""
    mrr_total: Decimal | None = None
    date_add: date | None = None
    last_online: datetime | None = None
    changed_at: datetime | None = None  # the CRM's own change stamp (naive, its local time)
    raw: dict[str, Any] = {}


class CrmService(msgspec.Struct, frozen=True, kw_only=True):
    external_id: int
    customer_external_id: int
    status: str  # Splynx: active | stopped | disabled | hidden | pending
    description: str = ""
    tariff_id: int | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    start_date: date | None = None
    end_date: date | None = None
    login: str = ""
    ipv4: str | None = None
    changed_at: datetime | None = None
    raw: dict[str, Any] = {}


class CrmInvoice(msgspec.Struct, frozen=True, kw_only=True):
    external_id: int
    customer_external_id: int
    number: str
    status: str  # Splynx: not_paid | paid | pending | deleted
    total: Decimal
    due: Decimal
    date_created: date | None = None
    date_till: date | None = None
    date_payment: date | None = None
    changed_at: datetime | None = None
    raw: dict[str, Any] = {}


class CrmTicket(msgspec.Struct, frozen=True, kw_only=True):
    external_id: int
    customer_external_id: int | None
    subject: str
    priority: str = ""
    status_id: int | None = None
    closed: bool = False
    opened_at: datetime | None = None
    changed_at: datetime | None = None
    raw: dict[str, Any] = {}


Record = CrmCustomer | CrmService | CrmInvoice | CrmTicket


class BadRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A record the connector could not read: kept with its raw JSON, never stored half-read."""

    entity: str
    external_id: str
    error: str
    raw: Any = None


class Page(msgspec.Struct, kw_only=True):
    """One page of a list, in id order: the records read, those that could not be, and the
    highest id the page covered (bad records included), which is where the next page starts."""

    entity: Entity
    records: list[Any]
    bad: list[BadRecord]
    last_id: int
    full: bool  # a full page: more may follow


class HookPing(msgspec.Struct, frozen=True):
    pass


class HookChange(msgspec.Struct, frozen=True, kw_only=True):
    entity: Entity | None  # None: a model the hub does not keep (the hook is acknowledged)
    model: str
    action: str  # create | edit | delete | …
    external_id: int | None
    customer_external_id: int | None


class CrmError(Exception):
    """The CRM refused or kept failing; the message is meant for the admin (no secrets)."""


class CrmAuthError(CrmError):
    """The credentials were refused."""


class CrmRecordError(CrmError):
    """One record read on its own (a hook's fetch) could not be understood."""

    def __init__(self, bad: BadRecord) -> None:
        super().__init__(f"{bad.entity} {bad.external_id}: {bad.error}")
        self.bad = bad


class CrmConnector(ABC):
    kind: ClassVar[str] = ""
    # Config keys that are write-only in the API (the whole config is encrypted at rest).
    secret_fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """Check and complete a source's settings; raise ValueError with a sentence for the admin."""
        return dict(config)

    @classmethod
    def customer_url(cls, config: Mapping[str, Any]) -> str:
        """The CRM's page of a customer, with `{id}` for the external id ('' when there is none)."""
        return ""

    @abstractmethod
    def pages(
        self, entity: Entity, *, since: datetime | None = None, after_id: int = 0
    ) -> AsyncIterator[Page]:
        """Records with id > after_id (changed at or after `since`, when given), in id order."""

    async def count(self, entity: Entity, *, since: datetime | None = None) -> int | None:
        """How many records `pages` will yield, if the CRM can say cheaply (progress bars)."""
        return None

    @abstractmethod
    async def fetch(
        self, entity: Entity, external_id: int, *, customer_external_id: int | None = None
    ) -> Record | None:
        """One record, read now; None when the CRM no longer has it."""

    async def balance(self, customer_external_id: int) -> Decimal | None:
        """The customer's balance (deposit), if the CRM has one."""
        return None

    def verify_hook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        return False

    def parse_hook(self, body: bytes, content_type: str) -> HookPing | HookChange:
        """Read a hook body; raise ValueError when it cannot be understood."""
        raise ValueError(f"the {self.kind} connector receives no hooks")

    async def check(self) -> None:
        """Prove the credentials work (raise CrmError with the CRM's message)."""
        return None

    async def aclose(self) -> None:
        return None


class UnknownCrm(LookupError):
    pass


_registered: dict[str, type[CrmConnector]] = {}


def register(kind: str, cls: type[CrmConnector]) -> None:
    """Register a connector in code (tests, embedding); entry points are the normal way."""
    _registered[kind] = cls
    connector_class.cache_clear()


@cache
def connector_class(kind: str) -> type[CrmConnector]:
    if kind in _registered:
        return _registered[kind]
    for entry in entry_points(group="hub.crm"):
        if entry.name == kind:
            cls: type[CrmConnector] = entry.load()
            return cls
    raise UnknownCrm(f"no connector is installed for CRM {kind!r}")


def installed_crms() -> list[str]:
    return sorted({entry.name for entry in entry_points(group="hub.crm")} | set(_registered))
