"""Splynx hooks (webhooks): signature check and parsing of JSON and form-encoded bodies.

Splynx can post a hook as JSON or as a PHP-style form (`data[attributes][id]=5`); both are
brought to the same nested shape before reading. Delivery may repeat (the retry schedule is not
documented), so consumers must treat events as idempotent.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from adapters.splynx.errors import SplynxDataError

# Splynx model class names (last segment) that do not reduce to our kind by snake-casing alone.
_KIND_ALIASES = {
    "customer_internet_service": "internet_service",
    "internet_services": "internet_service",
    "services_internet": "internet_service",
    "support_ticket": "ticket",
    "tickets": "ticket",
    "ticket_messages": "ticket_message",
    "support_ticket_message": "ticket_message",
    "customers": "customer",
    "invoices": "invoice",
}

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


class Ping(msgspec.Struct, frozen=True, kw_only=True):
    """Splynx checks the hook URL with `{"type": "ping"}`; answer 200 "ok"."""

    raw: dict[str, Any]


class HookEvent(msgspec.Struct, frozen=True, kw_only=True):
    model: str  # our short kind: customer, internet_service, invoice, ticket, … or snake_case
    model_class: str  # Splynx's own name, e.g. models\admin\customers\Customer
    action: str  # create, edit, delete, …
    customer_id: int | None
    record_id: int | None
    attributes: dict[str, Any]
    changed_attributes: dict[str, Any] | None
    occurred_at: datetime | None  # Splynx server local time, naive
    source: str
    raw: dict[str, Any]


def verify_hook(secret: str, body: bytes, signature_header: str | None) -> bool:
    """X-Splynx-Signature is lower-case hex HMAC-SHA1(secret, raw body)."""
    if not secret or not signature_header:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest().encode()
    given = signature_header.strip().lower().encode()
    return hmac.compare_digest(expected, given)


def model_kind(model_class: str) -> str:
    """`models\\admin\\customers\\Customer` → `customer`; unknown classes keep a snake_case name."""
    last = re.split(r"[\\/.]", model_class.strip())[-1]
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", last).lower().replace("-", "_")
    return _KIND_ALIASES.get(snake, snake)


def php_form(body: bytes) -> dict[str, Any]:
    """Nest PHP form keys: `a[b][c]=1` → {"a": {"b": {"c": "1"}}}, `a[]=1&a[]=2` → {"a": ["1", "2"]}."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SplynxDataError(f"hook body is not a valid form: {exc}", kind="hook") from None
    result: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        path = [head, *_BRACKETS.findall("[" + rest)] if rest else [head]
        if rest and "[" + rest != "".join(f"[{p}]" for p in path[1:]):
            raise SplynxDataError(f"hook form key {key!r} is malformed", kind="hook", field=key)
        _place(result, path, value, key)
    return _lists(result)


def _place(node: dict[str, Any], path: list[str], value: str, key: str) -> None:
    for index, part in enumerate(path):
        if part == "":
            # `a[]`: the next free position, written as a numeric key and turned into a list later.
            part = str(sum(1 for k in node if k.isdigit()))
        if index == len(path) - 1:
            node[part] = value
            return
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise SplynxDataError(
                f"hook form key {key!r} nests under a plain value", kind="hook", field=key
            )
        node = child


def _lists(node: dict[str, Any]) -> Any:
    converted = {k: _lists(v) if isinstance(v, dict) else v for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        keys = sorted(converted, key=int)
        if keys == [str(i) for i in range(len(keys))]:
            return [converted[k] for k in keys]
    return converted


def _decode(body: bytes, content_type: str) -> dict[str, Any]:
    media = content_type.split(";", 1)[0].strip().lower()
    stripped = body.lstrip()
    if media.endswith("json") or (not media and stripped.startswith((b"{", b"["))):
        try:
            payload = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise SplynxDataError(f"hook body is not valid JSON: {exc}", kind="hook") from None
    elif media in {"application/x-www-form-urlencoded", ""}:
        payload = php_form(body)
    else:
        raise SplynxDataError(f"hook body has unsupported type {content_type!r}", kind="hook")
    if not isinstance(payload, dict):
        raise SplynxDataError("hook body is not an object", kind="hook")
    return payload


def _object(value: Any, name: str) -> dict[str, Any]:
    # PHP's json_encode writes an empty associative array as [].
    if value is None or value == [] or value == "":
        return {}
    if not isinstance(value, Mapping):
        raise SplynxDataError(
            f"hook field {name!r} is not an object", kind="hook", field=name, value=value
        )
    return dict(value)


def _id(value: Any, name: str) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise SplynxDataError(
            f"hook field {name!r} is not an id: {value!r}", kind="hook", field=name, value=value
        ) from None
    return number or None


def _when(data: Mapping[str, Any]) -> datetime | None:
    day, clock = data.get("date"), data.get("time")
    if not isinstance(day, str) or not day.strip():
        return None
    try:
        return datetime.fromisoformat(f"{day.strip()} {(clock or '00:00:00')}".strip())
    except (TypeError, ValueError):
        raise SplynxDataError(
            f"hook date/time is unreadable: {day!r} {clock!r}", kind="hook", field="data.date"
        ) from None


def parse_hook(body: bytes, content_type: str) -> HookEvent | Ping:
    """Read a hook body. Verify the signature (`verify_hook`) on the raw bytes before this."""
    payload = _decode(body, content_type)
    kind = payload.get("type")
    if kind == "ping":
        return Ping(raw=payload)
    if kind != "event":
        raise SplynxDataError(
            f"hook type must be 'ping' or 'event', got {kind!r}", kind="hook", field="type"
        )
    data = _object(payload.get("data"), "data")
    model_class = data.get("model")
    if not isinstance(model_class, str) or not model_class.strip():
        raise SplynxDataError("hook event has no data.model", kind="hook", field="data.model")
    action = data.get("action")
    if not isinstance(action, str) or not action.strip():
        raise SplynxDataError("hook event has no data.action", kind="hook", field="data.action")
    attributes = _object(data.get("attributes"), "data.attributes")
    changed = data.get("changed_attributes")
    model = model_kind(model_class)
    record_id = _id(attributes.get("id"), "data.attributes.id")
    customer_id = _id(data.get("customer_id"), "data.customer_id")
    if customer_id is None:
        customer_id = _id(attributes.get("customer_id"), "data.attributes.customer_id")
    if customer_id is None and model == "customer":
        customer_id = record_id
    return HookEvent(
        model=model,
        model_class=model_class,
        action=action.strip(),
        customer_id=customer_id,
        record_id=record_id,
        attributes=attributes,
        changed_attributes=None if changed is None else _object(changed, "changed_attributes"),
        occurred_at=_when(data),
        source=str(data.get("source") or ""),
        raw=payload,
    )
