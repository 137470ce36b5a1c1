"""Splynx search parameters, spelled the way PHP's http_build_query spells nested arrays.

`main_attributes[last_update][0]=>=&main_attributes[last_update][1]=2025-01-01 00:00:00`: a
plain value means "=", a two-element array is (operator, value).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

QueryPairs = list[tuple[str, str]]
Params = Mapping[str, Any] | Sequence[tuple[str, str]] | None


def format_value(value: Any) -> str:
    """Splynx's own spelling of a filter value: naive local datetimes, 1/0 for booleans."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        if value.utcoffset() is not None:
            # Splynx compares against its server's local wall time, which we cannot know; a
            # mark read back from Splynx's own records (naive) is the only safe one.
            raise ValueError("Splynx datetimes are naive server-local times; got an aware one")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def php_query(data: Mapping[Any, Any], prefix: str = "") -> QueryPairs:
    """Flatten nested mappings and sequences the way PHP's http_build_query names them."""
    pairs: QueryPairs = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            pairs.extend(php_query(value, name))
        elif isinstance(value, list | tuple):
            pairs.extend(php_query(dict(enumerate(value)), name))
        elif value is not None:
            pairs.append((name, format_value(value)))
    return pairs


def filters(spec: Mapping[str, Any]) -> QueryPairs:
    """`main_attributes` search params from {field: value} (means "=") or {field: (op, value)}.

    `{"last_update": (">=", datetime(2025, 1, 1))}` →
    `main_attributes[last_update][0]=>=`, `main_attributes[last_update][1]=2025-01-01 00:00:00`;
    IN and BETWEEN take a list as the value.
    """
    attributes: dict[str, Any] = {}
    for field, condition in spec.items():
        if isinstance(condition, tuple):
            if len(condition) != 2 or not isinstance(condition[0], str):
                raise ValueError(f"filter for {field!r} must be (operator, value)")
            operator, value = condition
            attributes[field] = [operator, sorted(value) if isinstance(value, set) else value]
        else:
            attributes[field] = condition
    return php_query({"main_attributes": attributes})


def to_pairs(params: Params) -> QueryPairs:
    """Query pairs from a nested mapping (flattened PHP-style) or from ready pairs."""
    if params is None:
        return []
    if isinstance(params, Mapping):
        return php_query(params)
    return [(str(k), str(v)) for k, v in params]


def since(field: str, updated_since: datetime | None) -> dict[str, Any]:
    """The incremental-read filter: records whose change column is at or after the mark."""
    # >= rather than >: the column has one-second resolution, so a record changed in the same
    # second as the mark would otherwise be missed; re-reading one is harmless.
    return {} if updated_since is None else {field: (">=", updated_since)}
