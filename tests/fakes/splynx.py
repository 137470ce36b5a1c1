"""A contract fake of the Splynx REST API v2 (/work/shared/contracts/splynx.md).

Auth is checked as the contract says: a signed login (HMAC-SHA256 over nonce + key, the nonce
must grow), then `Authorization: Splynx-EA (access_token=…)` on every call, with Splynx's error
JSON and internal codes. Token lifetimes run on a `clock` the tests share, so they can expire
tokens by moving time. Lists honour `main_attributes[…]` filters, `order`, `limit` and `offset`
and are bare JSON arrays of string-valued records, as Splynx sends them. It can be told to fail
(`fail_next`, `forbidden`, `expire_*_tokens`, `expire_tokens_after`, `slow_next`) and it logs every
request (`requests`) and every record it served (`served`) so tests can count round trips and
re-fetched records. Lists read in id order are served by a scan from the first matching id, so
a keyset page costs the same at record 200,000 as at record 0 (the benchmark reads that many).
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import hmac
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Litestar, Request, Response, head, route

API = "/api/2.0"
COLLECTIONS = {
    "admin/customers/customer": "customer",
    "admin/finance/invoices": "invoice",
    "admin/support/tickets": "ticket",
    "admin/support/ticket-messages": "ticket_message",
}
# The column `update()` bumps, per kind (services: UNCONFIRMED in the contract).
UPDATED_FIELD = {
    "customer": "last_update",
    "internet_service": "updated_at",
    "invoice": "date_updated",
    "ticket": "updated_at",
}
_SERVICES = re.compile(r"admin/customers/customer/(\d+)/internet-services(?:--(\d+))?")
_ONE = re.compile(r"(.+)/(\d+)")
_AUTH = re.compile(r"Splynx-EA \(access_token=([^)\s]+)\)")


class FakeClock:
    """A settable clock (epoch seconds) shared by the fake and the client under test."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Seen:
    method: str
    path: str  # below /api/2.0/, e.g. "admin/customers/customer"
    params: dict[str, str]  # the query string's pairs (last value wins)


def error(status: int, internal_code: str, message: str) -> Response[Any]:
    body = {"error": {"message": message, "code": status, "internal_code": internal_code}}
    return Response(body, status_code=status)


def wire(value: Any) -> Any:
    """Splynx's spelling of a value: strings for scalars, "" for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return value
    return str(value)


def nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """`a[b][0]=x` → {"a": {"b": {"0": "x"}}}: PHP's reading of a query string."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"^[^\[]+|\[([^\]]*)\]", key)
        names = [key.split("[", 1)[0], *parts[1:]]
        node = root
        for name in names[:-1]:
            child = node.setdefault(name, {})
            if not isinstance(child, dict):
                raise ValueError(f"query key {key} nests under a plain value")
            node = child
        node[names[-1] or str(len(node))] = value
    return root


def _number(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _compare(left: str, right: str) -> int:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    return (left > right) - (left < right)


def _like(value: str, pattern: str) -> bool:
    if "%" not in pattern and "_" not in pattern:
        pattern = f"%{pattern}%"  # a bare word searches within the field (UNCONFIRMED)
    regex = "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern.lower()
    )
    return re.fullmatch(regex, value.lower(), re.DOTALL) is not None


def _values(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(v) for _, v in sorted(value.items(), key=lambda kv: int(kv[0]))]
    return [v.strip() for v in str(value).split(",")]


_ORDERING = {
    "=": lambda c: c == 0,
    "!=": lambda c: c != 0,
    "<>": lambda c: c != 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
}


def matches(record: dict[str, Any], name: str, condition: Any) -> bool:
    value = str(record.get(name, ""))
    if not isinstance(condition, dict):
        return value == str(condition)
    op, arg = str(condition.get("0", "=")).upper(), condition.get("1", "")
    if op in _ORDERING:
        return bool(_ORDERING[op](_compare(value, str(arg))))
    if op == "LIKE":
        return _like(value, str(arg))
    if op == "IN":
        return any(_compare(value, v) == 0 for v in _values(arg))
    if op == "BETWEEN":
        bounds = _values(arg)
        return _compare(value, bounds[0]) >= 0 and _compare(value, bounds[-1]) <= 0
    raise ValueError(f"unsupported operator {op}")


