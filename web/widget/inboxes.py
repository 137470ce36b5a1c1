"""Web chat inboxes as the widget endpoints see them, cached briefly per process.

Every widget call needs its inbox's settings (allowed origins, identity secret); decrypting them
per request would cost more than the request. Changes take effect within `TTL` seconds.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from adapters.webchat.config import WebchatSettings, parse
from hub import visitors
from hub.crypto import decrypt_json
from hub.services import Services, current

TTL = 10.0


class WidgetInbox(msgspec.Struct, frozen=True):
    id: int
    name: str
    public_token: str
    settings: WebchatSettings


class _Cache:
    def __init__(self) -> None:
        self.owner: Services | None = None
        self.entries: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> tuple[bool, Any]:
        # A new set of services (a restart, or the next test) may reuse ids: start afresh.
        if self.owner is not current():
            self.owner = current()
            self.entries.clear()
        hit = self.entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key: Any, value: Any) -> Any:
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[key] = (time.monotonic() + TTL, value)
        return value


_cache = _Cache()


def _load(row: Any) -> WidgetInbox:
    config = decrypt_json(current().settings.secret_key, row["config_encrypted"])
    return WidgetInbox(row["id"], row["name"], row["public_token"], parse(config))


async def by_token(public_token: str) -> WidgetInbox | None:
    found, value = _cache.get(("token", public_token))
    if found:
        return value
    row = await visitors.webchat_inbox(public_token=public_token)
    return _cache.put(("token", public_token), _load(row) if row else None)


async def by_id(inbox_id: int) -> WidgetInbox | None:
    found, value = _cache.get(("id", inbox_id))
    if found:
        return value
    row = await visitors.webchat_inbox(inbox_id=inbox_id)
    return _cache.put(("id", inbox_id), _load(row) if row else None)


async def all_origins() -> frozenset[str]:
    """Every origin any web chat inbox allows (answers CORS preflights, which name no inbox)."""
    found, value = _cache.get("origins")
    if found:
        return value
    origins: set[str] = set()
    for row in await visitors.webchat_inboxes():
        origins.update(_load(row).settings.allowed_origins)
    return _cache.put("origins", frozenset(origins))


def clear() -> None:
    _cache.entries.clear()
