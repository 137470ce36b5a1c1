"""An async client for the Splynx REST API v2: signed login, token renewal, backoff and paging.

Reads come back as batches of typed records (`models`). Every call goes through `request`, which
holds the token policy (log in on first use, renew 5 s before expiry, log in again once the
refresh token is gone, renew-and-retry once on EXPIRED_ACCESS_TOKEN) and the retry policy
(exponential backoff with jitter on 429, 5xx and transport errors, honouring Retry-After).
Tokens and the API secret never reach a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx
import msgspec

from adapters.splynx.auth import USER_AGENT, NonceSource, Tokens, authorization, login_payload
from adapters.splynx.errors import (
    TOKENS_PATH,
    SplynxAuthError,
    SplynxDataError,
    SplynxError,
    SplynxNotFound,
    error_details,
    redact,
    retry_after,
)
from adapters.splynx.models import (
    Billing,
    Customer,
    InternetService,
    Invoice,
    Ticket,
    TicketMessage,
)
from adapters.splynx.query import Params, QueryPairs, filters, since, to_pairs

log = logging.getLogger(__name__)

T = TypeVar("T")

CUSTOMERS_PATH = "admin/customers/customer"
# Customer 0 stands for "every customer" on the per-customer services endpoint.
SERVICES_PATH = "admin/customers/customer/0/internet-services"
INVOICES_PATH = "admin/finance/invoices"
TICKETS_PATH = "admin/support/tickets"
TICKET_MESSAGES_PATH = "admin/support/ticket-messages"
BILLING_INFO_PATH = "admin/customers/billing-info"

# The "last changed" column each list is filtered on for incremental reads. The services one is
# not in the published field list (UNCONFIRMED); the others are.
CUSTOMERS_UPDATED = "last_update"
SERVICES_UPDATED = "updated_at"
INVOICES_UPDATED = "date_updated"
TICKETS_UPDATED = "updated_at"

# Seconds. A server asking for a longer pause gets an error carrying its Retry-After instead:
# the caller (a scheduled job) can come back later rather than hold a worker asleep.
MAX_BACKOFF = 60.0
_RETRYABLE_POST_STATUSES = frozenset({429, 503})


class SplynxClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        page_size: int = 500,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.base_url = base_url.rstrip("/") + "/"
        self.page_size = page_size
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self._key = api_key
        self._secret = api_secret
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        self._clock = clock
        self._sleep = sleep
        self._nonces = NonceSource(clock)
        self._tokens: Tokens | None = None
        self._lock = asyncio.Lock()
        self._random = random.Random()

    async def __aenter__(self) -> SplynxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Log out (best effort: an unreachable Splynx must not block shutdown), then close."""
        tokens, self._tokens = self._tokens, None
        try:
            if tokens is not None and tokens.refresh_usable(self._clock()):
                headers = {"User-Agent": USER_AGENT}
                if tokens.access_usable(self._clock()):
                    headers["Authorization"] = authorization(tokens.access_token)
                try:
                    url = self.base_url + f"{TOKENS_PATH}/{tokens.refresh_token}"
                    await self._http.delete(url, headers=headers, timeout=5.0)
                except httpx.HTTPError as exc:
                    log.info("splynx logout failed: %s", type(exc).__name__)
        finally:
            if self._owns_http:
                await self._http.aclose()

    # Tokens ---------------------------------------------------------------------------------

    async def _login(self) -> Tokens:
        payload = login_payload(self._key, self._secret, self._nonces.next())
        # A duplicate login only creates a spare token pair, so it is safe to retry on 5xx.
        response = await self._send("POST", TOKENS_PATH, json=payload, retry_unsafe=True)
        if response.status_code not in (200, 201):
            message, code = error_details(response)
            raise SplynxAuthError(
                f"login refused: {message}",
                status=response.status_code,
                internal_code=code,
                method="POST",
                path=TOKENS_PATH,
            )
        log.info("splynx: logged in to %s", self.base_url)
        return self._tokens_from(response, "POST")

    async def _renew(self, tokens: Tokens) -> Tokens:
        """Renew with the refresh token; log in again when Splynx says it is no longer valid."""
        response = await self._send("GET", f"{TOKENS_PATH}/{tokens.refresh_token}")
        if response.status_code == 200:
            return self._tokens_from(response, "GET")
        message, code = error_details(response)
        if response.status_code in (401, 403, 404):
            log.info("splynx: token renewal refused (%s), logging in again", code or message)
            return await self._login()
        raise SplynxAuthError(
            f"token renewal failed: {message}",
            status=response.status_code,
            internal_code=code,
            method="GET",
            path=redact(f"{TOKENS_PATH}/{tokens.refresh_token}"),
        )

    def _tokens_from(self, response: httpx.Response, method: str) -> Tokens:
        try:
            return Tokens.from_response(response.json())
        except ValueError as exc:
            raise SplynxAuthError(
                str(exc), status=response.status_code, method=method, path=TOKENS_PATH
            ) from None

    async def _access_token(self) -> str:
        # One lock, so a burst of concurrent calls produces one login or renewal, not many.
        async with self._lock:
            now = self._clock()
            tokens = self._tokens
            if tokens is None or not tokens.refresh_usable(now):
                tokens = await self._login()
            elif not tokens.access_usable(now):
                tokens = await self._renew(tokens)
            self._tokens = tokens
            return tokens.access_token

    async def _after_rejection(self, rejected: str) -> None:
        async with self._lock:
            tokens = self._tokens
            # Another call may already have replaced the rejected token while we waited.
            if tokens is None or tokens.access_token != rejected:
                return
            if tokens.refresh_usable(self._clock()):
                self._tokens = await self._renew(tokens)
            else:
                self._tokens = await self._login()

    async def _forget(self, rejected: str) -> None:
        # A token Splynx no longer knows (banned, logged out elsewhere) would fail every later
        # call too; dropping it makes the next call log in afresh.
        async with self._lock:
            if self._tokens is not None and self._tokens.access_token == rejected:
                self._tokens = None

    # Transport ------------------------------------------------------------------------------

    def _delay(self, attempt: int, asked: float | None) -> float:
        if asked is not None:
            return asked
        # Jitter keeps several workers that failed together from retrying together.
        ceiling = min(MAX_BACKOFF, self.backoff_base * 2**attempt)
        return ceiling * self._random.uniform(0.5, 1.0)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: QueryPairs | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        retry_unsafe: bool = False,
    ) -> httpx.Response:
        """One call with backoff; answers the final response, whatever its status."""
        # A POST that reached the application may have taken effect, so only statuses that say
        # it did not (429, 503) or a failed connection are retried, unless the caller knows better.
        safe = method != "POST" or retry_unsafe
        url = self.base_url + path.lstrip("/")
        shown = redact(path)
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method,
                    url,
                    params=httpx.QueryParams(tuple(params)) if params else None,
                    json=json,
                    headers={"User-Agent": USER_AGENT, **(headers or {})},
                )
            except httpx.TransportError as exc:
                retryable = safe or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if not retryable or attempt >= self.max_retries:
                    raise SplynxError(
                        f"transport error: {type(exc).__name__}: {exc}",
                        method=method,
                        path=shown,
                    ) from exc
                delay = self._delay(attempt, None)
                log.warning("splynx %s %s: %r, retry in %.1f s", method, shown, exc, delay)
            else:
                status = response.status_code
                retryable = status == 429 or status >= 500
                if not retryable or not (safe or status in _RETRYABLE_POST_STATUSES):
                    return response
                asked = retry_after(response, self._clock())
                if attempt >= self.max_retries or (asked or 0) > MAX_BACKOFF:
                    message, code = error_details(response)
                    raise SplynxError(
                        f"gave up after {attempt + 1} attempts: {message}",
                        status=status,
                        internal_code=code,
                        method=method,
                        path=shown,
                        retry_after=asked,
                    )
                delay = self._delay(attempt, asked)
                log.warning("splynx %s %s: %s, retry in %.1f s", method, shown, status, delay)
            attempt += 1
            await self._sleep(delay)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json: Any = None,
    ) -> httpx.Response:
        """An authenticated call; raises `SplynxError` for any 4xx/5xx it could not recover."""
        pairs = to_pairs(params)
        renewed = False
        while True:
            token = await self._access_token()
            response = await self._send(
                method,
                path,
                params=pairs,
                json=json,
                headers={"Authorization": authorization(token)},
            )
            if response.status_code < 400:
                return response
            message, code = error_details(response)
            if response.status_code == 401 and code == "EXPIRED_ACCESS_TOKEN" and not renewed:
                # Splynx can retire a token before the expiry it announced (clock skew, restart).
                renewed = True
                await self._after_rejection(token)
                continue
            if response.status_code == 401:
                await self._forget(token)
            error_type = {401: SplynxAuthError, 404: SplynxNotFound}.get(
                response.status_code, SplynxError
            )
            raise error_type(
                message,
                status=response.status_code,
                internal_code=code,
                method=method,
                path=redact(path),
            )

    async def get_json(self, path: str, params: Params = None) -> Any:
        response = await self.request("GET", path, params=params)
        try:
            return msgspec.json.decode(response.content)
        except msgspec.DecodeError as exc:
            raise SplynxError(
                f"answer is not JSON: {exc}", status=response.status_code, method="GET", path=path
            ) from None

    async def count(self, path: str, params: Params = None) -> int:
        """Matching records, from HEAD's X-total-count (no bodies are transferred)."""
        response = await self.request("HEAD", path, params=params)
        try:
            return int(response.headers["x-total-count"])
        except (KeyError, ValueError):
            raise SplynxError(
                "HEAD answer has no usable X-total-count", method="HEAD", path=path
            ) from None

    async def pages(self, path: str, params: Params = None) -> AsyncIterator[list[dict[str, Any]]]:
        """Raw records in id order, one list per page, until a page comes back short.

        Offset paging can show a record twice if matching records with lower ids appear while
        paging (harmless: consumers upsert); ordering by id keeps that to the page boundary.
        """
        base = [
            pair for pair in to_pairs(params) if pair[0] not in {"limit", "offset", "order[id]"}
        ]
        offset = 0
        while True:
            query = [
                *base,
                ("order[id]", "ASC"),
                ("limit", str(self.page_size)),
                ("offset", str(offset)),
            ]
            batch = await self.get_json(path, query)
            if not isinstance(batch, list):
                raise SplynxDataError(
                    f"{path}: expected a JSON array, got {type(batch).__name__}", kind=path
                )
            if batch:
                yield batch
            if len(batch) < self.page_size:
                return
            offset += self.page_size

    async def _typed(
        self,
        path: str,
        convert: Callable[[Any], T],
        spec: Mapping[str, Any],
    ) -> AsyncIterator[list[T]]:
        params = filters(spec) if spec else None
        async for batch in self.pages(path, params):
            yield [convert(record) for record in batch]

    # Typed reads ----------------------------------------------------------------------------

    def customers(self, updated_since: datetime | None = None) -> AsyncIterator[list[Customer]]:
        return self._typed(
            CUSTOMERS_PATH, Customer.from_raw, since(CUSTOMERS_UPDATED, updated_since)
        )

    def internet_services(
        self, updated_since: datetime | None = None
    ) -> AsyncIterator[list[InternetService]]:
        return self._typed(
            SERVICES_PATH, InternetService.from_raw, since(SERVICES_UPDATED, updated_since)
        )

    def invoices(self, updated_since: datetime | None = None) -> AsyncIterator[list[Invoice]]:
        return self._typed(INVOICES_PATH, Invoice.from_raw, since(INVOICES_UPDATED, updated_since))

    def tickets(self, updated_since: datetime | None = None) -> AsyncIterator[list[Ticket]]:
        return self._typed(TICKETS_PATH, Ticket.from_raw, since(TICKETS_UPDATED, updated_since))

    def ticket_messages(self, ticket_id: int) -> AsyncIterator[list[TicketMessage]]:
        return self._typed(TICKET_MESSAGES_PATH, TicketMessage.from_raw, {"ticket_id": ticket_id})

    async def customer(self, customer_id: int) -> Customer:
        return Customer.from_raw(await self.get_json(f"{CUSTOMERS_PATH}/{int(customer_id)}"))

    async def customer_billing(self, customer_id: int) -> Billing:
        raw = await self.get_json(
            f"{BILLING_INFO_PATH}/{int(customer_id)}", {"format_values": "true"}
        )
        return Billing.from_raw(int(customer_id), raw)