@dataclass
class FakeSplynx:
    key: str = "apikey"
    secret: str = "apisecret"
    clock: Callable[[], float] = time.time
    access_ttl: float = 1800.0
    refresh_ttl: float = 7 * 86400.0
    base_url: str = ""
    records: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {
            k: {} for k in ("customer", "internet_service", "invoice", "ticket", "ticket_message")
        }
    )
    billing: dict[int, dict[str, Any]] = field(default_factory=dict)  # overrides billing-info
    requests: list[Seen] = field(default_factory=list)
    served: Counter[str] = field(default_factory=Counter)  # records answered, per kind
    forbidden: set[str] = field(default_factory=set)  # path prefixes answered with 403
    last_nonce: int = 0
    _failures: list[tuple[int, float | None, str | None]] = field(default_factory=list)
    _access: dict[str, tuple[float, str]] = field(default_factory=dict)  # token → (exp, refresh)
    _refresh: dict[str, float] = field(default_factory=dict)  # refresh token → expiry
    _expire_after: int | None = None  # authenticated requests left before tokens expire
    _slow: list[tuple[float, str | None]] = field(default_factory=list)
    _ids: dict[str, tuple[int, list[int]]] = field(default_factory=dict)  # kind → (len, sorted)
    _known: dict[str, tuple[int, set[str]]] = field(default_factory=dict)  # kind → (len, fields)

    # Knobs -----------------------------------------------------------------------------------

    def fail_next(
        self, n: int, status: int = 500, retry_after: float | None = None, path: str | None = None
    ) -> None:
        """Answer the next n requests (to paths starting with `path`, if given) with `status`."""
        self._failures.extend([(status, retry_after, path)] * n)

    def expire_access_tokens(self) -> None:
        """Server-side expiry the client cannot foresee: its next call meets EXPIRED_ACCESS_TOKEN."""
        now = self.clock()
        self._access = {t: (now - 1, r) for t, (_, r) in self._access.items()}

    def expire_tokens_after(self, n: int) -> None:
        """Expire every access token once n more authenticated GETs were answered: a token
        that dies in the middle of a sync (between two pages), whenever the client would
        have renewed it."""
        self._expire_after = n

    def slow_next(self, seconds: float, n: int = 1, path: str | None = None) -> None:
        """Delay the next n answers (to paths starting with `path`, if given) by `seconds`."""
        self._slow.extend([(seconds, path)] * n)

    def remove(self, kind: str, record_id: int) -> None:
        """The record is deleted in Splynx."""
        del self.records[kind][record_id]
        self._ids.pop(kind, None)

    def expire_refresh_tokens(self) -> None:
        now = self.clock()
        self._refresh = dict.fromkeys(self._refresh, now - 1)

    @property
    def sessions(self) -> int:
        """Refresh tokens still live on the server (logins not yet logged out)."""
        return len(self._refresh)

    def issued_tokens(self) -> list[str]:
        """Every access and refresh token the fake knows, for leak checks."""
        return [*self._access, *self._refresh]

    def calls(self, path: str, method: str = "GET") -> list[Seen]:
        return [seen for seen in self.requests if seen.path == path and seen.method == method]

    @property
    def logins(self) -> int:
        return len(self.calls("admin/auth/tokens", "POST"))

    @property
    def renewals(self) -> int:
        return sum(
            1
            for s in self.requests
            if s.method == "GET" and s.path.startswith("admin/auth/tokens/")
        )

    @property
    def logouts(self) -> int:
        return sum(
            1
            for s in self.requests
            if s.method == "DELETE" and s.path.startswith("admin/auth/tokens/")
        )

    def stamp(self, days_ago: float = 0) -> str:
        """The fake's clock as Splynx writes datetimes (its local time: UTC here)."""
        return wire(
            datetime.fromtimestamp(self.clock() - days_ago * 86400, UTC).replace(tzinfo=None)
        )

    def day(self, days_ago: float = 0) -> str:
        return self.stamp(days_ago)[:10]

    def add(self, kind: str, **fields: Any) -> int:
        table = self.records[kind]
        record_id = int(fields.pop("id", max(table, default=0) + 1))
        table[record_id] = {"id": str(record_id), **{k: wire(v) for k, v in fields.items()}}
        self._ids.pop(kind, None)
        self._known.pop(kind, None)
        return record_id

    def update(self, kind: str, record_id: int, **fields: Any) -> dict[str, Any]:
        """Change a record as Splynx would: its change column moves to the fake's clock."""
        record = self.records[kind][record_id]
        record.update({k: wire(v) for k, v in fields.items()})
        if kind in UPDATED_FIELD and UPDATED_FIELD[kind] not in fields:
            record[UPDATED_FIELD[kind]] = self.stamp()
        return record

    def spread(self, days: float = 40) -> FakeSplynx:
        """Change stamps a day apart per record (id 1 newest), so an incremental read's
        overlap holds exactly the newest record of each kind."""
        for kind, name in UPDATED_FIELD.items():
            for record_id, record in self.records[kind].items():
                record[name] = self.stamp(days + record_id)
        return self

    def seed(self, n_customers: int) -> FakeSplynx:
        """n customers (ids 1..n) with services, invoices and tickets; the same data every time.

        Every 5th customer has two comma-separated emails in odd case, every 10th a 0000-00-00
        date_add, every 8th a zero last_online; every 3rd has an overdue unpaid invoice and a
        ticket with two messages; every 4th has a second service.
        """
        for i in range(1, n_customers + 1):
            email = (
                f"Cust{i}@Example.COM, alt{i}@example.net,"
                if i % 5 == 0
                else f"cust{i}@example.com"
            )
            self.add(
                "customer",
                id=i,
                login=f"cust{i:04d}",
                name=f"Customer {i}",
                status=("active", "active", "active", "blocked", "new", "disabled")[i % 6],
                partner_id=1,
                location_id=1 + i % 2,
                email=email,
                billing_email=f"billing{i}@example.com" if i % 4 == 0 else "",
                phone=f"+4520{i:06d}" + (f", +4530{i:06d}" if i % 3 == 0 else ""),
                category="company" if i % 7 == 0 else "person",
                street_1=f"{i} Fiber Street",
                zip_code=str(1000 + i),
                city="Aarhus" if i % 2 else "Odense",
                date_add="0000-00-00" if i % 10 == 0 else self.day(400 - i % 300),
                billing_type="recurring",
                mrr_total=f"{(i % 9) * 12.5:.2f}",
                last_online="0000-00-00 00:00:00" if i % 8 == 0 else self.stamp(i % 30 / 24),
                last_update=self.stamp(30 + i / 1440),
                customer_labels=[{"label": "VIP", "color": "#d33"}] if i % 6 == 0 else [],
                additional_attributes={},
            )
            for extra in range(2 if i % 4 == 0 else 1):
                self.add(
                    "internet_service",
                    customer_id=i,
                    tariff_id=1 + extra,
                    status="active",
                    description="Fiber 300/300" if not extra else "Static IP",
                    quantity=1,
                    unit_price="29.00" if not extra else "5.00",
                    start_date=self.day(300),
                    end_date="0000-00-00",
                    login=f"cust{i:04d}" + ("-ip" if extra else ""),
                    router_id=1,
                    ipv4=f"10.0.{i // 250}.{i % 250 + 1}",
                    ipv6="",
                    mac="",
                    type="internet",
                    updated_at=self.stamp(30 + i / 1440),
                )
            for month in (2, 0):
                unpaid = month == 0 and i % 3 != 2
                overdue = unpaid and i % 3 == 0
                total = "29.00" if i % 4 else "34.00"
                self.add(
                    "invoice",
                    customer_id=i,
                    number=f"INV-{i:05d}-{month}",
                    type="recurring",
                    date_created=self.day(30 * month + 20),
                    date_updated=self.stamp(30 * month + 20),
                    date_till=self.day(30 * month + 6 if overdue or not unpaid else -10),
                    date_payment="0000-00-00" if unpaid else self.day(30 * month + 10),
                    status="not_paid" if unpaid else "paid",
                    total=total,
                    due=total if unpaid else "0.00",
                    is_sent=1,
                    note="",
                    memo="",
                    items=[
                        {
                            "description": "Fiber 300/300",
                            "quantity": "1",
                            "unit": "",
                            "price": total,
                            "tax": "0.00",
                            "period_from": self.day(30 * month + 20),
                            "period_to": self.day(30 * month - 10),
                        }
                    ],
                )
            if i % 3 == 0:
                ticket = self.add(
                    "ticket",
                    customer_id=i,
                    reporter_id=i,
                    reporter_type="customer",
                    assign_to=0,
                    status_id=1,
                    group_id=1,
                    type_id=1,
                    subject=f"Slow internet #{i}",
                    priority="medium",
                    closed=0,
                    created_at=self.stamp(5),
                    updated_at=self.stamp(4),
                    source="portal",
                    note="",
                )
                for n, author in enumerate(("customer", "admin")):
                    self.add(
                        "ticket_message",
                        ticket_id=ticket,
                        customer_id=i if n == 0 else 0,
                        admin_id=0 if n == 0 else 1,
                        date=self.day(5 - n),
                        time="09:30:00",
                        message="It is slow since Monday" if n == 0 else "We are on it",
                        hide_for_customer=0,
                        author_type=author,
                        message_type="message",
                        files=[],
                    )
        return self

    # Wire ------------------------------------------------------------------------------------

    def _issue(self, refresh: str | None = None) -> dict[str, Any]:
        now = self.clock()
        access = secrets.token_hex(16)
        if refresh is None:
            refresh = secrets.token_hex(16)
            self._refresh[refresh] = now + self.refresh_ttl
        self._access[access] = (now + self.access_ttl, refresh)
        return {
            "access_token": access,
            "access_token_expiration": int(now + self.access_ttl),
            "refresh_token": refresh,
            "refresh_token_expiration": int(self._refresh[refresh]),
            "permissions": [],
        }

    def _login(self, body: bytes) -> Response[Any]:
        try:
            payload = msgspec.json.decode(body)
            key, nonce, given = payload["key"], int(payload["nonce"]), str(payload["signature"])
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            return error(400, "INVALID_INPUT_DATA", "key, nonce and signature are required")
        if payload.get("auth_type") != "api_key" or key != self.key:
            return error(401, "UNAUTHORIZED", "Unknown API key")
        expected = hmac.new(self.secret.encode(), f"{nonce}{key}".encode(), hashlib.sha256)
        if not hmac.compare_digest(given, expected.hexdigest().upper()):
            return error(401, "UNAUTHORIZED", "Signature is invalid")
        if nonce <= self.last_nonce:
            return error(401, "UNAUTHORIZED", "Nonce must be greater than the previous one")
        self.last_nonce = nonce
        return Response(self._issue(), status_code=201)

    def _tokens(self, method: str, refresh: str) -> Response[Any]:
        if refresh not in self._refresh:
            return error(401, "UNAUTHORIZED", "Unknown refresh token")
        if method == "DELETE":
            del self._refresh[refresh]
            self._access = {t: v for t, v in self._access.items() if v[1] != refresh}
            return Response(None, status_code=204)
        if self._refresh[refresh] < self.clock():
            return error(401, "EXPIRED_REFRESH_TOKEN", "Refresh token expired")
        return Response(self._issue(refresh), status_code=200)

    def _denied(self, header: str) -> Response[Any] | None:
        if not header:
            return error(401, "MISSED_AUTHORIZATION_HEADER", "Authorization header is missing")
        found = _AUTH.fullmatch(header.strip())
        if not found or found.group(1) not in self._access:
            return error(401, "UNAUTHORIZED", "Unknown access token")
        if self._access[found.group(1)][0] < self.clock():
            return error(401, "EXPIRED_ACCESS_TOKEN", "Access token expired")
        return None

    def _billing(self, customer_id: int) -> dict[str, Any]:
        invoices = [
            i for i in self.records["invoice"].values() if i["customer_id"] == str(customer_id)
        ]
        unpaid = [i for i in invoices if i["status"] == "not_paid"]
        owed = sum((Decimal(i["due"]) for i in unpaid), Decimal("0"))
        services = [
            s
            for s in self.records["internet_service"].values()
            if s["customer_id"] == str(customer_id)
        ]
        monthly = sum(
            (Decimal(s["unit_price"]) * Decimal(s["quantity"]) for s in services), Decimal("0")
        )
        blocking = min((i["date_till"] for i in unpaid), default="")
        blocking = (
            (date.fromisoformat(blocking) + timedelta(days=3)).isoformat() if blocking else ""
        )
        today = date.fromisoformat(self.day())
        left = (date.fromisoformat(blocking) - today).days if blocking else ""
        info = {
            "deposit": f"{Decimal(0) - owed:.2f}",  # 0 - x: never "-0.00"
            "blocking_date": blocking or "0000-00-00",
            "howManyDaysLeft": str(left),
            "paymentPerMonth": f"{monthly:.2f}",
        }
        return {**info, **self.billing.get(customer_id, {})}

    def _sorted_ids(self, kind: str) -> list[int]:
        table = self.records[kind]
        cached = self._ids.get(kind)
        if cached is None or cached[0] != len(table):
            cached = (len(table), sorted(table))
            self._ids[kind] = cached
        return cached[1]

    def _fields(self, kind: str) -> set[str]:
        table = self.records[kind]
        cached = self._known.get(kind)
        if cached is None or cached[0] != len(table):
            cached = (
                len(table),
                set().union(*(r.keys() for r in table.values())) if table else set(),
            )
            self._known[kind] = cached
        return cached[1]

    def _list(
        self, kind: str, query: dict[str, Any], scope: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        table = self.records[kind]
        attributes = query.get("main_attributes", {})
        if not isinstance(attributes, dict):
            raise ValueError("main_attributes must be an array")
        known = self._fields(kind)
        for name in attributes:
            if known and name not in known:
                raise ValueError(f"Unknown attribute {name}")
        order = query.get("order") or {"id": "ASC"}
        offset = int(query.get("offset") or 0)
        limit = query.get("limit")
        wanted = offset + int(limit) if limit not in (None, "") else None

        def keep(row: dict[str, Any]) -> bool:
            if scope and not all(row.get(k) == v for k, v in scope.items()):
                return False
            return all(matches(row, name, cond) for name, cond in attributes.items())

        if {k: str(v).upper() for k, v in order.items()} == {"id": "ASC"}:
            # Id order: scan from the first id the filter allows, stop once the page is full.
            ids = self._sorted_ids(kind)
            start = 0
            by_id = attributes.get("id")
            if isinstance(by_id, dict) and str(by_id.get("0")) in (">", ">="):
                bound = int(str(by_id.get("1")))
                pick = bisect.bisect_right if str(by_id.get("0")) == ">" else bisect.bisect_left
                start = pick(ids, bound)
            found: list[dict[str, Any]] = []
            for record_id in ids[start:] if start else ids:
                row = table[record_id]
                if keep(row):
                    found.append(row)
                    if wanted is not None and len(found) >= wanted:
                        break
            return found[offset:]
        rows = [r for r in table.values() if keep(r)]
        for name, direction in reversed(list(order.items())):
            numeric = all(_number(str(r.get(name, ""))) is not None for r in rows)

            def key(row: dict[str, Any], name: str = name, numeric: bool = numeric) -> Any:
                # Numeric columns sort as numbers ("10" after "9"), as MySQL sorts them.
                text = str(row.get(name, ""))
                return _number(text) if numeric else text

            rows.sort(key=key, reverse=str(direction).upper() == "DESC")
        return rows[offset:wanted]

    def _read(self, path: str, query: dict[str, Any], *, head: bool = False) -> Response[Any]:
        # HEAD counts records without serving them.
        served = Counter[str]() if head else self.served
        if path in COLLECTIONS:
            found = self._list(COLLECTIONS[path], query)
            served[COLLECTIONS[path]] += len(found)
            return Response(found)
        services = _SERVICES.fullmatch(path)
        if services:
            customer, service = services.groups()
            if service is not None:
                found = self.records["internet_service"].get(int(service))
                if found is None or found["customer_id"] != customer:
                    return error(404, "NOT_FOUND", "Service not found")
                served["internet_service"] += 1
                return Response(found)
            scope = None if customer == "0" else {"customer_id": customer}
            listed = self._list("internet_service", query, scope)
            served["internet_service"] += len(listed)
            return Response(listed)
        one = _ONE.fullmatch(path)
        if one and one.group(1) == "admin/customers/billing-info":
            if int(one.group(2)) not in self.records["customer"]:
                return error(404, "NOT_FOUND", "Customer not found")
            return Response(self._billing(int(one.group(2))))
        if one and one.group(1) in COLLECTIONS:
            found = self.records[COLLECTIONS[one.group(1)]].get(int(one.group(2)))
            if found is None:
                return error(404, "NOT_FOUND", "Not found")
            served[COLLECTIONS[one.group(1)]] += 1
            return Response(found)
        return error(404, "NOT_FOUND", f"Unknown endpoint {path}")

    async def _handle(self, request: Request[Any, Any, Any], path: str) -> Response[Any]:
        path = path.strip("/")
        pairs = parse_qsl(request.scope["query_string"].decode(), keep_blank_values=True)
        self.requests.append(Seen(request.method, path, dict(pairs)))
        for index, (seconds, prefix) in enumerate(self._slow):
            if prefix is None or path.startswith(prefix):
                del self._slow[index]
                await asyncio.sleep(seconds)
                break
        for index, (status, retry_after, prefix) in enumerate(self._failures):
            if prefix is None or path.startswith(prefix):
                del self._failures[index]
                response = error(
                    status,
                    "TOO_MANY_REQUESTS" if status == 429 else "SERVER_ERROR",
                    "Induced failure",
                )
                if retry_after is not None:
                    response.headers["Retry-After"] = f"{retry_after:g}"
                return response
        if path == "admin/auth/tokens" and request.method == "POST":
            return self._login(await request.body())
        if path.startswith("admin/auth/tokens/") and request.method in ("GET", "DELETE"):
            return self._tokens(request.method, path.rsplit("/", 1)[1])
        denied = self._denied(request.headers.get("authorization", ""))
        if denied is not None:
            return denied
        if self._expire_after is not None and request.method == "GET":
            self._expire_after -= 1
            if self._expire_after < 0:
                self._expire_after = None
                self.expire_access_tokens()
                return error(401, "EXPIRED_ACCESS_TOKEN", "Access token expired")
        if any(path.startswith(prefix) for prefix in self.forbidden):
            return error(403, "FORBIDDEN", "Permission denied")
        if request.method not in ("GET", "HEAD"):
            return error(405, "METHOD_DISABLED", f"{request.method} is not available in the fake")
        try:
            return self._read(path, nest(pairs), head=request.method == "HEAD")
        except ValueError as exc:
            return error(400, "INVALID_INPUT_DATA", str(exc))

    def app(self) -> Litestar:
        @route(f"{API}/{{path:path}}", http_method=["GET", "POST", "DELETE", "PUT"])
        async def api(request: Request[Any, Any, Any], path: str) -> Response[Any]:
            return await self._handle(request, path)

        @head(f"{API}/{{path:path}}")
        async def count(request: Request[Any, Any, Any], path: str) -> Response[None]:
            response = await self._handle(request, path)
            status = response.status_code or 200
            if status == 200 and isinstance(response.content, list):
                total = str(len(response.content))
                return Response(None, status_code=204, headers={"X-total-count": total})
            # A HEAD answer has the GET's status and headers, never its body.
            kept = {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}
            return Response(None, status_code=status, headers=kept, media_type="text/plain")

        return Litestar(route_handlers=[api, count], logging_config=None)
