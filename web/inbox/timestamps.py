"""Timestamps as the read models give them (ISO strings, or datetimes), as aware datetimes."""

from __future__ import annotations

import datetime as dt


def when(value: str | dt.datetime | None) -> dt.datetime | None:
    """Timestamps arrive as ISO strings from the JSON read models."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
