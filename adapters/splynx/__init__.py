"""Splynx ISP billing/CRM: a pure API client (REST v2) and hook parsing; no Hub imports.

The sync layer builds on `SplynxClient` (typed batches of customers, services, invoices,
tickets) and on `verify_hook` / `parse_hook` for Splynx's push notifications.
"""

from adapters.splynx.auth import Tokens, signature
from adapters.splynx.client import SplynxClient
from adapters.splynx.errors import SplynxAuthError, SplynxDataError, SplynxError, SplynxNotFound
from adapters.splynx.hooks import HookEvent, Ping, parse_hook, verify_hook
from adapters.splynx.models import (
    Billing,
    Customer,
    InternetService,
    Invoice,
    InvoiceItem,
    Ticket,
    TicketMessage,
)
from adapters.splynx.query import filters, php_query

__all__ = [
    "Billing",
    "Customer",
    "HookEvent",
    "InternetService",
    "Invoice",
    "InvoiceItem",
    "Ping",
    "SplynxAuthError",
    "SplynxClient",
    "SplynxDataError",
    "SplynxError",
    "SplynxNotFound",
    "Ticket",
    "TicketMessage",
    "Tokens",
    "filters",
    "parse_hook",
    "php_query",
    "signature",
    "verify_hook",
]
